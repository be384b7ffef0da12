"""The system check that the REST routes and the endpoint catalogue describe the same endpoints."""

from accessgov.api import checks
from accessgov.core import catalogue
from accessgov.core.catalogue import Endpoint


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
