"""Regenerate Token Secret with an overlap, Retire old secret now and Renew, in the console."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accessgov.audit.models import AuditEvent
from accessgov.core.rotation import SecretMatch
from tests.factories import OrganizationFactory, ThirdPartyTokenFactory
from tests.tokens.conftest import tokens_url
from tokens import rotation
from tokens.models import ThirdPartyToken

pytestmark = pytest.mark.django_db

SECRET_RE = re.compile(r"agts_[0-9A-Za-z]{61}")
T0 = datetime(2026, 11, 30, 10, 0, 0, tzinfo=UTC)


def test_regenerate_offers_the_overlaps_and_shows_the_new_secret_once_with_the_old_ones_retirement(
    admin_client, token
):
    page = admin_client.get(tokens_url(rest=f"{token.pk}/regenerate/")).content.decode()
    for label in ("None: the old secret stops working at once", "1 hour", "1 day", "7 days", "first used"):
        assert label in page
    with time_machine.travel(T0, tick=False):
        response = admin_client.post(
            tokens_url(rest=f"{token.pk}/regenerate/"), {"confirm": "on", "overlap": "1d"}
        )
        assert response.status_code == 200 and "no-store" in response["Cache-Control"]
        text = response.content.decode()
        new = SECRET_RE.search(text).group(0)
        assert "keeps working until 2026-12-01 10:00 UTC" in text
        token.refresh_from_db()
        assert token.match_secret(token.secret, T0) == SecretMatch.PREVIOUS
        assert token.match_secret(new, T0) == SecretMatch.CURRENT
        detail = admin_client.get(tokens_url(rest=f"{token.pk}/")).content.decode()
        assert "2026-12-01 10:00 UTC" in detail and "Retire old secret now" in detail
        assert SECRET_RE.search(detail) is None


def test_an_unknown_overlap_is_refused_and_nothing_changes(admin_client, token):
    response = admin_client.post(
        tokens_url(rest=f"{token.pk}/regenerate/"), {"confirm": "on", "overlap": "30d"}
    )
    assert response.status_code == 400 and SECRET_RE.search(response.content.decode()) is None
    assert ThirdPartyToken.objects.get(pk=token.pk).matches(token.secret)


def test_retire_old_secret_now_in_the_console(admin_client, token):
    rotation.roll_token_secret(token=token, overlap="7d", by=None, ip=None)
    url = tokens_url(rest=f"{token.pk}/retire-old-secret/")
    assert "Retire the old secret" in admin_client.get(url).content.decode()
    response = admin_client.post(url, {"confirm": "on"}, follow=True)
    assert "only the new one works" in response.content.decode()
    token.refresh_from_db()
    assert token.previous_digest == "" and token.match_secret(token.secret, datetime.now(UTC)) is None
    event = AuditEvent.objects.get(action="token.old_secret_retired")
    assert event.details["reason"] == "retired_now" and event.actor.username == "acme-admin"
    # Nothing left to retire: the page says so and offers no button.
    assert 'name="confirm"' not in admin_client.get(url).content.decode()


def test_a_revoked_token_is_reinstated_without_an_overlap(admin_client, token):
    rotation.roll_token_secret(token=token, overlap="7d", by=None, ip=None)
    admin_client.post(tokens_url(rest=f"{token.pk}/revoke/"), {"confirm": "on"})
    page = admin_client.get(tokens_url(rest=f"{token.pk}/regenerate/")).content.decode()
    assert 'name="overlap"' not in page
    admin_client.post(tokens_url(rest=f"{token.pk}/regenerate/"), {"confirm": "on"})
    token.refresh_from_db()
    assert token.revoked_at is None and token.previous_digest == ""


def test_renew_opens_create_token_prefilled_for_review(admin_client, enabled_tenant):
    org = OrganizationFactory(tenant=enabled_tenant, name="Contoso")
    source = ThirdPartyTokenFactory(
        tenant=enabled_tenant,
        name="PSA sync (renewed 2026-01-02)",
        description="Nightly",
        starts_at=T0 - timedelta(days=100),
        expires_at=T0 + timedelta(days=5),
        allowed_ips=["192.0.2.0/24"],
        all_organizations=False,
        organization_ids=[org.pk],
        permissions=["Me.Read", "Organizations.Read"],
    )
    with time_machine.travel(T0, tick=False):
        response = admin_client.get(tokens_url(rest=f"{source.pk}/renew/"))
    text = response.content.decode()
    assert response.status_code == 200 and "Renew “PSA sync (renewed 2026-01-02)”" in text
    assert 'value="PSA sync (renewed 2026-11-30)"' in text  # one suffix, not two
    assert 'value="2027-03-15T10:00"' in text  # from now, as long as the source was valid (105 days)
    assert "192.0.2.0/24" in text and re.search(rf'value="{org.pk}"[^>]*checked', text)
    assert re.search(r'value="selected"[^>]*checked', text)
    assert re.search(r'value="Me.Read"[^>]*checked', text) and not re.search(
        r'value="Notify.Send"[^>]*checked', text
    )
    assert SECRET_RE.search(text) is None
    assert f'action="{tokens_url(rest="new/")}"' in text
    assert ThirdPartyToken.objects.count() == 1  # nothing is made before Create


def test_renewal_names_fit_the_name_field():
    now = T0
    assert rotation.renewal_name("x" * 100, now).endswith(" (renewed 2026-11-30)")
    assert len(rotation.renewal_name("x" * 100, now)) == 100
    assert rotation.renewal_name("Sync (renewed 2025-01-01)", now) == "Sync (renewed 2026-11-30)"
