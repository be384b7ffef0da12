"""Make, recognise and digest secrets (API keys, token secrets): pure functions, no database.

A secret looks like ``agk_<lookup id><random part><checksum>``:

- a typed prefix (``agk_`` for API keys, ``agts_`` for token secrets) so a scanner can tell
  what leaked and whose it is;
- a 12-character lookup id, public (shown in the console as the key's prefix), which finds the
  row with one indexed query;
- 43 base62 characters drawn from ``secrets`` (256 bits);
- a 6-character base62 CRC32 of everything before it, so a scanner (or we) can reject a
  mistyped or made-up value without touching the database.

Only HMAC-SHA256(pepper, secret) is stored, with the id of the pepper that made it.
"""

import hashlib
import hmac
import secrets
import zlib
from dataclasses import dataclass

from django.conf import settings

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
LOOKUP_ID_LENGTH = 12
RANDOM_LENGTH = 43  # 62**43 > 2**256
CHECKSUM_LENGTH = 6  # 62**6 > 2**32
API_KEY_PREFIX = "agk_"
TOKEN_SECRET_PREFIX = "agts_"
# A longer header is refused before any hashing (attack catalogue case 6).
MAX_SECRET_LENGTH = 128


@dataclass(frozen=True)
class ParsedSecret:
    lookup_id: str
    secret: str


def _random_base62(length: int) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(length))


def _base62_fixed(number: int, length: int) -> str:
    digits = []
    for _ in range(length):
        number, remainder = divmod(number, 62)
        digits.append(BASE62[remainder])
    return "".join(reversed(digits))


def checksum(body: str) -> str:
    """Return the 6-character base62 CRC32 of BODY."""
    return _base62_fixed(zlib.crc32(body.encode()), CHECKSUM_LENGTH)


def generate_secret(prefix: str, lookup_id: str | None = None) -> str:
    """Return a new secret with PREFIX, a lookup id (LOOKUP_ID: keep that one), 256 random bits and a checksum."""
    body = prefix + (lookup_id or _random_base62(LOOKUP_ID_LENGTH)) + _random_base62(RANDOM_LENGTH)
    return body + checksum(body)


def generate_lookup_id() -> str:
    """Return a new public identifier of LOOKUP_ID_LENGTH base62 characters."""
    return _random_base62(LOOKUP_ID_LENGTH)


def parse_secret(value: str, prefix: str) -> ParsedSecret | None:
    """Return the lookup id of VALUE if it is a well-formed secret of PREFIX, else None.

    Nothing is normalised: a trailing space, a newline or a look-alike character makes the
    value malformed (attack catalogue case 3).
    """
    expected_length = len(prefix) + LOOKUP_ID_LENGTH + RANDOM_LENGTH + CHECKSUM_LENGTH
    if len(value) != expected_length or not value.startswith(prefix):
        return None
    rest = value[len(prefix) :]
    if any(char not in BASE62 for char in rest):
        return None
    body, check = value[:-CHECKSUM_LENGTH], value[-CHECKSUM_LENGTH:]
    if not hmac.compare_digest(checksum(body), check):
        return None
    return ParsedSecret(lookup_id=rest[:LOOKUP_ID_LENGTH], secret=value)


def visible_prefix(value: str, prefix: str) -> str:
    """Return the part of a secret that may be shown again: its type prefix and lookup id."""
    return value[: len(prefix) + LOOKUP_ID_LENGTH]


def current_pepper_id() -> str:
    """Return the id of the pepper new digests are made with."""
    return settings.KEY_PEPPER_ID


def digest_secret(secret: str, pepper_id: str | None = None) -> str:
    """Return the hex HMAC-SHA256 of SECRET under the pepper PEPPER_ID (default: the current one)."""
    pepper = settings.KEY_PEPPERS[pepper_id or settings.KEY_PEPPER_ID]
    return hmac.new(pepper.encode(), secret.encode(), hashlib.sha256).hexdigest()


def digest_matches(secret: str, stored_digest: str, pepper_id: str) -> bool:
    """Return whether SECRET digests to STORED_DIGEST, compared in constant time.

    An unknown pepper id (one retired from the settings) never matches.
    """
    if pepper_id not in settings.KEY_PEPPERS:
        return False
    return hmac.compare_digest(digest_secret(secret, pepper_id), stored_digest)


def stored_fields(secret: str, prefix: str) -> dict[str, str]:
    """Return what a new credential row keeps of SECRET: its visible prefix, digest and pepper id."""
    return {
        "prefix": visible_prefix(secret, prefix),
        "digest": digest_secret(secret),
        "pepper_id": current_pepper_id(),
    }


def burn_equal_time(secret: str) -> None:
    """Do the work of a digest comparison, so an unknown id costs what a wrong secret costs."""
    hmac.compare_digest(digest_secret(secret), "0" * 64)
