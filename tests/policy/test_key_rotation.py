"""Regenerate key (with an overlap) and Retire old secret now on Manage API."""

import re
from datetime import UTC, datetime

import pytest
import time_machine

from accessgov.audit.models import AuditEvent
from accessgov.core.rotation import SecretMatch
from accessgov.policy import actions
from accessgov.policy.models import ApiKey
from tests.conftest import enable_api
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/t/acme/settings/api/"
KEY_RE = re.compile(r"agk_[0-9A-Za-z]{61}")
T0 = datetime(2026, 11, 30, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def api_key(enabled_tenant):
    key, raw = actions.issue_api_key(tenant=enabled_tenant, name="Server", by=UserFactory(), ip=None)
    key.raw = raw
    return key


def test_regenerating_a_key_shows_its_new_secret_once_and_when_the_old_one_retires(admin_client, api_key):
    confirm = admin_client.get(f"{URL}keys/{api_key.pk}/regenerate/").content.decode()
    assert "Regenerate the API key “Server”" in confirm and "first used" in confirm
    with time_machine.travel(T0, tick=False):
        response = admin_client.post(
            f"{URL}keys/{api_key.pk}/regenerate/", {"confirm": "on", "overlap": "1h"}
        )
        assert response.status_code == 200 and "no-store" in response["Cache-Control"]
        text = response.content.decode()
        [new] = KEY_RE.findall(text)
        assert new.startswith(api_key.prefix) and new != api_key.raw
        assert "keeps working until 2026-11-30 11:00 UTC" in text
        page = admin_client.get(URL).content.decode()
        assert "Old secret works until 2026-11-30 11:00 UTC" in page and KEY_RE.search(page) is None
        key = ApiKey.objects.get(pk=api_key.pk)
        assert key.match_secret(api_key.raw, T0) == SecretMatch.PREVIOUS
        assert key.match_secret(new, T0) == SecretMatch.CURRENT
    assert AuditEvent.objects.get(action="api_key.regenerated").details["overlap"] == "1h"


def test_retire_old_key_secret_now(admin_client, api_key):
    actions.roll_api_key(api_key=api_key, overlap="7d", by=None, ip=None)
    url = f"{URL}keys/{api_key.pk}/retire-old-secret/"
    assert "Retire the old secret of “Server” now?" in admin_client.get(url).content.decode()
    response = admin_client.post(url, {"confirm": "on"}, follow=True)
    assert "only the new one works" in response.content.decode()
    assert ApiKey.objects.get(pk=api_key.pk).match_secret(api_key.raw, datetime.now(UTC)) is None
    assert AuditEvent.objects.get(action="api_key.old_secret_retired").actor.username == "acme-admin"


def test_an_unconfirmed_regeneration_changes_nothing(admin_client, api_key):
    response = admin_client.post(f"{URL}keys/{api_key.pk}/regenerate/", {"overlap": "1d"})
    assert response.status_code == 400 and KEY_RE.search(response.content.decode()) is None
    assert ApiKey.objects.get(pk=api_key.pk).matches(api_key.raw)


def test_another_tenants_admin_cannot_regenerate_or_retire_a_key(
    other_admin_client, other_admin, other_tenant, api_key
):
    """Attack catalogue case 8: another tenant's rows are not found, through either tenant's URL."""
    enable_api(other_tenant, by=other_admin)
    actions.roll_api_key(api_key=api_key, overlap="7d", by=None, ip=None)
    before = ApiKey.objects.filter(pk=api_key.pk).values("digest", "previous_digest").get()
    for slug in ("acme", "rival"):
        for rest in ("regenerate/", "retire-old-secret/"):
            url = f"/t/{slug}/settings/api/keys/{api_key.pk}/{rest}"
            assert other_admin_client.get(url).status_code == 404, url
            assert other_admin_client.post(url, {"confirm": "on", "overlap": "none"}).status_code == 404, url
    assert ApiKey.objects.filter(pk=api_key.pk).values("digest", "previous_digest").get() == before
    assert not AuditEvent.objects.filter(actor=other_admin).exclude(action="policy.agreed").exists()
