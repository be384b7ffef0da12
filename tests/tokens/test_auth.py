"""check_token: every refusal reason, one query, equal work for unknown IDs and wrong secrets."""

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
import time_machine

from accessgov.core import keys
from accessgov.core.credentials import Decision, Refusal
from accessgov.core.credentials import record_last_use as record_token_use
from tests.factories import OrganizationFactory, ThirdPartyTokenFactory
from tokens.auth import check_token
from tokens.models import ThirdPartyToken

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
IP = "192.0.2.5"


@pytest.fixture
def make_token(enabled_tenant):
    def _make(**overrides):
        fields = {
            "tenant": enabled_tenant,
            "starts_at": NOW - timedelta(days=1),
            "expires_at": NOW + timedelta(days=30),
            "allowed_ips": ["192.0.2.0/24", "2001:db8::/32"],
            "permissions": ["Me.Read", "Organizations.Read"],
        }
        fields.update(overrides)
        return ThirdPartyTokenFactory(**fields)

    return _make


def _check(token, **overrides):
    arguments = {
        "token_id": token.token_id,
        "secret": token.secret,
        "client_ip": IP,
        "permission": "Me.Read",
        "now": NOW,
    }
    arguments.update(overrides)
    return check_token(**arguments)


def test_a_valid_token_is_allowed_with_one_query(make_token, django_assert_max_num_queries):
    token = make_token()
    with django_assert_max_num_queries(1):
        decision = _check(token)
        # The tenant and its API user come with the token: reading them costs nothing more.
        assert decision.record.tenant.api_user.is_active
    assert decision == Decision(reason=None, record=decision.record, principal=decision.principal)
    assert decision.allowed and decision.record.pk == token.pk


def test_every_refusal_costs_at_most_one_query(make_token, tenant, django_assert_max_num_queries):
    token = make_token()
    cases = [
        {"token_id": "agt_AAAAAAAAAAAA"},
        {"secret": keys.generate_secret(keys.TOKEN_SECRET_PREFIX)},
        {"client_ip": "198.51.100.1"},
        {"permission": "Notify.Send"},
        {"organization_id": 123},
    ]
    token.all_organizations = False
    token.organization_ids = [1]
    token.save()
    for overrides in cases:
        with django_assert_max_num_queries(1):
            assert not _check(token, **overrides).allowed


def test_an_unknown_token_id_is_refused_without_a_token(make_token):
    token = make_token()
    decision = _check(token, token_id="agt_AAAAAAAAAAAA")
    assert decision == Decision(reason=Refusal.UNKNOWN_CREDENTIAL, record=None)


@pytest.mark.parametrize(
    "token_id", ["", "agt_", "agt_short", "xyz_AAAAAAAAAAAA", "agt_AAAAAAAAAAA!", "a" * 10_000]
)
def test_a_malformed_token_id_is_unknown_and_never_reaches_the_database(
    make_token, token_id, django_assert_num_queries
):
    token = make_token()
    with django_assert_num_queries(0):
        assert _check(token, token_id=token_id).reason == Refusal.UNKNOWN_CREDENTIAL


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s + " ",
        lambda s: s + "\n",
        lambda s: s[:-1],
        lambda s: s.upper(),
        lambda s: s.replace("a", "а", 1) if "a" in s else s[:-1] + "а",  # Cyrillic look-alike
        lambda s: "",
        lambda s: s * 20_000,
    ],
)
def test_a_wrong_secret_is_refused_without_normalising_it(make_token, mangle):
    """Attack catalogue case 3: a secret is never normalised."""
    token = make_token()
    decision = _check(token, secret=mangle(token.secret))
    assert decision == Decision(reason=Refusal.WRONG_SECRET, record=None)


def test_another_tokens_secret_does_not_open_this_token(make_token):
    mine, theirs = make_token(), make_token()
    assert _check(mine, secret=theirs.secret).reason == Refusal.WRONG_SECRET


def test_unknown_id_and_wrong_secret_do_the_same_hashing_work(make_token):
    """Attack catalogue case 2: unknown ID and wrong secret look the same."""
    token = make_token()
    wrong = keys.generate_secret(keys.TOKEN_SECRET_PREFIX)
    with mock.patch("accessgov.core.keys.digest_secret", wraps=keys.digest_secret) as digest:
        _check(token, token_id="agt_AAAAAAAAAAAA", secret=wrong)
        unknown_calls = digest.call_count
        digest.reset_mock()
        _check(token, secret=wrong)
        wrong_calls = digest.call_count
    assert unknown_calls == wrong_calls == 1


def test_an_oversized_secret_is_cut_before_hashing(make_token):
    """Attack catalogue case 6: an oversized secret is refused before hashing."""
    token = make_token()
    with mock.patch("accessgov.core.keys.digest_secret", wraps=keys.digest_secret) as digest:
        _check(token, secret="x" * 1_000_000)
    (hashed, *_), _ = digest.call_args
    assert len(hashed) == keys.MAX_SECRET_LENGTH + 1


def test_a_revoked_token_is_refused_one_second_after_revocation(make_token):
    """Attack catalogue case 15: a revoked token stops at once."""
    token = make_token()
    token.revoke(by=None, now=NOW)
    decision = _check(token, now=NOW + timedelta(seconds=1))
    assert (decision.allowed, decision.reason) == (False, Refusal.REVOKED)
    assert _check(token, now=NOW).reason == Refusal.REVOKED


def test_a_token_is_not_yet_valid_before_its_start_second(make_token):
    """Attack catalogue case 14: a token is refused before its start and from its expiry."""
    token = make_token(starts_at=NOW)
    assert _check(token, now=NOW - timedelta(seconds=1)).reason == Refusal.NOT_YET_VALID
    assert _check(token, now=NOW).allowed


def test_a_token_is_expired_from_its_expiry_second_on(make_token):
    """Attack catalogue case 14: a token is refused before its start and from its expiry."""
    token = make_token(expires_at=NOW)
    assert _check(token, now=NOW - timedelta(seconds=1)).allowed
    assert _check(token, now=NOW).reason == Refusal.EXPIRED


def test_the_clock_defaults_to_now(make_token):
    token = make_token(expires_at=NOW)
    with time_machine.travel(NOW - timedelta(seconds=1), tick=False):
        assert check_token(
            token_id=token.token_id, secret=token.secret, client_ip=IP, permission=None
        ).allowed
    with time_machine.travel(NOW, tick=False):
        decision = check_token(token_id=token.token_id, secret=token.secret, client_ip=IP, permission=None)
    assert decision.reason == Refusal.EXPIRED


@pytest.mark.parametrize(
    ("client_ip", "allowed"),
    [
        ("192.0.2.5", True),
        ("192.0.2.255", True),
        ("192.0.3.1", False),
        ("::ffff:192.0.2.5", True),  # IPv4-mapped IPv6 is the IPv4 address
        ("::ffff:192.0.3.1", False),
        ("2001:db8::1", True),
        ("2001:db9::1", False),
        ("fe80::1%eth0", False),
        ("", False),
        ("not-an-ip", False),
        ("192.0.2.5 ", True),
    ],
)
def test_the_ip_allowlist_decides_by_address(make_token, client_ip, allowed):
    """Attack catalogue case 17: an address outside the allowlist is refused."""
    token = make_token()
    decision = _check(token, client_ip=client_ip)
    assert decision.allowed is allowed
    if not allowed:
        assert decision.reason == Refusal.IP_NOT_ALLOWED


def test_an_empty_allowlist_allows_any_address(make_token):
    token = make_token(allowed_ips=[])
    assert _check(token, client_ip="203.0.113.9").allowed
    assert _check(token, client_ip="2001:db8:ffff::1").allowed


def test_a_missing_permission_is_refused_and_none_means_authenticate_only(make_token):
    token = make_token(permissions=["Me.Read"])
    assert _check(token, permission="Organizations.Read").reason == Refusal.PERMISSION_MISSING
    assert _check(token, permission="Made.Up").reason == Refusal.PERMISSION_MISSING
    assert _check(token, permission=None).allowed


def test_an_organization_outside_the_selection_is_refused(make_token, tenant):
    contoso, fabrikam = OrganizationFactory(tenant=tenant), OrganizationFactory(tenant=tenant)
    token = make_token(all_organizations=False, organization_ids=[contoso.pk])
    assert _check(token, organization_id=contoso.pk).allowed
    assert _check(token, organization_id=fabrikam.pk).reason == Refusal.ORGANIZATION_NOT_ALLOWED
    assert _check(token, organization_id=None).allowed
    assert token.organization_scope.ids == {contoso.pk}


def test_all_organizations_allows_any_organization_id(make_token):
    token = make_token(all_organizations=True)
    assert _check(token, organization_id=987654).allowed
    assert token.organization_scope.ids is None


def test_api_access_off_refuses_every_token_of_the_tenant(make_token, enabled_tenant):
    token = make_token()
    api_user = enabled_tenant.api_user
    api_user.is_active = False
    api_user.save()
    assert _check(token).reason == Refusal.API_ACCESS_OFF


def test_a_deactivated_tenant_refuses_every_token_before_its_api_access_is_asked(make_token, enabled_tenant):
    token = make_token()
    enabled_tenant.is_active = False
    enabled_tenant.save()
    assert _check(token).reason == Refusal.TENANT_DEACTIVATED


def test_a_tenant_that_never_agreed_has_api_access_off(other_tenant, django_assert_max_num_queries):
    token = ThirdPartyTokenFactory(tenant=other_tenant, starts_at=NOW - timedelta(days=1))
    with django_assert_max_num_queries(1):
        assert _check(token, client_ip=IP).reason == Refusal.API_ACCESS_OFF


def test_a_refusal_after_the_secret_matched_carries_the_token(make_token):
    token = make_token()
    decision = _check(token, permission="Notify.Send")
    assert decision.record is not None and decision.record.pk == token.pk


def test_a_token_made_with_a_retired_pepper_no_longer_matches(make_token, settings):
    token = make_token()
    ThirdPartyToken.objects.filter(pk=token.pk).update(pepper_id="retired")
    assert _check(token).reason == Refusal.WRONG_SECRET


def test_a_suspended_token_is_refused_after_its_secret_matched_and_works_again_once_resumed(make_token):
    token = make_token()
    token.suspended_at = NOW - timedelta(minutes=1)
    token.save()
    decision = _check(token)
    assert decision.reason == Refusal.SUSPENDED and decision.record.pk == token.pk
    # Without the secret, a suspended token reads like any other wrong secret.
    assert _check(token, secret="agts_" + "x" * 61).reason == Refusal.WRONG_SECRET
    token.suspended_at = None
    token.save()
    assert _check(token).allowed


def test_every_refusal_reason_a_token_can_get_is_covered():
    tested = {
        Refusal.UNKNOWN_CREDENTIAL,
        Refusal.WRONG_SECRET,
        Refusal.REVOKED,
        Refusal.SUSPENDED,
        Refusal.NOT_YET_VALID,
        Refusal.EXPIRED,
        Refusal.IP_NOT_ALLOWED,
        Refusal.PERMISSION_MISSING,
        Refusal.ORGANIZATION_NOT_ALLOWED,
        Refusal.API_ACCESS_OFF,
        Refusal.TENANT_DEACTIVATED,
    }
    # The rest of the shared vocabulary belongs to trusted applications' access tokens
    # (tests/trusted/test_api.py reaches each over the API) and to platform endpoints that need
    # an organization named (tests/api/test_decisions.py).
    assert set(Refusal) - tested == {
        Refusal.ACCESS_TOKEN_EXPIRED,
        Refusal.AUTHORIZATION_REVOKED,
        Refusal.SCOPE_MISSING,
        Refusal.ORGANIZATION_REQUIRED,
        # Operator keys' own, and the gate's refusal of a credential on the other API
        # (tests/operator/test_keys.py).
        Refusal.OPERATOR_PERMISSION_MISSING,
        Refusal.OPERATOR_KEY_ELSEWHERE,
        Refusal.OPERATOR_KEY_REQUIRED,
    }


def test_last_use_is_written_at_most_once_a_minute_with_one_update(make_token, django_assert_num_queries):
    token = make_token()
    with django_assert_num_queries(1) as captured:
        record_token_use(token, ip="::ffff:192.0.2.5", now=NOW)
    assert captured.captured_queries[0]["sql"].startswith("UPDATE")
    token.refresh_from_db()
    assert (token.last_used_at, token.last_used_ip) == (NOW, "192.0.2.5")

    with django_assert_num_queries(0):
        record_token_use(token, ip="192.0.2.6", now=NOW + timedelta(seconds=59))
    with django_assert_num_queries(1):
        record_token_use(token, ip="192.0.2.7", now=NOW + timedelta(seconds=60))
    token.refresh_from_db()
    assert (token.last_used_at, token.last_used_ip) == (NOW + timedelta(seconds=60), "192.0.2.7")


def test_a_stale_copy_does_not_write_last_use_twice_within_a_minute(make_token):
    token = make_token()
    stale = ThirdPartyToken.objects.get(pk=token.pk)
    record_token_use(token, ip="192.0.2.5", now=NOW)
    record_token_use(stale, ip="192.0.2.9", now=NOW + timedelta(seconds=10))
    token.refresh_from_db()
    assert (token.last_used_at, token.last_used_ip) == (NOW, "192.0.2.5")
