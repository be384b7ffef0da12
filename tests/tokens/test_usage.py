"""A token's usage on its page and in the list, and narrowing it to the permissions it used (issue 15)."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accessgov.audit.models import AuditEvent
from accessgov.usage import reading
from accessgov.usage.models import CredentialAddress, CredentialType, CredentialUsage
from tests.api.conftest import hung_redis  # noqa: F401 - a Redis that never answers
from tests.conftest import basic_auth, counted_queries
from tests.factories import ThirdPartyTokenFactory
from tests.tokens.conftest import LIST_QUERIES, tokens_url
from tokens.models import ThirdPartyToken

OFFICE = "203.0.113.10"
HOME = "2001:db8::7"
READS = ["AuditEvents.Read", "Me.Read", "Organizations.Read"]


def call(token, path: str, ip: str = OFFICE, secret: str | None = None):
    """Call GET /api/v1/PATH with TOKEN over HTTPS from IP, as an integration would."""
    return Client().get(
        f"/api/v1/{path}",
        secure=True,
        REMOTE_ADDR=ip,
        HTTP_AUTHORIZATION=basic_auth(token.token_id, secret or token.secret),
    )


def used(token, *, days_ago: int, permission: str, calls: int = 1, outcome: str = "allowed", endpoint=None):
    """Record CALLS of TOKEN DAYS_AGO days ago (UTC), as the rollup would have copied them."""
    return CredentialUsage.objects.create(
        tenant=token.tenant,
        credential_type=CredentialType.TOKEN,
        credential_id=token.pk,
        day=reading.today() - timedelta(days=days_ago),
        endpoint=endpoint or f"GET {permission.split('.')[0]}",
        permission=permission,
        outcome=outcome,
        calls=calls,
    )


@pytest.fixture
def old_token(enabled_tenant):
    """A token made 40 days ago, granted three read permissions."""
    made = timezone.now() - timedelta(days=40)
    return ThirdPartyTokenFactory(
        tenant=enabled_tenant, name="PSA sync", permissions=READS, created_at=made, starts_at=made
    )


def token_events():
    return AuditEvent.objects.filter(action__startswith="token.")


def narrow_url(token, slug: str = "acme") -> str:
    return tokens_url(slug, f"{token.pk}/narrow/")


def section(body: str, section_id: str) -> str:
    match = re.search(rf'<section class="card" id="{section_id}">(.*?)</section>', body, re.S)
    assert match, f"no #{section_id} section"
    return match.group(1)


# --- The token's page ---------------------------------------------------------------------------


@override_settings(ACCESSGOV_API_RATE_LIMITS={"default": [(1000, 60)], "Organizations.Read": [(2, 60)]})
def test_the_token_page_shows_the_calls_made_with_it_by_day_endpoint_outcome_and_address(
    admin_client, old_token
):
    before = section(admin_client.get(tokens_url(rest=f"{old_token.pk}/")).text, "usage")
    assert "No calls in the last 30 days" in before and "None yet" in before
    for _ in range(3):
        assert call(old_token, "Me").status_code == 200
    for _ in range(3):
        call(old_token, "Organizations", ip=HOME)  # the third is rate-limited
    assert call(old_token, "Me", secret="agts_wrong").status_code == 401
    used(old_token, days_ago=3, permission="Me.Read", calls=4)

    usage = section(admin_client.get(tokens_url(rest=f"{old_token.pk}/")).text, "usage")
    today = reading.today().isoformat()
    three_days_ago = (reading.today() - timedelta(days=3)).isoformat()
    # The chart: one bar a day, today's stacked from its outcomes, each with its numbers in words.
    assert usage.count('class="usage-bar"') == 30
    assert f'data-day="{today}" data-calls="7"' in usage
    assert f'data-day="{three_days_ago}" data-calls="4"' in usage
    assert f"<title>{today}: 7 calls (5 allowed, 1 refused, 1 rate-limited)</title>" in usage
    assert 'role="img"' in usage and "11 calls in the last 30 days" in usage
    # The table by endpoint and outcome, and the addresses with the last endpoint.
    rows = re.findall(r"<tr><td><code>(GET \w+)</code>.*?<span[^>]*>([^<]+)</span></td><td>(\d+)</td>", usage)
    assert rows == [
        ("GET Me", "Allowed", "7"),
        ("GET Organizations", "Allowed", "2"),
        ("GET Me", "Refused: invalid credentials", "1"),
        ("GET Organizations", "Rate-limited", "1"),
    ]
    assert re.search(
        rf"<td><code>{re.escape(HOME)}</code></td>.*?<code>GET Organizations</code>", usage, re.S
    )
    assert f"<code>{OFFICE}</code>" in usage
    # The wrong secret is counted but proves nothing: the last endpoint is the last real call's.
    assert re.search(
        rf'id="last-endpoint"><code>GET Organizations</code> at .* from {re.escape(HOME)}', usage
    )


def test_the_chart_needs_no_script_no_style_attribute_and_no_outside_asset(admin_client, old_token):
    call(old_token, "Me")
    response = admin_client.get(tokens_url(rest=f"{old_token.pk}/"))
    usage = section(response.text, "usage")
    svg = re.search(r"<svg [^>]*usage-chart-svg.*?</svg>", usage, re.S).group(0)
    assert 'aria-labelledby="token-usage-chart-title token-usage-chart-desc"' in svg
    assert '<desc id="token-usage-chart-desc">1 call in the last 30 days' in svg
    assert 'fill="#1e7d43"' in svg  # drawn without the stylesheet too
    for forbidden in ("<script", "style=", "href=", "src=", "<image", "<foreignObject"):
        assert forbidden not in svg
    assert "style-src 'self'" in response["Content-Security-Policy"]


def test_the_token_page_costs_the_same_queries_however_much_the_token_was_used(
    admin_client, old_token, assert_queries
):
    used(old_token, days_ago=1, permission="Me.Read")
    with CaptureQueriesContext(connection) as few:
        admin_client.get(tokens_url(rest=f"{old_token.pk}/"))
    for day in range(2, 30):
        for permission in READS:
            for outcome in ("allowed", "rate_limited", "ip_not_allowed"):
                used(old_token, days_ago=day, permission=permission, outcome=outcome, calls=day + 1)
    for n in range(12):
        CredentialAddress.objects.create(
            tenant=old_token.tenant,
            credential_type=CredentialType.TOKEN,
            credential_id=old_token.pk,
            address=f"192.0.2.{n}",
            first_seen=timezone.now() - timedelta(days=n + 1),
            last_seen=timezone.now() - timedelta(hours=n),
            last_endpoint="GET Me",
        )
    with assert_queries(len(counted_queries(few.captured_queries))):
        body = admin_client.get(tokens_url(rest=f"{old_token.pk}/")).text
    usage = section(body, "usage")
    assert usage.count("<td><code>192.0.2.") == 5  # the last five addresses, newest first
    assert usage.index("192.0.2.0") < usage.index("192.0.2.4") and "192.0.2.5<" not in usage


# --- The list -----------------------------------------------------------------------------------


def test_the_list_shows_a_sparkline_and_last_used_for_each_token(admin_client, old_token, enabled_tenant):
    idle = ThirdPartyTokenFactory(tenant=enabled_tenant, name="Idle export")
    call(old_token, "Me")
    used(old_token, days_ago=2, permission="Me.Read", calls=8)
    body = admin_client.get(tokens_url()).text
    row = re.search(r"<tr>\s*<td><a [^>]*>PSA sync</a>.*?</tr>", body, re.S).group(0)
    assert 'aria-label="9 calls in the last 30 days; the busiest day had 8 calls."' in row
    assert row.count("<rect ") == 2
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d from 203\.0\.113\.10", row)
    idle_row = re.search(rf"<tr>\s*<td><a [^>]*>{idle.name}</a>.*?</tr>", body, re.S).group(0)
    assert 'aria-label="No calls in the last 30 days."' in idle_row and "Never" in idle_row


def test_the_list_reads_every_sparkline_in_one_query_for_1_and_30_tokens(
    admin_client, enabled_tenant, assert_queries
):
    first = ThirdPartyTokenFactory(tenant=enabled_tenant)
    used(first, days_ago=1, permission="Me.Read", calls=3)
    with assert_queries(LIST_QUERIES):
        admin_client.get(tokens_url())
    for n in range(29):
        token = ThirdPartyTokenFactory(tenant=enabled_tenant)
        used(token, days_ago=n % 30, permission="Me.Read", calls=n + 1)
    with assert_queries(LIST_QUERIES):
        body = admin_client.get(tokens_url()).text
    assert body.count('class="sparkline"') == 25


# --- Permissions not used in 30 days ------------------------------------------------------------


def test_the_page_lists_the_granted_permissions_no_allowed_call_used_in_30_days(admin_client, old_token):
    used(old_token, days_ago=5, permission="Me.Read")
    used(old_token, days_ago=40, permission="Organizations.Read")  # older than the window
    used(old_token, days_ago=1, permission="AuditEvents.Read", outcome="ip_not_allowed")  # refused
    unused = section(admin_client.get(tokens_url(rest=f"{old_token.pk}/")).text, "unused-permissions")
    assert "<code>AuditEvents.Read</code>" in unused and "<code>Organizations.Read</code>" in unused
    assert "<code>Me.Read</code>" not in unused
    assert "so far" not in unused
    assert f'href="{narrow_url(old_token)}">Review narrowing</a>' in unused


def test_a_token_younger_than_30_days_says_how_many_days_it_was_used_for(admin_client, enabled_tenant):
    made = timezone.now() - timedelta(days=5)
    token = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=READS, created_at=made, starts_at=made)
    page = section(admin_client.get(tokens_url(rest=f"{token.pk}/")).text, "unused-permissions")
    assert "Used for 6 days so far, with no allowed call" in page
    assert "Review narrowing" not in page and "<code>" not in page
    call(token, "Me")
    page = section(admin_client.get(tokens_url(rest=f"{token.pk}/")).text, "unused-permissions")
    assert "Used for 6 days so far: this covers those 6 days, not a full 30." in page
    assert "<code>Organizations.Read</code>" in page and "Review narrowing" in page


def test_a_token_that_used_every_permission_or_none_offers_no_narrowing(admin_client, old_token):
    page = section(admin_client.get(tokens_url(rest=f"{old_token.pk}/")).text, "unused-permissions")
    assert "A token keeps at least one permission: if nothing uses it, suspend or revoke it instead." in page
    assert "Review narrowing" not in page
    for permission in READS:
        used(old_token, days_ago=2, permission=permission)
    page = section(admin_client.get(tokens_url(rest=f"{old_token.pk}/")).text, "unused-permissions")
    assert "Every permission of this token was used in the last 30 days." in page
    assert "Review narrowing" not in page


# --- Review narrowing and Remove unused permissions ---------------------------------------------


def test_the_review_shows_what_is_kept_and_removed_and_changes_nothing(admin_client, old_token):
    used(old_token, days_ago=5, permission="Me.Read")
    response = admin_client.get(narrow_url(old_token))
    assert response.status_code == 200
    body = response.text
    removed = re.search(r'id="permissions-removed">(.*?)</ul>', body, re.S).group(1)
    kept = re.search(r'id="permissions-kept">(.*?)</ul>', body, re.S).group(1)
    assert "AuditEvents.Read" in removed and "Organizations.Read" in removed and "Me.Read" not in removed
    assert "Me.Read" in kept and "Organizations.Read" not in kept
    hidden = re.findall(r'<input type="hidden" name="remove" value="([^"]+)"', body)
    assert hidden == ["AuditEvents.Read", "Organizations.Read"]
    assert ">Remove unused permissions</button>" in body
    old_token.refresh_from_db()
    assert old_token.permissions == READS and not token_events()


def test_removing_unused_permissions_saves_audits_and_stops_them_at_once(admin_client, admin_user, old_token):
    assert call(old_token, "Me").status_code == 200  # verified and cached by the API
    response = admin_client.post(
        narrow_url(old_token), {"remove": ["AuditEvents.Read", "Organizations.Read"]}, follow=True
    )
    assert response.redirect_chain[-1][0].endswith(f"/tokens/{old_token.pk}/#unused-permissions")
    assert (
        "Removed 2 unused permission(s) from “PSA sync”: AuditEvents.Read, Organizations.Read."
        in response.text
    )
    old_token.refresh_from_db()
    assert old_token.permissions == ["Me.Read"]
    event = token_events().get()
    assert (event.action, event.actor, event.tenant) == ("token.updated", admin_user, old_token.tenant)
    assert event.details["reason"] == "Narrowed from usage: no allowed call in the last 30 day(s)"
    assert event.details["permissions_removed"] == ["AuditEvents.Read", "Organizations.Read"]
    assert event.details["changes"] == {"permissions": {"from": READS, "to": ["Me.Read"]}}
    # Every app server dropped its copy: the removed permission is refused on the next request.
    refused = call(old_token, "Organizations")
    assert refused.status_code == 403 and refused.json()["Error"]["Code"] == "permission_missing"
    assert call(old_token, "Me").status_code == 200
    activity = admin_client.get("/t/acme/settings/api/activity/").text
    assert "Permissions removed" in activity and "Narrowed from usage" in activity


def test_a_permission_used_after_the_review_is_not_removed(admin_client, old_token):
    admin_client.get(narrow_url(old_token))  # shows all three as unused
    used(old_token, days_ago=0, permission="Me.Read")
    response = admin_client.post(narrow_url(old_token), {"remove": READS})
    assert response.status_code == 400
    assert (
        "Nothing was removed: the unused permissions changed since you reviewed them "
        "(Me.Read no longer unused (used or taken away since)). Review them again." in response.text
    )
    # The review is shown again as it is now.
    assert re.findall(r'name="remove" value="([^"]+)"', response.text) == [
        "AuditEvents.Read",
        "Organizations.Read",
    ]
    old_token.refresh_from_db()
    assert old_token.permissions == READS and not token_events()


def test_a_call_counted_but_not_yet_rolled_up_after_the_review_still_counts(admin_client, old_token):
    used(old_token, days_ago=3, permission="Me.Read")
    admin_client.get(narrow_url(old_token))
    assert call(old_token, "Organizations").status_code == 200  # in Redis or memory, not in the table
    response = admin_client.post(
        narrow_url(old_token), {"remove": ["AuditEvents.Read", "Organizations.Read"]}
    )
    assert response.status_code == 400 and "Organizations.Read no longer unused" in response.text
    old_token.refresh_from_db()
    assert old_token.permissions == READS


def test_a_permission_granted_after_the_review_is_not_removed_unseen(admin_client, old_token):
    used(old_token, days_ago=5, permission="Me.Read")
    admin_client.get(narrow_url(old_token))
    ThirdPartyToken.objects.filter(pk=old_token.pk).update(permissions=[*READS, "RateLimits.Read"])
    response = admin_client.post(
        narrow_url(old_token), {"remove": ["AuditEvents.Read", "Organizations.Read"]}
    )
    assert response.status_code == 400 and "RateLimits.Read now unused too" in response.text
    assert ThirdPartyToken.objects.get(pk=old_token.pk).permissions == [*READS, "RateLimits.Read"]


@pytest.mark.parametrize(
    ("posted", "message"),
    [
        ({}, "No permission to remove was reviewed."),
        ({"remove": ["Notify.Send"]}, "The permissions of this token changed since you reviewed them"),
    ],
)
def test_a_tampered_review_removes_nothing(admin_client, old_token, posted, message):
    response = admin_client.post(narrow_url(old_token), posted)
    assert response.status_code == 400 and message in response.text
    assert ThirdPartyToken.objects.get(pk=old_token.pk).permissions == READS
    assert not token_events()


def test_a_token_with_no_permission_used_cannot_be_narrowed_to_nothing(admin_client, old_token):
    page = admin_client.get(narrow_url(old_token)).text
    assert "Nothing to remove from “PSA sync”" in page and "Remove unused permissions</button>" not in page
    response = admin_client.post(narrow_url(old_token), {"remove": READS})
    assert response.status_code == 400 and "suspend or revoke it instead" in response.text
    assert ThirdPartyToken.objects.get(pk=old_token.pk).permissions == READS


def test_a_revoked_token_is_not_narrowed(admin_client, old_token):
    used(old_token, days_ago=5, permission="Me.Read")
    ThirdPartyToken.objects.filter(pk=old_token.pk).update(revoked_at=timezone.now())
    response = admin_client.post(
        narrow_url(old_token), {"remove": ["AuditEvents.Read", "Organizations.Read"]}
    )
    assert response.status_code == 400 and "is revoked: there is nothing to narrow" in response.text
    assert ThirdPartyToken.objects.get(pk=old_token.pk).permissions == READS


def test_another_tenants_administrator_gets_404_on_the_token_page_and_narrowing(
    other_admin_client, old_token
):
    """Attack catalogue case 8."""
    used(old_token, days_ago=5, permission="Me.Read")
    assert other_admin_client.get(tokens_url(rest=f"{old_token.pk}/")).status_code == 404
    assert other_admin_client.get(narrow_url(old_token)).status_code == 404
    assert other_admin_client.post(narrow_url(old_token), {"remove": ["AuditEvents.Read"]}).status_code == 404
    # Under their own tenant's URL the token is not theirs either.
    assert other_admin_client.get(narrow_url(old_token, slug="rival")).status_code == 404
    assert (
        other_admin_client.post(
            narrow_url(old_token, slug="rival"), {"remove": ["AuditEvents.Read"]}
        ).status_code
        == 404
    )
    assert ThirdPartyToken.objects.get(pk=old_token.pk).permissions == READS


def test_only_administrators_narrow_and_only_with_a_csrf_token(tech_client, admin_user, old_token):
    used(old_token, days_ago=5, permission="Me.Read")
    assert (
        tech_client.post(
            narrow_url(old_token), {"remove": ["AuditEvents.Read", "Organizations.Read"]}
        ).status_code
        == 403
    )
    forged = Client(enforce_csrf_checks=True)
    forged.force_login(admin_user)
    response = forged.post(narrow_url(old_token), {"remove": ["AuditEvents.Read", "Organizations.Read"]})
    assert response.status_code == 403
    assert ThirdPartyToken.objects.get(pk=old_token.pk).permissions == READS


def test_a_widening_permission_counts_as_used_when_what_it_widens_is_used(old_token):
    """AuditEvents.ReadAddresses has no endpoint: every AuditEvents call showed what it adds."""
    old_token.permissions = [*READS, "AuditEvents.ReadAddresses"]
    old_token.save()
    assert call(old_token, "AuditEvents").status_code == 200
    reading.report(CredentialType.TOKEN, old_token.pk, old_token.tenant_id)
    unused = reading.unused_permissions(CredentialType.TOKEN, old_token.pk, old_token.permissions)
    assert unused == ["Me.Read", "Organizations.Read"]


def test_narrowing_is_refused_when_the_newest_calls_cannot_be_read(hung_redis, admin_client, old_token):  # noqa: F811
    """A Redis that does not answer could hide a call made since the last rollup: nothing is removed."""
    response = admin_client.post(
        narrow_url(old_token), {"remove": ["AuditEvents.Read", "Organizations.Read"]}
    )
    assert response.status_code == 400
    assert "the newest calls of this token could not be read just now" in response.text
    old_token.refresh_from_db()
    assert old_token.permissions == READS and not token_events()


def test_a_wrong_secret_is_counted_but_its_address_is_not_kept(old_token):
    assert call(old_token, "Me", ip=HOME, secret="agts_wrong").status_code == 401
    report = reading.report(CredentialType.TOKEN, old_token.pk, old_token.tenant_id)
    assert [(line.endpoint, line.outcome, line.calls) for line in report.lines] == [
        ("GET Me", "invalid_credentials", 1)
    ]
    assert report.addresses == []
