"""The staff inventory: every credential of every tenant, saved filters, CSV, pinned queries."""

import csv
import io
from dataclasses import fields
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accessgov.core import catalogue
from accessgov.inventory import credentials
from accessgov.inventory.rows import Row, csv_cell
from tests.conftest import verified_client_for
from tests.factories import (
    ApiKeyFactory,
    ApiUserFactory,
    ThirdPartyTokenFactory,
    TrustedApplicationAuthorizationFactory,
    UserFactory,
    WebhookDestinationFactory,
)

pytestmark = pytest.mark.django_db
URL = "/staff/credentials/"


@pytest.fixture
def estate(tenant, other_tenant, admin_user):
    """Credentials of every kind in two tenants."""
    now = timezone.now()
    ApiUserFactory(tenant=tenant)
    made = {
        "key": ApiKeyFactory(tenant=tenant, name="PSA sync", created_by=admin_user),
        "expiring": ThirdPartyTokenFactory(
            tenant=tenant,
            name="Backup export",
            expires_at=now + timedelta(days=10),
            allowed_ips=["203.0.113.0/24"],
        ),
        "forever": ThirdPartyTokenFactory(
            tenant=other_tenant, name='=HYPERLINK("http://evil")', expires_at=None
        ),
        "later": ThirdPartyTokenFactory(
            tenant=other_tenant, name="Quarterly", expires_at=now + timedelta(days=200)
        ),
        "stale": ThirdPartyTokenFactory(
            tenant=tenant,
            name="Old script",
            expires_at=None,
            created_at=now - timedelta(days=200),
            starts_at=now - timedelta(days=200),
            last_used_at=now - timedelta(days=120),
        ),
        "revoked": ThirdPartyTokenFactory(tenant=tenant, name="Gone", expires_at=None, revoked_at=now),
        "authorization": TrustedApplicationAuthorizationFactory(tenant=other_tenant),
        "destination": WebhookDestinationFactory(tenant=tenant, description="SIEM"),
    }
    return made


def _names(rows) -> set[str]:
    return {row["label"] for row in rows}


def test_row_fields_follow_the_columns():
    assert [f.name for f in fields(Row)] == list(credentials.COLUMNS)


def test_every_kind_of_every_tenant_is_listed(estate):
    rows = list(credentials.inventory(now=timezone.now()))
    kinds = {row["kind"] for row in rows}
    assert kinds == {"api_key", "token", "authorization", "webhook_secret"}
    assert len(rows) == 8
    key = next(row for row in rows if row["kind"] == "api_key")
    assert key["permission_count"] == len(catalogue.current().permissions)
    assert key["creator"] == "acme-admin" and key["status"] == "active"
    assert next(row for row in rows if row["label"] == "Gone")["status"] == "revoked"


@pytest.mark.parametrize(
    ("saved", "expected"),
    [
        ("expiring", {"Backup export"}),
        ("never_expires", {"PSA sync", '=HYPERLINK("http://evil")', "Old script", "authorization"}),
        ("unused", {"Old script"}),
        (
            "no_allowlist",
            {"PSA sync", '=HYPERLINK("http://evil")', "Quarterly", "Old script", "authorization"},
        ),
    ],
)
def test_saved_filters(estate, saved, expected):
    rows = credentials.inventory(now=timezone.now(), saved_filter=saved)
    application = estate["authorization"].application.name
    assert _names(rows) == {application if name == "authorization" else name for name in expected}


def test_all_permissions_filter(estate):
    every = list(catalogue.current().permissions)
    ThirdPartyTokenFactory(tenant=estate["key"].tenant, name="Everything", permissions=every)
    assert _names(credentials.inventory(now=timezone.now(), saved_filter="all_permissions")) == {
        "PSA sync",
        "Everything",
    }


def test_csv_cells_that_look_like_formulas_are_neutralised():
    assert [csv_cell(v) for v in ["=1+1", "+1", "-1", "@SUM(A1)", "plain", None, 3]] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@SUM(A1)",
        "plain",
        "",
        "3",
    ]


def test_staff_page_lists_and_filters_with_pinned_queries(staff_client, estate, django_assert_num_queries):
    staff_client.get(URL)  # warm the session and the catalogue
    # session, user, OTP device, count, page, the top bar's memberships, tenants for the filter's
    # choices, and the idle-timeout session save (savepoint, update, release)
    with django_assert_num_queries(10):
        response = staff_client.get(URL, {"filter": "expiring"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Backup export" in body and "Quarterly" not in body
    assert "1 credential." in body
    # A page of 25 of many costs the same queries as a page of one.
    for _ in range(40):
        ThirdPartyTokenFactory(tenant=estate["key"].tenant)
    with django_assert_num_queries(10):
        response = staff_client.get(URL, {"page": 2})
    assert "Page 2 of 2" in response.content.decode()


def test_csv_export_has_exactly_what_the_filter_shows_and_no_formula(staff_client, estate):
    response = staff_client.get(reverse("inventory:export_credentials"), {"filter": "never_expires"})
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert table[0] == list(Row.CSV_HEADER)
    names = {line[2] for line in table[1:]}
    assert '\'=HYPERLINK("http://evil")' in names
    assert "Backup export" not in names and len(table) == 5
    # No secret or digest anywhere.
    export = "\n".join(",".join(line) for line in table)
    assert estate["expiring"].digest not in export and estate["destination"].signing_secret not in export


def test_tenant_administrators_and_members_get_404(admin_client, estate):
    assert admin_client.get(URL).status_code == 404
    assert admin_client.get(reverse("inventory:export_credentials")).status_code == 404


def test_staff_without_a_second_factor_are_sent_to_add_one(client, db):
    client.force_login(UserFactory(username="new-support", is_staff=True))
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/mfa/" in response["Location"]


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_bad_filter_values_are_ignored_not_500(staff_client, estate):
    response = staff_client.get(URL, {"filter": "nope", "tenant": "abc", "kind": "x" * 500})
    assert response.status_code == 200
    assert "8 credentials." in response.content.decode()


def test_non_staff_superuser_flag_alone_is_not_enough(db):
    client = verified_client_for(UserFactory(username="odd", is_staff=False, is_superuser=True))
    assert client.get(URL).status_code == 404


def test_a_deactivated_tenants_credentials_show_as_disabled(estate, tenant):
    tenant.is_active = False
    tenant.save()
    rows = credentials.inventory(now=timezone.now(), tenant_id=tenant.pk)
    assert {row["status"] for row in rows} == {"disabled", "revoked"}
