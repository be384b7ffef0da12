"""Standard Webhooks signing, checked with the reference library (attack catalogue case 31)."""

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from webhooks import signing

BODY = '{"data":{"hello":"world"},"timestamp":"2026-11-22T10:00:00Z","type":"test"}'


def test_a_new_secret_is_whsec_and_256_random_bits():
    secret = signing.generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert len({signing.generate_secret() for _ in range(100)}) == 100


def test_the_signature_matches_a_fixed_vector():
    # HMAC-SHA256(key 0x00..0x1f, "msg_1.1795341600.<BODY>"), computed once with openssl.
    secret = "whsec_" + base64.b64encode(bytes(range(32))).decode()
    at = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)
    headers = signing.signature_headers(secrets_in_use=[secret], message_id="msg_1", timestamp=at, body=BODY)
    assert headers == {
        "webhook-id": "msg_1",
        "webhook-timestamp": "1795341600",
        "webhook-signature": "v1,mTGFTtpjfrsQlZoSRITwI/qGiEVtW0L/2PHHVyMH9lc=",
    }
    key = bytes(range(32))
    assert hmac.compare_digest(
        base64.b64decode(headers["webhook-signature"][3:]),
        hmac.new(key, f"msg_1.1795341600.{BODY}".encode(), hashlib.sha256).digest(),
    )


def test_an_aware_timestamp_in_another_zone_signs_the_same_instant():
    secret = signing.generate_secret()
    utc = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    other = utc.astimezone(ZoneInfo("Europe/Berlin"))

    def sign(at):
        return signing.signature_headers(secrets_in_use=[secret], message_id="m", timestamp=at, body=BODY)

    assert sign(utc) == sign(other)
    with pytest.raises(ValueError, match="timezone-aware"):
        sign(datetime(2026, 11, 22, 10, 0))  # noqa: DTZ001


def _signed(secret, message_id="msg_abc"):
    return signing.signature_headers(
        secrets_in_use=[secret], message_id=message_id, timestamp=datetime.now(tz=UTC), body=BODY
    )


def test_the_reference_library_verifies_what_we_sign():
    secret = signing.generate_secret()
    assert Webhook(secret).verify(BODY, _signed(secret))["data"] == {"hello": "world"}


def test_during_a_rotation_both_secrets_verify():
    old, new = signing.generate_secret(), signing.generate_secret()
    headers = signing.signature_headers(
        secrets_in_use=[new, old], message_id="msg_r", timestamp=datetime.now(tz=UTC), body=BODY
    )
    Webhook(new).verify(BODY, headers)
    Webhook(old).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.generate_secret()).verify(BODY, headers)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(
            lambda body, headers, secret: (body, headers, signing.generate_secret()), id="wrong-secret"
        ),
        pytest.param(
            lambda body, headers, secret: (body.replace("world", "w0rld"), headers, secret), id="body"
        ),
        pytest.param(
            lambda body, headers, secret: (body, {**headers, "webhook-id": "msg_other"}, secret), id="id"
        ),
        pytest.param(
            lambda body, headers, secret: (
                body,
                {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) + 1)},
                secret,
            ),
            id="timestamp",
        ),
        pytest.param(
            lambda body, headers, secret: (body, {**headers, "webhook-signature": ""}, secret),
            id="no-signature",
        ),
    ],
)
def test_case_31_a_receiver_rejects_a_wrong_secret_or_a_tampered_body_id_or_timestamp(tamper):
    secret = signing.generate_secret()
    body, headers, key = tamper(BODY, _signed(secret), secret)
    with pytest.raises(WebhookVerificationError):
        Webhook(key).verify(body, headers)


def test_case_31_a_replayed_delivery_is_rejected_by_timestamp_and_by_id():
    secret = signing.generate_secret()
    headers = _signed(secret, "msg_once")
    seen: set[str] = set()

    def receive(body, received_headers):
        # What our docs tell receivers to do: verify, then drop an id already processed.
        Webhook(secret).verify(body, received_headers)
        if received_headers["webhook-id"] in seen:
            raise WebhookVerificationError("replayed webhook-id")
        seen.add(received_headers["webhook-id"])

    receive(BODY, headers)
    with pytest.raises(WebhookVerificationError, match="replayed"):
        receive(BODY, headers)
    with (
        time_machine.travel(datetime.now(tz=UTC) + timedelta(minutes=6)),
        pytest.raises(WebhookVerificationError, match="too old"),
    ):
        Webhook(secret).verify(BODY, headers)
