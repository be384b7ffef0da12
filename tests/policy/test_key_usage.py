"""Manage API: each API key's calls per day in the list, and one key's usage under it (issue 15)."""

import re

import pytest
from django.test import Client

from accessgov.policy import actions
from tests.conftest import bearer_auth, enable_api

URL = "/t/acme/settings/api/"
OFFICE = "198.51.100.20"


@pytest.fixture
def api_key(enabled_tenant, admin_user):
    key, raw = actions.issue_api_key(tenant=enabled_tenant, name="Billing sync", by=admin_user, ip=None)
    key.raw = raw
    return key


def call(api_key, path: str, ip: str = OFFICE):
    return Client().get(
        f"/api/v1/{path}", secure=True, REMOTE_ADDR=ip, HTTP_AUTHORIZATION=bearer_auth(api_key.raw)
    )


def test_each_key_shows_a_sparkline_of_its_calls_and_a_link_to_its_usage(admin_client, api_key):
    for _ in range(2):
        assert call(api_key, "Me").status_code == 200
    body = admin_client.get(URL).text
    row = re.search(r"<tr>\s*<td>Billing sync</td>.*?</tr>", body, re.S).group(0)
    assert 'aria-label="2 calls in the last 30 days; the busiest day had 2 calls."' in row
    assert f'href="{URL}?page=1&amp;usage={api_key.pk}#api-key-usage"' in row
    assert f'hx-get="{URL}?page=1&amp;usage={api_key.pk}"' in row
    assert re.search(r'<div id="api-key-usage">\s*</div>', body)  # no key's usage until one is asked for


def test_a_keys_usage_shows_its_smaller_chart_last_use_calls_and_addresses(admin_client, api_key):
    call(api_key, "Me")
    call(api_key, "Organizations", ip="2001:db8::20")
    body = admin_client.get(f"{URL}?usage={api_key.pk}").text
    usage = re.search(r'<div id="api-key-usage">(.*?)\n</div>\n', body, re.S).group(1)
    assert "Usage of “Billing sync”" in usage
    assert '<figure class="usage-chart small">' in usage and 'viewBox="0 0 480 160"' in usage
    assert f'id="api-key-{api_key.pk}-usage-chart"' in usage
    assert "2 calls in the last 30 days" in usage
    assert re.search(r"<dt>Last used</dt><dd>\d{4}-\d\d-\d\d \d\d:\d\d UTC from 198\.51\.100\.20</dd>", usage)
    assert "<code>GET Me</code>" in usage and "<code>GET Organizations</code>" in usage
    assert "<code>2001:db8::20</code>" in usage and f"<code>{OFFICE}</code>" in usage
    assert re.search(r'id="last-endpoint"><code>GET Organizations</code>', usage)


def test_with_htmx_only_the_keys_usage_is_sent(admin_client, api_key):
    call(api_key, "Me")
    response = admin_client.get(
        f"{URL}?usage={api_key.pk}", headers={"HX-Request": "true", "HX-Target": "api-key-usage"}
    )
    body = response.text
    assert body.lstrip().startswith('<div id="api-key-usage">') and "<html" not in body
    assert "Usage of “Billing sync”" in body and "Hide usage" in body


@pytest.mark.parametrize("value", ["", "abc", "١", "9" * 30])
def test_a_usage_value_not_understood_is_ignored(admin_client, api_key, value):
    response = admin_client.get(URL, {"usage": value})
    assert response.status_code == 200 and "Usage of “" not in response.text


def test_another_tenants_key_is_not_found(
    admin_client, api_key, other_tenant, other_admin, other_admin_client
):
    """Attack catalogue case 8: a key of another tenant by id, either way round."""
    enable_api(other_tenant, by=other_admin)
    rival, _ = actions.issue_api_key(tenant=other_tenant, name="Rival key", by=other_admin, ip=None)
    assert admin_client.get(URL, {"usage": rival.pk}).status_code == 404
    assert other_admin_client.get("/t/rival/settings/api/", {"usage": api_key.pk}).status_code == 404
    assert other_admin_client.get(URL, {"usage": api_key.pk}).status_code == 404
    assert admin_client.get(URL, {"usage": 999_999}).status_code == 404
