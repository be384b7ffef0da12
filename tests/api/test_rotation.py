"""Rolling a token's or an API key's secret over the API: both secrets during the overlap, the
old one's answers saying when it retires, then only the new one; with time controlled."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accessgov.audit.models import AuditEvent
from accessgov.policy import actions as key_actions
from accessgov.policy.models import ApiKey
from tests.api.conftest import error_of
from tests.conftest import basic_auth, bearer_auth
from tests.factories import UserFactory
from tokens import rotation
from tokens.models import ThirdPartyToken

pytestmark = pytest.mark.django_db

# A whole hour a day after the real now: the fixtures' tokens (made at the real now) have started.
T0 = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)


def at(delta: timedelta, *, z: bool = True) -> str:
    """Return T0 + DELTA as the header (Z) or an audit detail (+00:00) writes it."""
    text = (T0 + delta).isoformat()
    return text.replace("+00:00", "Z") if z else text


HEADER = "Accessgov-Secret-Retires"


def _roll_token(token, overlap):
    _, new = rotation.roll_token_secret(token=token, overlap=overlap, by=UserFactory(), ip="192.0.2.9")
    return new


def test_during_a_one_hour_overlap_both_token_secrets_work_and_the_old_ones_answers_say_when_it_retires(
    api, token
):
    old = token.secret
    with time_machine.travel(T0, tick=False) as clock:
        new = _roll_token(token, "1h")
        answer = api.get("Me", basic_auth(token.token_id, old))
        assert answer.status_code == 200 and answer[HEADER] == at(timedelta(hours=1))
        answer = api.get("Me", basic_auth(token.token_id, new))
        assert answer.status_code == 200 and HEADER not in answer
        clock.shift(timedelta(minutes=59, seconds=59))
        assert api.get("Me", basic_auth(token.token_id, old)).status_code == 200
        clock.shift(timedelta(seconds=1))
        assert error_of(api.get("Me", basic_auth(token.token_id, old))) == (401, "invalid_credentials")
        assert api.get("Me", basic_auth(token.token_id, new)).status_code == 200
    event = AuditEvent.objects.get(action="token.secret_regenerated")
    assert event.details["overlap"] == "1h" and event.details["old_secret_retires_at"] == at(
        timedelta(hours=1), z=False
    )
    assert event.ip_address == "192.0.2.9" and old not in str(event.details) and new not in str(event.details)


def test_the_new_secrets_first_use_retires_the_old_one_at_once(api, token):
    old = token.secret
    with time_machine.travel(T0, tick=False) as clock:
        new = _roll_token(token, "first_use")
        for _ in range(2):  # the old secret keeps working as long as the new one is unused
            answer = api.get("Me", basic_auth(token.token_id, old))
            assert answer.status_code == 200 and answer[HEADER] == at(timedelta(days=7))
        clock.shift(timedelta(hours=3))
        assert api.get("Me", basic_auth(token.token_id, new)).status_code == 200
        assert error_of(api.get("Me", basic_auth(token.token_id, old))) == (401, "invalid_credentials")
        assert api.get("Me", basic_auth(token.token_id, new)).status_code == 200
    token.refresh_from_db()
    assert token.previous_digest == "" and token.previous_retires_at is None
    [event] = AuditEvent.objects.filter(action="token.old_secret_retired")
    assert event.actor is None and event.actor_label.startswith("system")
    assert event.details["reason"] == "first_use"


def test_an_unused_new_secret_retires_the_old_one_after_seven_days_at_most(api, token):
    old = token.secret
    with time_machine.travel(T0, tick=False) as clock:
        _roll_token(token, "first_use")
        clock.shift(timedelta(days=7) - timedelta(seconds=1))
        assert api.get("Me", basic_auth(token.token_id, old)).status_code == 200
        clock.shift(timedelta(seconds=1))
        assert error_of(api.get("Me", basic_auth(token.token_id, old))) == (401, "invalid_credentials")


def test_no_overlap_stops_the_old_secret_at_once(api, token):
    old = token.secret
    new = _roll_token(token, "none")
    assert error_of(api.get("Me", basic_auth(token.token_id, old))) == (401, "invalid_credentials")
    assert api.get("Me", basic_auth(token.token_id, new)).status_code == 200


def test_retire_old_secret_now_refuses_the_old_secret_on_the_next_request(api, token):
    old = token.secret
    new = _roll_token(token, "7d")
    assert api.get("Me", basic_auth(token.token_id, old)).status_code == 200
    assert rotation.retire_previous_secret(token=token, by=UserFactory(), ip=None) is True
    assert error_of(api.get("Me", basic_auth(token.token_id, old))) == (401, "invalid_credentials")
    assert api.get("Me", basic_auth(token.token_id, new)).status_code == 200
    assert rotation.retire_previous_secret(token=token, by=None, ip=None) is False
    assert AuditEvent.objects.filter(action="token.old_secret_retired").count() == 1


def test_rolling_again_during_an_overlap_stops_the_oldest_secret(api, token):
    first = token.secret
    second = _roll_token(token, "1d")
    third = _roll_token(token, "1d")
    assert error_of(api.get("Me", basic_auth(token.token_id, first))) == (401, "invalid_credentials")
    assert api.get("Me", basic_auth(token.token_id, second)).status_code == 200
    assert api.get("Me", basic_auth(token.token_id, third)).status_code == 200
    assert (
        AuditEvent.objects.filter(action="token.secret_regenerated")
        .order_by("pk")
        .last()
        .details["earlier_old_secret_stopped"]
    )


def test_a_roll_changes_no_restriction_and_never_the_expiry(api, token):
    token.expires_at = T0 + timedelta(days=3)
    token.allowed_ips = ["127.0.0.0/8"]
    token.save()
    kept = [
        "name",
        "starts_at",
        "expires_at",
        "allowed_ips",
        "all_organizations",
        "organization_ids",
        "permissions",
    ]
    before = {name: getattr(token, name) for name in kept}
    with time_machine.travel(T0, tick=False):
        _roll_token(token, "7d")  # the overlap outlives the token: the expiry still ends both secrets
    after = ThirdPartyToken.objects.get(pk=token.pk)
    assert {name: getattr(after, name) for name in kept} == before
    with time_machine.travel(T0 + timedelta(days=3), tick=False):
        assert error_of(api.get("Me", basic_auth(token.token_id, token.secret))) == (401, "token_expired")


def test_a_rolled_api_key_keeps_its_prefix_and_both_secrets_work_during_the_overlap(api, api_key):
    old = api_key.raw
    with time_machine.travel(T0, tick=False) as clock:
        rolled, new = key_actions.roll_api_key(api_key=api_key, overlap="1d", by=UserFactory(), ip=None)
        assert rolled.prefix == api_key.prefix and new.startswith(api_key.prefix) and new != old
        answer = api.get("Me", bearer_auth(old))
        assert answer.status_code == 200 and answer[HEADER] == at(timedelta(days=1))
        answer = api.get("Me", bearer_auth(new))
        assert answer.status_code == 200 and HEADER not in answer
        clock.shift(timedelta(days=1))
        assert error_of(api.get("Me", bearer_auth(old))) == (401, "invalid_credentials")
        assert api.get("Me", bearer_auth(new)).status_code == 200
    assert AuditEvent.objects.filter(action="api_key.regenerated").count() == 1


def test_an_api_keys_new_secret_retires_the_old_one_on_first_use(api, api_key):
    old = api_key.raw
    _, new = key_actions.roll_api_key(api_key=api_key, overlap="first_use", by=None, ip=None)
    assert api.get("Me", bearer_auth(old)).status_code == 200
    assert api.get("Me", bearer_auth(new)).status_code == 200
    assert error_of(api.get("Me", bearer_auth(old))) == (401, "invalid_credentials")
    assert ApiKey.objects.get(pk=api_key.pk).previous_digest == ""
    assert AuditEvent.objects.get(action="api_key.old_secret_retired").details["reason"] == "first_use"


def test_retiring_an_api_keys_old_secret_now(api, api_key):
    old = api_key.raw
    _, new = key_actions.roll_api_key(api_key=api_key, overlap="7d", by=None, ip=None)
    key = ApiKey.objects.get(pk=api_key.pk)
    assert key_actions.retire_previous_key_secret(api_key=key, by=None, ip=None) is True
    assert error_of(api.get("Me", bearer_auth(old))) == (401, "invalid_credentials")
    assert api.get("Me", bearer_auth(new)).status_code == 200


def test_the_old_secret_header_is_served_over_a_real_https_connection(http, token):
    old = token.secret
    _roll_token(token, "1h")
    answer = http.get("Me", headers={"Authorization": basic_auth(token.token_id, old)})
    assert answer.status_code == 200 and answer.headers[HEADER].endswith("Z")
