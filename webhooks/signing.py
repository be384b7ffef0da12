"""Sign webhook deliveries per the Standard Webhooks specification: pure functions, no database.

Headers are ``webhook-id`` (the same on every attempt of one message, so receivers can drop
duplicates), ``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``, several separated by spaces while an old
secret is still honoured after a rotation). The HMAC comes from the reference ``standardwebhooks``
package, so whatever it verifies, we sign.
"""

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # 256 bits, from the CSPRNG
MESSAGE_ID_PREFIX = "msg_"


def generate_secret() -> str:
    """Return a new signing secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def generate_message_id() -> str:
    """Return a new webhook-id: ``msg_`` and 128 random bits."""
    return MESSAGE_ID_PREFIX + secrets.token_urlsafe(16)


def signature_headers(
    *, secrets_in_use: list[str], message_id: str, timestamp: datetime, body: str
) -> dict[str, str]:
    """Return the Standard Webhooks headers for BODY, signed with each of SECRETS_IN_USE.

    TIMESTAMP must be timezone-aware; the signature covers it, the id and the exact body text.
    """
    if timestamp.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware")
    # The library replaces the tzinfo with UTC instead of converting, so convert first.
    timestamp = timestamp.astimezone(UTC)
    signatures = [
        Webhook(secret).sign(msg_id=message_id, timestamp=timestamp, data=body) for secret in secrets_in_use
    ]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
