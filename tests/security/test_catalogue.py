"""The attack catalogue, case by case: the fifty attacks accessgov must withstand, numbered 1 to 50.

This file is the catalogue's index in the repository. Where an existing test already proves a case
exactly, the case names it (path::test) instead of repeating it, and that test says "Attack
catalogue case N" in its name or docstring; the tests below are the cases, or the parts of cases,
that nothing proved yet. Every one of them fails if the defence it names is taken away. The last
tests check the index itself: every case answered, every pointer naming a test that exists and
says its case.
"""

import base64
import logging
import pathlib
import re

import pytest
from django.conf import settings
from django.core import checks
from django.test import Client, override_settings

from accessgov.audit.models import AuditEvent
from accessgov.core import catalogue, keys
from accessgov.policy import actions
from accessgov.policy.models import ApiKey
from tests.conftest import basic_auth, bearer_auth, enable_api
from tests.factories import OrganizationFactory, ThirdPartyTokenFactory
from tokens.models import ThirdPartyToken
from webhooks.models import ApprovedWebhookDomain

pytestmark = pytest.mark.django_db

API = "/api/v1/"
CONSOLE = "/t/acme/settings/api/"


@pytest.fixture
def token(enabled_tenant):
    return ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=sorted(catalogue.current().permissions))


def api_get(path: str, authorization: str | None = None, **extra):
    headers = {"Authorization": authorization} if authorization is not None else {}
    return Client().get(API + path, headers=headers, secure=True, **extra)


# --- Auth ----------------------------------------------------------------------------------------


@override_settings(ACCESSGOV_API_FAILURE_TIERS=[(7, 60, 60)])
def test_case_01_missing_or_garbled_authorization_is_401_with_www_authenticate_and_counted(token):
    garbled = [
        None,  # missing
        "",  # empty
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon-here").decode(),
        basic_auth(token.token_id, ""),  # empty secret
        "Bearer agk_garbage",
        "Digest username=x",
    ]
    for header in garbled:
        response = api_get("Me", header)
        assert response.status_code == 401, header
        assert response["WWW-Authenticate"].startswith("Basic realm="), header
    # Seven failures: the IP is blocked, a valid token included.
    blocked = api_get("Me", basic_auth(token.token_id, token.secret))
    assert blocked.status_code == 429 and blocked.json()["Error"]["Code"] == "ip_blocked"
    # Each refusal's error code:
    #   tests/api/test_gate.py::test_missing_or_garbled_credentials_get_401_with_www_authenticate


# Case 2, unknown ID vs wrong secret: same status, body and hashing work.
#   tests/api/test_gate.py::test_an_unknown_token_and_a_wrong_secret_get_the_same_answer
#   tests/tokens/test_auth.py::test_unknown_id_and_wrong_secret_do_the_same_hashing_work


@pytest.mark.parametrize(
    "tail", [" ", "\n", "\t", "\u00a0", "\u200b"], ids=["space", "newline", "tab", "nbsp", "zwsp"]
)
def test_case_03_a_secret_with_a_trailing_space_newline_or_look_alike_is_401(token, tail):
    assert api_get("Me", basic_auth(token.token_id, token.secret)).status_code == 200
    assert api_get("Me", basic_auth(token.token_id, token.secret + tail)).status_code == 401
    # A Cyrillic look-alike of the last Latin letter of the secret.
    lookalike = token.secret[:-1] + {"a": "а", "e": "е", "o": "о"}.get(token.secret[-1], "а")
    assert api_get("Me", basic_auth(token.token_id, lookalike)).status_code == 401
    # Also covered without HTTP: tests/fuzz/test_parsers.py::test_basic_credentials_come_back_exactly_as_sent
    #   tests/tokens/test_auth.py::test_a_wrong_secret_is_refused_without_normalising_it
    # Through the gate: tests/api/test_gate.py::test_a_secret_with_a_trailing_newline_is_not_normalised


# Case 4, plain http or a forged X-Forwarded-Proto: refused, never redirected.
#   tests/api/test_api_over_tls.py::test_plain_http_is_refused_with_403_before_credentials_and_never_redirected
#   tests/api/test_middleware.py::test_a_client_forged_x_forwarded_proto_is_not_https_without_a_trusted_proxy
#   tests/api/test_middleware.py::test_with_trusted_proxies_listed_only_they_may_say_the_request_was_https


def test_case_05_key_in_query_string_is_ignored_and_never_logged(enabled_tenant, admin_user, caplog):
    _, raw = actions.issue_api_key(tenant=enabled_tenant, name="Server", by=admin_user, ip=None)
    caplog.set_level(logging.DEBUG)
    response = api_get("Me", QUERY_STRING=f"api_key={raw}&access_token={raw}")
    assert response.status_code == 401 and response.json()["Error"]["Code"] == "missing_credentials"
    assert raw not in response.content.decode()
    # Ignored next to a valid credential too: the header decides, the query string is not echoed.
    listed = api_get("Organizations", bearer_auth(raw), QUERY_STRING=f"api_key={raw}&$top=1")
    assert listed.status_code == 200 and raw not in listed.content.decode()
    # What the configured handlers write (LOGGING's format). Django also hangs the request object
    # on its records; no configured handler renders it, and the admin-mail handler is not installed.
    formatter = logging.Formatter(settings.LOGGING["formatters"]["plain"]["format"])
    logged = "\n".join(formatter.format(record) for record in caplog.records)
    assert "Unauthorized: /api/v1/Me" in logged, "the 401 was expected to be logged (without the key)"
    assert raw not in logged and keys.visible_prefix(raw, keys.API_KEY_PREFIX) not in logged
    assert "handlers" in settings.LOGGING and set(settings.LOGGING["handlers"]) == {"console"}
    # An API key alone in the query string: tests/api/test_gate.py::test_a_key_in_the_query_string_is_ignored


# Case 6, a 1 MB Authorization header: 400 before hashing.
#   tests/api/test_gate.py::test_an_oversized_authorization_header_is_refused_before_hashing
#   tests/tokens/test_auth.py::test_an_oversized_secret_is_cut_before_hashing

# Case 7, the console's session cookie on the API: not a credential.
#   tests/api/test_gate.py::test_a_console_session_cookie_is_not_a_credential

# --- Tenant isolation ----------------------------------------------------------------------------

# Case 8, another tenant's token, webhook or org by id: 404, on every URL pattern there is.
#   tests/security/test_tenant_isolation_walk.py (all three tests)
#   tests/tokens/test_views.py::test_another_tenants_admin_gets_404_on_every_tokens_url
#   tests/webhooks/test_views.py::test_case_8_another_tenants_admin_gets_404_on_every_webhooks_url
#   tests/policy/test_manage_api.py::test_another_tenants_admin_gets_404_as_if_the_tenant_did_not_exist
#   tests/policy/test_manage_api.py::test_another_tenants_admin_cannot_delete_a_key_by_id
#   tests/trusted/test_consent.py::test_consent_for_another_tenant_is_not_found
#   tests/api/test_routers.py::test_another_tenants_credential_never_sees_this_tenants_rows


def test_case_09_post_with_extra_tenant_id_or_partner_id_is_ignored(
    admin_client, enabled_tenant, other_tenant, other_admin, admin_user
):
    other_enabled = enable_api(other_tenant, by=other_admin)
    forged = {
        "tenant": other_enabled.pk,
        "tenant_id": other_enabled.pk,
        "partner_id": other_enabled.partner_id,
    }
    admin_client.post(CONSOLE + "keys/", {"name": "Forged key", **forged})
    admin_client.post(CONSOLE + "webhooks/domains/add/", {"domain": "forged.example.com", **forged})
    assert ApiKey.objects.get(name="Forged key").tenant == enabled_tenant
    assert ApprovedWebhookDomain.objects.get(domain="forged.example.com").tenant == enabled_tenant
    assert not ApiKey.objects.filter(tenant=other_enabled).exists()
    assert not ApprovedWebhookDomain.objects.filter(tenant=other_enabled).exists()
    # Tokens: tests/tokens/test_views.py::test_forged_tenant_and_secret_fields_are_ignored


# Case 10, granting a token (or an application) an organization of tenant B: validation error.
#   tests/tokens/test_views.py::test_an_organization_of_another_tenant_is_refused
#   tests/trusted/test_consent.py::test_another_tenants_organization_cannot_be_granted


def test_case_11_a_tenant_administrator_gets_nothing_of_b_through_the_admin(
    admin_client, other_tenant, other_admin
):
    """The admin is for the operator's staff only; a tenant administrator is not staff."""
    other_enabled = enable_api(other_tenant, by=other_admin)
    victim = ThirdPartyTokenFactory(tenant=other_enabled, name="Victim script")
    attempts = [
        ("get", "/admin/tokens/thirdpartytoken/", {"q": "Victim"}),
        ("get", f"/admin/tokens/thirdpartytoken/{victim.pk}/change/", None),
        (
            "get",
            "/admin/autocomplete/",
            {"app_label": "tokens", "model_name": "thirdpartytoken", "term": "V"},
        ),
        ("get", "/admin/tokens/thirdpartytoken/", {"_popup": "1", "_to_field": "id"}),
        (
            "post",
            "/admin/tokens/thirdpartytoken/",
            {"action": "revoke_tokens", "_selected_action": [victim.pk]},
        ),
        (
            "post",
            "/admin/tokens/thirdpartytoken/",
            {"action": "delete_selected", "_selected_action": [victim.pk]},
        ),
    ]
    for method, url, data in attempts:
        response = getattr(admin_client, method)(url, data)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], (method, url)
        assert "Victim script" not in response.content.decode()
    victim.refresh_from_db()
    assert victim.revoked_at is None
    # Staff see every tenant by design; that they cannot see secrets is case 49.


@override_settings(ACCESSGOV_API_RATE_LIMITS={"default": [(2, 3600)]})
def test_case_12_rate_limits_and_the_credential_cache_never_cross_tenants(token, other_tenant, other_admin):
    other_enabled = enable_api(other_tenant, by=other_admin)
    theirs = ThirdPartyTokenFactory(tenant=other_enabled, permissions=["Me.Read"])
    mine = basic_auth(token.token_id, token.secret)
    assert [api_get("Me", mine).status_code for _ in range(3)] == [200, 200, 429]
    # The other tenant's token has its own budget, and its own answer (not our cached one).
    response = api_get("Me", basic_auth(theirs.token_id, theirs.secret))
    assert response.status_code == 200
    assert response.json()["Data"]["Tenant"]["Name"] == other_enabled.name
    # And our secret does not open their token, warm cache or not.
    assert api_get("Me", basic_auth(theirs.token_id, token.secret)).status_code == 401


# Case 13, a key without current policy acceptance: refused server-side.
#   tests/policy/test_manage_api.py::test_keys_cannot_be_created_before_the_policy_is_agreed
#   tests/policy/test_manage_api.py::test_agreeing_to_a_version_replaced_meanwhile_is_refused
#   tests/tokens/test_views.py::test_creating_is_refused_until_the_api_policy_is_agreed
#   tests/trusted/test_consent.py::test_consent_is_refused_server_side_until_the_api_policy_is_agreed

# --- Token restrictions --------------------------------------------------------------------------

# Case 14, before start, at/after expiry (boundary second): 401.
#   tests/tokens/test_auth.py::test_a_token_is_not_yet_valid_before_its_start_second
#   tests/tokens/test_auth.py::test_a_token_is_expired_from_its_expiry_second_on
#   tests/tokens/test_status.py::test_status_at_the_start_and_expiry_boundaries
#   tests/api/test_gate.py::test_a_token_before_its_start_date_and_after_its_expiry_is_refused
#   tests/tokens/test_views.py::test_an_expired_token_can_be_edited_without_moving_its_past_expiry

# Case 15, a revoked token 1 s after revoke: 401.
#   tests/tokens/test_auth.py::test_a_revoked_token_is_refused_one_second_after_revocation
#   tests/api/test_gate.py::test_a_revoked_token_stops_at_once
#   tests/api/test_cache.py::test_a_cached_token_is_dropped_at_once_when_it_is_revoked_edited_or_access_is_switched_off

# Case 16, purge: only revoked > 30 days, idempotent, dry run, audit kept.
#   tests/tokens/test_purge.py (every test), tests/ops/test_faults.py::test_purge_revoked_killed_mid_batch_is_finished_by_the_next_run_deleting_each_token_once


def test_case_17_ip_outside_the_cidr_is_403_and_ipv4_mapped_decides_as_ipv4(enabled_tenant):
    token = ThirdPartyTokenFactory(tenant=enabled_tenant, allowed_ips=["192.0.2.0/24"])
    header = basic_auth(token.token_id, token.secret)
    assert api_get("Me", header, REMOTE_ADDR="192.0.2.5").status_code == 200
    assert api_get("Me", header, REMOTE_ADDR="::ffff:192.0.2.5").status_code == 200
    outside = api_get("Me", header, REMOTE_ADDR="198.51.100.5")
    assert outside.status_code == 403 and outside.json()["Error"]["Code"] == "ip_not_allowed"
    assert api_get("Me", header, REMOTE_ADDR="::ffff:198.51.100.5").status_code == 403
    # Parser level: tests/fuzz/test_parsers.py::test_an_ipv4_mapped_client_gets_the_ipv4_decision
    # Credential level: tests/tokens/test_auth.py::test_the_ip_allowlist_decides_by_address
    # Through the gate: tests/api/test_gate.py::test_a_token_from_an_ip_outside_its_allowlist_gets_403


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("10.0.0.1/24", "host bits set. Did you mean the range 10.0.0.0/24"),
        ("010.0.0.0/8", "is not a valid"),
        ("0.0.0.0/0", "would allow every address"),
        ("::/0", "would allow every address"),
        ("fe80::1%eth0", "has a zone"),
        ("::ffff:192.0.2.5", "IPv4-mapped"),
    ],
)
def test_case_18_odd_cidr_input_is_rejected_explicitly(admin_client, enabled_tenant, entry, says):
    from tokens.forms import parse_allowlist

    with pytest.raises(Exception) as refused:
        parse_allowlist(entry)
    assert says in " ".join(refused.value.messages)
    # Through the console: nothing saved, and the page says which line is wrong.
    response = admin_client.post(
        CONSOLE + "tokens/new/",
        {
            "name": "CIDR probe",
            "permissions": ["Me.Read"],
            "organization_access": "all",
            "allowed_ips": entry,
        },
    )
    assert not ThirdPartyToken.objects.filter(name="CIDR probe").exists()
    assert "Line 1" in response.content.decode()


# Case 19, endpoint scope via path tricks, method override, HEAD: the canonical route's decision.
#   tests/api/test_middleware.py::test_path_tricks_do_not_reach_another_endpoint
#   tests/api/test_middleware.py::test_method_override_headers_are_ignored
#   tests/api/test_middleware.py::test_head_gets_the_same_decision_as_get

# Case 20, an org-scoped token filtering for another org: empty or 404.
#   tests/api/test_routers.py::test_organizations_are_filtered_by_the_tokens_scope_and_another_is_not_found
#   tests/trusted/test_api.py::test_organizations_are_those_granted_and_another_is_not_found

# --- Domain/URL validation -----------------------------------------------------------------------

# Case 21: tests/webhooks/test_domains.py::test_case_21_overbroad_or_malformed_allowlist_entries_are_rejected
# Case 22: tests/webhooks/test_domains.py::test_case_22_look_alike_hosts_never_match_example_com
#          tests/fuzz/test_parsers.py::test_example_com_allows_only_itself_and_its_wildcard_only_strict_subdomains
# Case 23: tests/webhooks/test_domains.py::test_case_23_upper_case_with_a_trailing_dot_is_normalised_and_accepted
# Case 24: tests/webhooks/test_destinations.py::test_case_24_userinfo_backslashes_fragments_and_control_characters_are_rejected
#          tests/fuzz/test_parsers.py::test_destination_urls_refuse_only_with_invalid_url_and_rebuild_to_a_fixed_point
# Case 25: tests/webhooks/test_domains.py::test_case_25_only_the_exact_a_label_matches
# Case 26: tests/webhooks/test_destinations.py::test_case_26_schemes_other_than_https_are_rejected

# --- Webhook SSRF --------------------------------------------------------------------------------

# Case 27: tests/webhooks/test_destinations.py::test_case_27_internal_hosts_are_refused_when_saving
#          tests/webhooks/test_delivery.py::test_case_27_a_name_resolving_to_an_internal_address_is_refused_at_send
#          tests/webhooks/test_views.py::test_case_27_a_destination_resolving_inside_is_refused_at_save_when_the_setting_is_off
# Case 28: tests/webhooks/test_delivery.py::test_case_28_a_name_rebound_to_a_private_address_is_refused_at_send
#          tests/webhooks/test_queue.py::test_a_name_rebound_to_a_private_address_after_saving_is_blocked_at_send
# Case 29: tests/webhooks/test_delivery.py::test_case_29_a_redirect_to_an_internal_url_is_not_followed
# Case 30: tests/webhooks/test_delivery.py::test_case_30_a_slow_dripping_receiver_is_cut_off_at_the_total_time_limit
#          tests/webhooks/test_delivery.py::test_case_30_a_one_gigabyte_body_is_capped_and_never_shown
# Case 31: tests/webhooks/test_signing.py::test_case_31_a_receiver_rejects_a_wrong_secret_or_a_tampered_body_id_or_timestamp
#          tests/webhooks/test_signing.py::test_case_31_a_replayed_delivery_is_rejected_by_timestamp_and_by_id

# --- Rate-limit evasion --------------------------------------------------------------------------


@override_settings(ACCESSGOV_API_FAILURE_TIERS=[(3, 60, 60)])
def test_case_32_rotating_client_set_ip_headers_keeps_the_same_bucket(token):
    for number in range(3):
        response = api_get(
            "Me",
            basic_auth(token.token_id, "wrong"),
            HTTP_X_FORWARDED_FOR=f"203.0.113.{number}",
            HTTP_X_REAL_IP=f"198.51.100.{number}",
            HTTP_TRUE_CLIENT_IP=f"192.0.2.{number}",
            HTTP_FORWARDED=f"for=203.0.113.{number + 100}",
        )
        assert response.status_code == 401
    fresh = api_get(
        "Me",
        basic_auth(token.token_id, token.secret),
        HTTP_X_FORWARDED_FOR="203.0.113.250",
        HTTP_X_REAL_IP="198.51.100.250",
    )
    assert fresh.status_code == 429 and fresh.json()["Error"]["Code"] == "ip_blocked"
    # X-Forwarded-For alone: tests/api/test_middleware.py::test_rotating_x_forwarded_for_does_not_buy_a_fresh_budget
    # The client IP itself:
    #   tests/core/test_clientip.py::test_the_client_ip_comes_from_x_forwarded_for_only_through_a_trusted_proxy


# Case 33: tests/api/test_middleware.py::test_a_blocked_ipv6_client_cannot_escape_by_rotating_inside_its_64
#          tests/api/test_limits.py::test_addresses_of_one_ipv6_64_share_a_bucket_and_mapped_ipv4_is_ipv4
# Case 34: tests/api/test_limits.py::test_one_below_at_and_above_the_minute_tier
#          tests/api/test_limits.py::test_the_seeds_older_four_tiers_are_expressible_and_failures_straddling_a_minute_edge_still_block
#          tests/api/test_limits.py::test_a_longer_block_is_never_shortened
# Case 35: tests/api/test_limits.py::test_the_seeds_older_four_tiers_are_expressible_and_failures_straddling_a_minute_edge_still_block
# Case 36: tests/api/test_limits.py::test_fifty_concurrent_failures_are_counted_exactly
# Case 37 (Redis down): tests/api/test_limits.py::test_when_redis_is_unreachable_the_limits_fail_open_and_say_so
#          tests/ops/test_faults.py::test_redis_stopped_limits_fail_open_revocations_still_apply_and_the_console_works


def test_case_37_a_local_memory_cache_in_production_fails_the_checks():
    # The sign-in throttle counts in the "signin" alias (RATELIMIT_USE_CACHE), the API in "default".
    locmem = {
        alias: {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"} for alias in ("default", "signin")
    }
    with override_settings(CACHES=locmem, SILENCED_SYSTEM_CHECKS=["django_ratelimit.W001"]):
        found = {message.id for message in checks.run_checks() if message.is_serious()}
    assert "django_ratelimit.E003" in found


# Case 38, a blocked IP with a valid token: 429 until expiry.
#   tests/api/test_gate.py::test_after_repeated_failures_the_ip_is_blocked_even_with_a_valid_token
#   tests/api/test_limits.py::test_a_new_window_starts_afresh (the block's end; limits.py counts in Redis/DB time)

# --- Console -------------------------------------------------------------------------------------

# Case 39: tests/webhooks/test_views.py::test_case_39_state_changes_refuse_get_and_need_the_csrf_token
#          tests/tokens/test_views.py::test_revoke_asks_on_get_and_acts_only_on_a_confirmed_post
#          tests/tokens/test_views.py::test_state_changing_posts_need_the_csrf_token
#          tests/policy/test_manage_api.py::test_show_api_key_is_post_only
#          tests/policy/test_manage_api.py::test_a_forged_post_without_a_csrf_token_is_refused
#          tests/trusted/test_tab.py::test_revoke_by_get_changes_nothing, ::test_revoke_needs_the_csrf_token


def test_case_40_every_console_page_forbids_framing(admin_client, enabled_tenant):
    for path in ["", "tokens/", "tokens/new/", "webhooks/", "activity/", "trusted-apps/"]:
        response = admin_client.get(CONSOLE + path)
        assert response.status_code == 200, path
        assert response["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in response["Content-Security-Policy"], path
    # The sign-in page: tests/test_project.py::test_every_page_forbids_framing_and_sets_a_content_security_policy


def test_case_41_markup_in_an_organization_name_is_escaped(admin_client, enabled_tenant):
    OrganizationFactory(
        tenant=enabled_tenant, name='<script>alert(1)</script><a href="javascript:alert(2)">x</a>'
    )
    response = admin_client.get(CONSOLE + "tokens/new/")
    text = response.content.decode()
    assert "<script>alert(1)</script>" not in text and 'href="javascript:' not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    # Descriptions, token names, webhook URLs and logos:
    #   tests/webhooks/test_views.py::test_case_41_markup_in_a_description_is_escaped
    #   tests/tokens/test_views.py::test_a_script_in_a_name_or_description_is_escaped
    #   tests/trusted/test_tab.py::test_a_logo_is_escaped_and_only_https


# Case 42, export cells starting = + - @: does not apply. accessgov has no CSV or spreadsheet export
# (no view, admin action or command writes one; webhooks/admin.py keeps secrets out of any export
# Django might add). A new export must neutralise such cells and add the test here.


# Case 43: tests/test_project.py::test_a_foreign_host_header_is_refused
#          tests/api/test_middleware.py::test_a_foreign_host_header_gets_400_in_the_envelope

# --- One-time reveal -----------------------------------------------------------------------------

EXTERNAL_SCRIPT = re.compile(r"<script[^>]+src=[\"']?(https?:)?//", re.IGNORECASE)


def _reveals(admin_client, enabled_tenant):
    key = admin_client.post(CONSOLE + "keys/", {"name": "Reveal probe"})
    created = admin_client.post(
        CONSOLE + "tokens/new/",
        {"name": "Reveal token", "permissions": ["Me.Read"], "organization_access": "all"},
    )
    return {"key": key, "token": created}


def test_case_44_a_reveal_is_no_store_with_a_referrer_policy_no_third_party_script_and_not_in_the_url(
    admin_client, enabled_tenant
):
    for kind, response in _reveals(admin_client, enabled_tenant).items():
        assert response.status_code == 200, kind  # rendered in the POST's answer, not a redirect to a URL
        assert "no-store" in response["Cache-Control"], kind
        assert response["Referrer-Policy"] in {"no-referrer", "same-origin"}, kind
        text = response.content.decode()
        assert "data-secret" in text, kind
        assert not EXTERNAL_SCRIPT.search(text), kind
        assert "script-src 'self'" in response["Content-Security-Policy"], kind


def test_case_45_a_revealed_secret_is_wiped_on_pagehide_and_a_bfcache_restore_reloads(
    admin_client, enabled_tenant
):
    from django.contrib.staticfiles import finders

    script = pathlib.Path(finders.find("js/console.js")).read_text(encoding="utf-8")
    assert re.search(r'addEventListener\("pagehide".*?\[data-secret\].*?remove\(\)', script, re.DOTALL)
    assert re.search(r'addEventListener\("pageshow".*?persisted.*?reload\(\)', script, re.DOTALL)
    for kind, response in _reveals(admin_client, enabled_tenant).items():
        text = response.content.decode()
        assert "js/console.js" in text, kind
        # The secret is shown only inside the element the script removes.
        secret = re.search(r"ag(k|ts)_[0-9A-Za-z]{61}", text).group(0)
        assert text.index(secret) > text.index("data-secret"), kind
    # In Chromium: tests/browser/test_tokens_flow.py, tests/browser/test_manage_api_flow.py


# Case 46: tests/policy/test_secrets_never_leak.py::test_a_revealed_key_is_never_stored_logged_or_shown_again
#          tests/policy/test_secrets_never_leak.py::test_an_error_report_made_after_the_key_exists_does_not_carry_it
#          tests/tokens/test_views.py::test_an_error_while_revealing_keeps_the_secret_out_of_the_error_report
#          tests/tokens/test_views.py::test_create_shows_the_token_id_secret_basic_header_and_curl_once (session, audit)


def test_case_47_no_second_reveal_of_a_key_or_token_secret(admin_client, enabled_tenant):
    revealed = _reveals(admin_client, enabled_tenant)
    raw_key = re.search(r"agk_[0-9A-Za-z]{61}", revealed["key"].content.decode()).group(0)
    secret = re.search(r"agts_[0-9A-Za-z]{61}", revealed["token"].content.decode()).group(0)
    token = ThirdPartyToken.objects.get(name="Reveal token")
    key = ApiKey.objects.get(name="Reveal probe")
    for path in ["", "tokens/", f"tokens/{token.pk}/", f"tokens/{token.pk}/edit/", "activity/"]:
        text = admin_client.get(CONSOLE + path).content.decode()
        assert raw_key not in text and secret not in text, path
    # Posting the same creation again makes nothing new and shows nothing old.
    again = admin_client.post(CONSOLE + "keys/", {"name": "Reveal probe"}).content.decode()
    assert raw_key not in again and ApiKey.objects.filter(name="Reveal probe").count() == 1
    assert key.matches(raw_key) and token.matches(secret)
    assert not any(raw_key in str(e.details) or secret in str(e.details) for e in AuditEvent.objects.all())


# --- Admin exposure ------------------------------------------------------------------------------

# Case 48, admin internet-reachable without MFA: the deploy gate. The admin answers only staff
# (tests/tenants/test_admin.py::test_tenant_members_without_staff_status_cannot_open_the_admin, and
# case 11 above); the deploy check with production settings is
# tests/test_project.py::test_the_deploy_check_passes_with_the_documented_production_settings.
# Whether the admin path is reachable from the internet is a property of the proxy in front of it,
# which no test in this repository can see; README's deployment section owns that decision.

# Case 49: tests/policy/test_admin.py::test_the_key_change_page_shows_the_prefix_and_never_the_digest
#          tests/policy/test_admin.py::test_searching_keys_by_digest_finds_nothing
#          tests/tokens/test_admin.py::test_no_secret_or_digest_is_shown_or_editable
#          tests/webhooks/test_views.py::test_case_49_the_admin_never_shows_a_signing_secret

# Case 50: tests/test_project.py::test_the_deploy_check_passes_with_the_documented_production_settings


def test_the_catalogue_has_fifty_cases_and_each_is_answered_here():
    """Each of the fifty cases has a test or a comment in this file (a new case must be added here)."""
    here = pathlib.Path(__file__).read_text()
    for number in range(1, 51):
        assert re.search(rf"(test_case_{number:02d}_|# Case {number}[ ,:(])", here), number


POINTER = re.compile(r"(tests/[\w/]+\.py)((?:::\w+)?)((?:,\s*::\w+)*)")
CASE_IN_DOCSTRING = re.compile(r"Attack catalogue cases? ([\d, and]+)")


def _pointers() -> list[tuple[int, str, str | None]]:
    """Return (case, path, test name or None for a whole file) for every pointer in this file.

    A pointer belongs to the case whose comment ("# Case N") or test (test_case_NN_...) it is in.
    """
    pointers, case = [], None
    for line in pathlib.Path(__file__).read_text().splitlines():
        opening = re.match(r"# Case (\d+)", line) or re.match(r"def test_case_(\d+)_", line)
        if opening:
            case = int(opening.group(1))
        elif line.startswith("# ---") or (line[:1].isalpha() and not line.startswith("def test_case_")):
            case = None
        for path, first, more in POINTER.findall(line):
            names = ([first[2:]] if first else []) + re.findall(r"::(\w+)", more)
            pointers.extend((case, path, name) for name in names or [None])
    return pointers


def _cases_said(name: str, docstring: str | None) -> set[int]:
    said = {int(number) for number in re.findall(r"(?:^|_)case_(\d+)_", name)}
    for numbers in CASE_IN_DOCSTRING.findall(docstring or ""):
        said |= {int(number) for number in re.findall(r"\d+", numbers)}
    return said


def test_every_pointer_names_a_test_that_exists_and_says_its_case():
    """A test moved, renamed or deleted leaves a pointer here that this test refuses."""
    import ast

    root = pathlib.Path(__file__).resolve().parents[2]
    pointers = _pointers()
    assert len(pointers) > 80, "the pointers were not found: has their format changed?"
    for case, path, name in pointers:
        assert case is not None, f"{path}::{name} is not under a case"
        assert (root / path).is_file(), f"case {case}: {path} does not exist"
        module = ast.parse((root / path).read_text())
        if name is None:
            # A whole file answers the case: its docstring says so.
            assert case in _cases_said("", ast.get_docstring(module)), f"case {case}: {path} does not say it"
            continue
        tests = {node.name: node for node in module.body if isinstance(node, ast.FunctionDef)}
        assert name in tests, f"case {case}: {path}::{name} does not exist"
        said = _cases_said(name, ast.get_docstring(tests[name]))
        assert case in said, f"{path}::{name} does not say it answers attack catalogue case {case}"
