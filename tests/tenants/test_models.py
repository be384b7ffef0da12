"""Tenant rows: the Partner ID an integration quotes is made once and never changes."""

import re

import pytest

pytestmark = pytest.mark.django_db


def test_the_partner_id_never_changes_once_made(tenant):
    partner_id = tenant.partner_id
    tenant.name = "Renamed"
    tenant.save()
    tenant.refresh_from_db()
    assert tenant.partner_id == partner_id
    assert re.fullmatch(r"P-[0-9A-HJKMNP-TV-Z]{12}", partner_id)
