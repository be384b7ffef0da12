"""The lifetime policy of a tenant: set in Manage API, enforced on every token's terms, flagged in the list."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from accessgov.audit.models import AuditEvent
from accessgov.core.errors import ActionRefused
from accessgov.policy import lifetime
from accessgov.policy.models import LifetimePolicy
from tests.factories import ThirdPartyTokenFactory
from tests.tokens.test_views import _valid_form
from tokens import actions
from tokens.models import ThirdPartyToken

pytestmark = pytest.mark.django_db

URL = "/t/acme/settings/api/"
TOKENS = URL + "tokens/"
START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
STRICT = {"max_lifetime_days": 90, "expiry_required": True, "allowlist_required_for_write": True}


@pytest.fixture
def strict(enabled_tenant):
    return LifetimePolicy.objects.create(tenant=enabled_tenant, **STRICT)


def test_check_names_each_breach_in_words_an_administrator_can_act_on(strict, enabled_tenant):
    assert lifetime.check(enabled_tenant, START, START + timedelta(days=90), ["Me.Read"], []) == []
    assert lifetime.check(enabled_tenant, START, None, ["Me.Read"], []) == [
        "The policy of Acme MSP requires an expiration date of at most 90 days."
    ]
    assert lifetime.check(enabled_tenant, START, START + timedelta(days=90, seconds=1), ["Me.Read"], []) == [
        "The policy of Acme MSP allows tokens of at most 90 days: choose an expiration date no later "
        "than 2026-08-30 12:00 UTC."
    ]
    # Write permissions need an allowlist; read-only ones do not.
    assert lifetime.check(enabled_tenant, START, START + timedelta(days=1), ["Notify.Send"], []) == [
        "The policy of Acme MSP requires whitelisted IP addresses for tokens with write permissions "
        "(Notify.Send)."
    ]
    assert (
        lifetime.check(enabled_tenant, START, START + timedelta(days=1), ["Notify.Send"], ["192.0.2.0/24"])
        == []
    )


def test_a_tenant_without_a_policy_requires_nothing(enabled_tenant):
    assert lifetime.check(enabled_tenant, START, None, ["Notify.Send"], []) == []


def test_an_expiry_required_without_a_maximum_accepts_any_expiry(enabled_tenant):
    LifetimePolicy.objects.create(tenant=enabled_tenant, expiry_required=True)
    assert lifetime.check(enabled_tenant, START, START + timedelta(days=3000), ["Me.Read"], []) == []
    assert lifetime.check(enabled_tenant, START, None, ["Me.Read"], []) == [
        "The policy of Acme MSP requires an expiration date."
    ]


def test_administrators_set_the_policy_in_manage_api_audited_with_before_and_after(
    admin_client, admin_user, enabled_tenant
):
    page = admin_client.get(URL)
    assert "Lifetime policy" in page.text and "An expiry date is required" in page.text
    data = {"max_lifetime_days": "90", "expiry_required": "on", "allowlist_required_for_write": "on"}
    response = admin_client.post(URL + "lifetime/", data, REMOTE_ADDR="203.0.113.5")
    assert response.status_code == 302 and response["Location"].endswith("#lifetime-policy")
    policy = LifetimePolicy.objects.get(tenant=enabled_tenant)
    assert (policy.max_lifetime_days, policy.expiry_required, policy.allowlist_required_for_write) == (
        90,
        True,
        True,
    )
    event = AuditEvent.objects.get(action="tenant.lifetime_policy_changed")
    assert (event.actor, event.ip_address) == (admin_user, "203.0.113.5")
    assert (
        event.details["before"]["max_lifetime_days"] is None
        and event.details["after"]["max_lifetime_days"] == 90
    )
    # Saving the same again records nothing.
    admin_client.post(URL + "lifetime/", data)
    assert AuditEvent.objects.filter(action="tenant.lifetime_policy_changed").count() == 1


def test_a_bad_maximum_is_answered_on_its_field_and_nothing_is_saved(admin_client, enabled_tenant):
    response = admin_client.post(
        URL + "lifetime/", {"max_lifetime_days": "0"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 400
    assert response.text.lstrip().startswith('<section class="card" id="lifetime-policy">')
    assert "A maximum lifetime is at least 1 day." in response.text
    assert not LifetimePolicy.objects.exists()


def test_another_tenants_admin_cannot_change_the_policy(other_admin_client, enabled_tenant, strict):
    """Attack catalogue case 8: B's administrator posting to A's Manage API → 404, nothing changes."""
    response = other_admin_client.post(URL + "lifetime/", {"max_lifetime_days": "3650"})
    assert response.status_code == 404
    assert LifetimePolicy.objects.get(tenant=enabled_tenant).max_lifetime_days == 90


def test_a_technician_cannot_change_the_policy(tech_client, enabled_tenant):
    assert tech_client.post(URL + "lifetime/", {"expiry_required": "on"}).status_code == 403
    assert not LifetimePolicy.objects.exists()


def _form(**overrides) -> dict:
    """Return Create Token's fields with no expiry, no allowlist and read-only permissions."""
    return _valid_form(**{"expires_at": "", "allowed_ips": "", "permissions": ["Me.Read"], **overrides})


def test_create_token_without_expiry_is_refused_with_the_message_on_the_expiry_field(admin_client, strict):
    response = admin_client.post(TOKENS + "new/", _form())
    assert response.status_code == 400
    assert (
        '<ul class="error" id="expires-at-error" role="alert"><li>The policy of Acme MSP requires an '
        "expiration date of at most 90 days.</li></ul>"
    ) in response.text
    assert not ThirdPartyToken.objects.exists()
    # Too long, and a write permission with no allowlist: each message on its field.
    too_late = (timezone.now() + timedelta(days=120)).strftime("%Y-%m-%dT%H:%M")
    response = admin_client.post(TOKENS + "new/", _form(expires_at=too_late, permissions=["Notify.Send"]))
    assert response.status_code == 400
    assert "allows tokens of at most 90 days" in response.text
    assert (
        "requires whitelisted IP addresses for tokens with write permissions (Notify.Send)" in response.text
    )
    ok = (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    response = admin_client.post(
        TOKENS + "new/", _form(expires_at=ok, permissions=["Notify.Send"], allowed_ips="192.0.2.0/24")
    )
    assert response.status_code == 200 and ThirdPartyToken.objects.count() == 1


def test_the_form_says_the_expiry_is_required_before_anyone_submits(admin_client, strict):
    assert (
        "Required by the lifetime policy: at most 90 days after the start date."
        in admin_client.get(TOKENS + "new/").text
    )


def test_an_edit_that_keeps_a_breach_is_refused_and_nothing_changes(admin_client, enabled_tenant):
    token = ThirdPartyTokenFactory(tenant=enabled_tenant, name="Old", expires_at=None)
    LifetimePolicy.objects.create(tenant=enabled_tenant, **STRICT)
    response = admin_client.post(TOKENS + f"{token.pk}/edit/", _form(name="Old", description="renamed"))
    assert response.status_code == 400
    assert "requires an expiration date" in response.text
    assert ThirdPartyToken.objects.get(pk=token.pk).description == ""


def test_the_workflows_refuse_a_breach_whoever_calls_them(strict, enabled_tenant, admin_user):
    terms = actions.TokenTerms(
        name="Script",
        description="",
        starts_at=None,
        expires_at=None,
        allowed_ips=(),
        organization_ids=None,
        permissions=("Me.Read",),
    )
    with pytest.raises(ActionRefused, match="requires an expiration date"):
        actions.create_token(tenant=enabled_tenant, terms=terms, by=admin_user, ip=None)
    assert not ThirdPartyToken.objects.exists()


def test_existing_tokens_that_break_the_policy_are_flagged_with_the_reason_and_filtered(
    admin_client, enabled_tenant, assert_queries
):
    now = timezone.now()
    ThirdPartyTokenFactory(tenant=enabled_tenant, name="Forever", expires_at=None)
    ThirdPartyTokenFactory(
        tenant=enabled_tenant, name="Writer", expires_at=now + timedelta(days=20), permissions=["Notify.Send"]
    )
    ThirdPartyTokenFactory(tenant=enabled_tenant, name="Fine", expires_at=now + timedelta(days=20))
    ThirdPartyTokenFactory(tenant=enabled_tenant, name="Gone", expires_at=None, revoked=True)
    LifetimePolicy.objects.create(tenant=enabled_tenant, **STRICT)
    page = admin_client.get(TOKENS)
    assert page.text.count("Breaks the policy:") == 2
    assert "requires whitelisted IP addresses" in page.text
    # The filter, as a link from Manage API or the checkbox: one more query, for the ids; one more
    # for the page's calls per day (issue 15).
    with assert_queries(15):
        filtered = admin_client.get(TOKENS + "?breaks_policy=on")
    assert "Forever" in filtered.text and "Writer" in filtered.text
    assert "Fine" not in filtered.text and "Gone" not in filtered.text
    detail = admin_client.get(TOKENS + f"{ThirdPartyToken.objects.get(name='Forever').pk}/")
    assert "Breaks the lifetime policy" in detail.text
