"""A system check that the REST API and the endpoint catalogue describe the same endpoints.

Every permission a route's gate needs must be in the catalogue (or no token could ever be given
it), every catalogue row must be served by a route with that method, path and permission, and
every permission of accessgov's own must be needed by a route or widen one that is (or the token
form would offer a permission for nothing).
"""

from django.core import checks

from accessgov.api.gate import Governed
from accessgov.api.site import OPERATOR_ROUTERS, ROUTERS
from accessgov.core import catalogue


def served_endpoints(routers=ROUTERS) -> set[tuple[str, str, str]]:
    """Return (method, path under its API's root, permission) of every governed route of ROUTERS."""
    served = set()
    for router in routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                for auth in operation.auth_callbacks:
                    if isinstance(auth, Governed):
                        for method in operation.methods:
                            served.add((method, path, auth.permission))
    return served


def check_catalogue_is_served(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Return an error for each permission without a catalogue row and each row without a route,
    for /api/v1/ and for the operator's /api/operator/v1/ alike."""
    errors = []
    needed = set()
    for root, routers, endpoints, permissions, table in (
        ("/api/v1/", ROUTERS, catalogue.OWN_ENDPOINTS, catalogue.OWN_PERMISSIONS, "OWN_ENDPOINTS"),
        (
            "/api/operator/v1/",
            OPERATOR_ROUTERS,
            catalogue.OPERATOR_ENDPOINTS,
            catalogue.OPERATOR_PERMISSIONS,
            "OPERATOR_ENDPOINTS",
        ),
    ):
        served = served_endpoints(routers)
        known = {permission.name for permission in permissions}
        for method, path, permission in sorted(served):
            if permission not in known:
                errors.append(
                    checks.Error(
                        f"{method} {root}{path} needs {permission}, which the endpoint catalogue lacks.",
                        hint=f"Add the endpoint to {table} in accessgov/core/catalogue/__init__.py.",
                        id="accessgov.E001",
                    )
                )
        for endpoint in endpoints:
            if (endpoint.method, endpoint.path, endpoint.permission) not in served:
                errors.append(
                    checks.Error(
                        f"The catalogue lists {endpoint.method} {root}{endpoint.path} ({endpoint.permission}), "
                        "but no route serves it with that permission.",
                        hint="Add the route under accessgov/api/routers/ or remove the catalogue row.",
                        id="accessgov.E002",
                    )
                )
        needed |= {permission for _, _, permission in served}
    errors += _unserved_permissions(needed)
    return errors


def _unserved_permissions(needed: set[str]) -> list[checks.CheckMessage]:
    """Return an error for each own permission that no route needs and that widens none that one does."""
    errors = []
    for permission in catalogue.OWN_PERMISSIONS + catalogue.OPERATOR_PERMISSIONS:
        if permission.widens is None:
            if permission.name not in needed:
                errors.append(
                    checks.Error(
                        f"No route needs {permission.name}: it would grant nothing.",
                        hint="Serve an endpoint with it, declare what it widens (widens=...), or remove it.",
                        id="accessgov.E003",
                    )
                )
        elif permission.name in needed or permission.widens not in needed:
            errors.append(
                checks.Error(
                    f"{permission.name} widens {permission.widens}, so it must have no route of its own "
                    f"and {permission.widens} must be needed by a route.",
                    hint="A widening permission adds to another endpoint's answer (e.g. a field it shows).",
                    id="accessgov.E004",
                )
            )
    return errors


def register() -> None:
    """Register the check (called from AppConfig.ready())."""
    checks.register(check_catalogue_is_served, checks.Tags.urls)
