"""Fixtures of the tokens tests: a token-ready tenant and URL helpers."""

import pytest

from tests.factories import ThirdPartyTokenFactory

# Session, user, membership, API access, count, page, the header's tenant switcher and the
# session save (savepoint, update, release), the tenant's lifetime policy, the expiry banner of
# Settings > API and the page's calls per day (issue 15: one query for every sparkline); +1 for
# the names of the organizations on the page.
LIST_QUERIES = 13


@pytest.fixture
def token(enabled_tenant):
    """Return an active token of `tenant` (API access on) allowed to read Me and Organizations."""
    return ThirdPartyTokenFactory(
        tenant=enabled_tenant, name="PSA sync", permissions=["Me.Read", "Organizations.Read"]
    )


@pytest.fixture
def other_token(other_tenant):
    return ThirdPartyTokenFactory(tenant=other_tenant, name="Rival script")


def tokens_url(slug: str = "acme", rest: str = "") -> str:
    """Return the path of the Third-Party Tokens tab of tenant SLUG, plus REST."""
    return f"/t/{slug}/settings/api/tokens/{rest}"
