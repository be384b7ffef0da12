"""Recovery codes: one-time codes for a lost authenticator, kept only as a peppered digest.

django-otp's static device stores its tokens in clear (a CharField of 16 characters), so each code
is stored as the first 16 hex characters (64 bits) of its HMAC-SHA256 under the key pepper
(accessgov.core.keys.digest_secret): a copy of the database alone signs nobody in. A code carries
80 random bits, more than the stored digest, so the digest is the weaker part and still out of
reach without the pepper.
"""

import secrets

from accessgov.core.keys import digest_secret

CODE_COUNT = 10
CODE_ALPHABET = "abcdefghjkmnpqrstvwxyz0123456789"  # 32 symbols: 5 bits each, no i, l, o, u
STORED_LENGTH = 16


def generate_code() -> str:
    """Return a new recovery code: 16 random symbols (80 bits) in groups of four."""
    body = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
    return "-".join(body[index : index + 4] for index in range(0, 16, 4))


def normalize_code(value: str) -> str:
    """Return VALUE as codes compare: without spaces and dashes, lower case."""
    return "".join(value.split()).replace("-", "").lower()


def stored_token(code: str) -> str:
    """Return what the static device keeps of CODE: a truncated peppered digest."""
    return digest_secret("recovery:" + normalize_code(code))[:STORED_LENGTH]


def looks_like_recovery_code(value: str) -> bool:
    """Return whether VALUE has the shape of a recovery code (not of a six-digit TOTP code)."""
    normalized = normalize_code(value)
    return len(normalized) == 16 and all(symbol in CODE_ALPHABET for symbol in normalized)
