"""A token's status at each boundary (start, expiry, revoke, grace end), in Python and in SQL."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.factories import ThirdPartyTokenFactory
from tokens.models import ThirdPartyToken, TokenStatus

START = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night European clocks change: UTC does not
EXPIRY = datetime(2026, 4, 29, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def _assert_status(token, now, expected):
    assert token.status(now) == expected
    # The list filter must agree with the model method at the same instant.
    for status in TokenStatus:
        in_filter = ThirdPartyToken.objects.with_status(status, now).filter(pk=token.pk).exists()
        assert in_filter == (status == expected), (status, now)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (START - SECOND, TokenStatus.SCHEDULED),
        (START, TokenStatus.ACTIVE),
        (START + SECOND, TokenStatus.ACTIVE),
        (EXPIRY - SECOND, TokenStatus.ACTIVE),
        (EXPIRY, TokenStatus.EXPIRED),
        (EXPIRY + SECOND, TokenStatus.EXPIRED),
    ],
)
def test_status_at_the_start_and_expiry_boundaries(now, expected):
    """Attack catalogue case 14: a token is refused before its start and from its expiry."""
    token = ThirdPartyTokenFactory(starts_at=START, expires_at=EXPIRY)
    _assert_status(token, now, expected)


@pytest.mark.django_db
def test_a_token_without_expiry_stays_active():
    token = ThirdPartyTokenFactory(starts_at=START, expires_at=None)
    _assert_status(token, START + timedelta(days=3650), TokenStatus.ACTIVE)


@pytest.mark.django_db
def test_revoked_wins_over_every_other_status_from_the_revocation_second_on(settings):
    settings.ACCESSGOV_REVOKE_GRACE_DAYS = 30
    token = ThirdPartyTokenFactory(starts_at=START, expires_at=EXPIRY)
    revoked_at = START + timedelta(days=1)
    _assert_status(token, revoked_at - SECOND, TokenStatus.ACTIVE)
    assert token.revoke(by=None, now=revoked_at)
    token.refresh_from_db()
    _assert_status(token, revoked_at, TokenStatus.REVOKED)
    _assert_status(token, EXPIRY + SECOND, TokenStatus.REVOKED)
    assert token.describe_status(revoked_at) == "Revoked — deleted on 2026-04-29"


@pytest.mark.django_db
def test_the_grace_period_ends_exactly_grace_days_after_revocation(settings):
    settings.ACCESSGOV_REVOKE_GRACE_DAYS = 30
    revoked_at = datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC)
    token = ThirdPartyTokenFactory(revoked_at=revoked_at)
    end = revoked_at + timedelta(days=30)
    assert token.deleted_on() == end
    assert token.can_be_reinstated(end - SECOND)
    assert not token.can_be_reinstated(end)
    purgeable = ThirdPartyToken.objects.purgeable
    assert not purgeable(end - SECOND).filter(pk=token.pk).exists()
    assert purgeable(end).filter(pk=token.pk).exists()
    # The grace is a setting, and purge_revoked's --grace-days overrides it.
    assert purgeable(end - timedelta(days=10), grace_days=20).filter(pk=token.pk).exists()


@pytest.mark.django_db
def test_revoking_twice_changes_the_row_once():
    token = ThirdPartyTokenFactory()
    first = START
    assert token.revoke(by=None, now=first)
    stale_copy = ThirdPartyToken.objects.get(pk=token.pk)
    stale_copy.revoked_at = None  # a second request that loaded the row before the first revoked it
    assert not stale_copy.revoke(by=None, now=first + timedelta(hours=1))
    token.refresh_from_db()
    assert token.revoked_at == first


@pytest.mark.django_db
def test_the_factory_traits_give_the_status_they_name():
    with time_machine.travel(START, tick=False):
        now = START
        assert ThirdPartyTokenFactory(revoked=True).status(now) == TokenStatus.REVOKED
        assert ThirdPartyTokenFactory(expired=True).status(now) == TokenStatus.EXPIRED
        assert ThirdPartyTokenFactory(scheduled=True).status(now) == TokenStatus.SCHEDULED
        assert ThirdPartyTokenFactory().status(now) == TokenStatus.ACTIVE


@pytest.mark.django_db
def test_revoking_announces_the_change_once_so_every_cached_copy_is_dropped():
    from unittest import mock

    from accessgov.core.credentials import credential_changed

    token = ThirdPartyTokenFactory()
    receiver = mock.Mock()
    credential_changed.connect(receiver, dispatch_uid="test-revoke-receiver")
    try:
        token.revoke(by=None, now=START)
        token.revoke(by=None, now=START)  # already revoked: nothing changed, nothing to tell
    finally:
        credential_changed.disconnect(dispatch_uid="test-revoke-receiver")
    receiver.assert_called_once()
    _, kwargs = receiver.call_args
    assert kwargs["cache_keys"] == (f"t:{token.token_id}",) and kwargs["everything"] is False
