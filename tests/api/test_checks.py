"""The system check that the REST routes and the endpoint catalogue describe the same endpoints."""

import pytest

from accessgov.api import checks
from accessgov.core import catalogue
from accessgov.core.catalogue import Endpoint, Permission


def test_every_catalogue_row_is_served_and_every_route_permission_is_catalogued():
    assert checks.check_catalogue_is_served() == []
    served = checks.served_endpoints()
    assert {(e.method, e.path, e.permission) for e in catalogue.OWN_ENDPOINTS} == served


def test_a_catalogue_row_that_no_route_serves_is_an_error(monkeypatch):
    extra = Endpoint("GET", "Devices", "Me.Read", "List devices", read_only=True)
    monkeypatch.setattr(catalogue, "OWN_ENDPOINTS", (*catalogue.OWN_ENDPOINTS, extra))
    [error] = checks.check_catalogue_is_served()
    assert error.id == "accessgov.E002" and "GET /api/v1/Devices" in error.msg


def test_a_route_that_needs_a_permission_missing_from_the_catalogue_is_an_error(monkeypatch):
    kept = tuple(p for p in catalogue.OWN_PERMISSIONS if p.name != "Notify.Send")
    monkeypatch.setattr(catalogue, "OWN_PERMISSIONS", kept)
    with catalogue.using(catalogue.Catalogue()):
        errors = checks.check_catalogue_is_served()
    assert any(e.id == "accessgov.E001" and "POST /api/v1/Notify needs Notify.Send" in e.msg for e in errors)


def test_a_permission_that_widens_a_served_endpoint_needs_no_route_of_its_own():
    widening = catalogue.current().permission("AuditEvents.ReadAddresses")
    assert widening.widens == "AuditEvents.Read"
    assert "AuditEvents.ReadAddresses" not in {permission for _, _, permission in checks.served_endpoints()}
    assert checks.check_catalogue_is_served() == []


def test_a_permission_no_route_needs_and_that_widens_nothing_is_an_error(monkeypatch):
    idle = Permission("Devices.Read", "Devices", "Read devices", catalogue.OWN_SERVICE)
    monkeypatch.setattr(catalogue, "OWN_PERMISSIONS", (*catalogue.OWN_PERMISSIONS, idle))
    [error] = checks.check_catalogue_is_served()
    assert error.id == "accessgov.E003" and "Devices.Read" in error.msg


@pytest.mark.parametrize("widens", ["Devices.Read", "AuditEvents.Read"])
def test_a_permission_that_widens_what_no_route_needs_or_has_a_route_is_an_error(monkeypatch, widens):
    name = "Devices.ReadSerials" if widens == "Devices.Read" else "Notify.Send"
    others = tuple(p for p in catalogue.OWN_PERMISSIONS if p.name != name)
    wrong = Permission(name, "X", "X", catalogue.OWN_SERVICE, widens=widens)
    monkeypatch.setattr(catalogue, "OWN_PERMISSIONS", (*others, wrong))
    errors = checks.check_catalogue_is_served()
    assert [error.id for error in errors] == ["accessgov.E004"] and name in errors[0].msg
