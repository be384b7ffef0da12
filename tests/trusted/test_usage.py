"""Trusted Applications: each authorization's calls per day in the list, and its own page (issue 15)."""

import re

from django.test import Client

from accessgov.trusted.models import TrustedApplicationAuthorization
from tests.conftest import bearer_auth
from tests.trusted.conftest import refresh, tokens_for

TAB = "/t/acme/settings/api/trusted-apps/"
VENDOR_SERVER = "192.0.2.44"


def call(access_token: str, path: str, ip: str = VENDOR_SERVER):
    return Client().get(
        f"/api/v1/{path}", secure=True, REMOTE_ADDR=ip, HTTP_AUTHORIZATION=bearer_auth(access_token)
    )


def test_the_list_shows_each_authorizations_sparkline_last_use_and_a_link_to_its_page(
    admin_client, enabled_tenant, app, contoso
):
    tokens = tokens_for(admin_client, app, [contoso])
    assert call(tokens["access_token"], "Me").status_code == 200
    authorization = TrustedApplicationAuthorization.objects.get()
    body = admin_client.get(TAB).text
    row = re.search(r'<table class="table authorizations">.*?<tbody>\s*<tr>(.*?)</tr>', body, re.S).group(1)
    assert f'<a href="{TAB}{authorization.pk}/"><strong>PSA Connector</strong></a>' in row
    assert 'aria-label="1 call in the last 30 days; the busiest day had 1 call."' in row
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d from 192\.0\.2\.44", row)


def test_the_authorizations_page_shows_what_it_may_do_and_the_calls_of_all_its_access_tokens(
    admin_client, enabled_tenant, app, contoso
):
    tokens = tokens_for(admin_client, app, [contoso])
    call(tokens["access_token"], "Me")
    call(tokens["access_token"], "AuditEvents")  # not asked for: refused
    # A refreshed access token counts for the same authorization.
    renewed = refresh(Client(), app, tokens["refresh_token"]).json()["access_token"]
    assert call(renewed, "Organizations", ip="2001:db8::44").status_code == 200
    authorization = TrustedApplicationAuthorization.objects.get()
    response = admin_client.get(f"{TAB}{authorization.pk}/")
    assert response.status_code == 200
    body = response.text
    assert "<h2>PSA Connector</h2>" in body and "Kaseya" in body and "Contoso" in body
    assert "List and read organizations" in body and "Revoke authorization" in body
    usage = re.search(r'<section class="card" id="usage">(.*?)</section>', body, re.S).group(1)
    assert usage.count('class="usage-bar"') == 30
    assert "3 calls in the last 30 days" in usage and "2 allowed, 1 refused" in usage
    assert "<code>GET AuditEvents</code>" in usage and "Refused: " in usage
    assert "<code>2001:db8::44</code>" in usage and f"<code>{VENDOR_SERVER}</code>" in usage
    assert re.search(r'id="last-endpoint"><code>GET Organizations</code>', usage)


def test_a_revoked_authorizations_page_says_so_and_offers_no_revoke(
    admin_client, enabled_tenant, app, contoso
):
    tokens_for(admin_client, app, [contoso])
    authorization = TrustedApplicationAuthorization.objects.get()
    admin_client.post(f"{TAB}{authorization.pk}/revoke/", {"confirm": "on"})
    body = admin_client.get(f"{TAB}{authorization.pk}/").text
    assert "Revoked " in body and ">Revoke authorization</a>" not in body
    assert "No calls in the last 30 days" in body
