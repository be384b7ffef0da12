"""The endpoint catalogue: every endpoint accessgov governs and the permission each needs.

One catalogue, two parts: accessgov's own REST API (/api/v1/, always there, served by
accessgov.api) and, when the operator names a file in ACCESSGOV_CATALOGUE, the platform's API that
the gateway in front of it asks accessgov about (docs/catalogue.md, docs/gateway.md). Everything that
lists permissions reads it: the token form ("Edit Permissions"), trusted applications' scopes, the
rate limits, the API docs and `Me`; each route of /api/v1/ takes its permission from here
(accessgov.api.gate.endpoint).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

from django.conf import settings

from accessgov.core.catalogue.entries import (
    READ_METHODS,
    Endpoint,
    Match,
    OrganizationSource,
    Permission,
    RouteTable,
    Window,
)
from accessgov.core.catalogue.loading import CatalogueError, PlatformCatalogue, load_catalogue, parse_window

__all__ = [
    "CatalogueError",
    "Catalogue",
    "Endpoint",
    "Match",
    "OrganizationSource",
    "Permission",
    "Window",
    "OPERATOR_ENDPOINTS",
    "OPERATOR_PERMISSIONS",
    "current",
    "parse_window",
]

OWN_SERVICE = "accessgov"
OWN_PERMISSIONS: tuple[Permission, ...] = (
    Permission("Me.Read", "Me", "Read the calling credential, its tenant and limits", OWN_SERVICE),
    Permission("Organizations.Read", "Organizations", "List and read organizations", OWN_SERVICE),
    Permission("WebhookDomains.Read", "Webhook domains", "List approved webhook domains", OWN_SERVICE),
    Permission("AuditEvents.Read", "Audit events", "List the tenant's audit events", OWN_SERVICE),
    Permission(
        "AuditEvents.ReadAddresses",
        "Audit events",
        "See administrators' IP addresses in audit events",
        OWN_SERVICE,
        widens="AuditEvents.Read",
    ),
    Permission("RateLimits.Read", "Rate limits", "Read the caller's rate limits", OWN_SERVICE),
    Permission(
        "Usage.Read",
        "Usage",
        "Read how often each credential called the API",
        OWN_SERVICE,
    ),
    Permission(
        "Usage.ReadAddresses",
        "Usage",
        "See the client addresses each credential was used from",
        OWN_SERVICE,
        widens="Usage.Read",
    ),
    Permission("Notify.Send", "Notify", "Send a notification to webhook destinations", OWN_SERVICE),
)
_LABELS = {p.name: p.label for p in OWN_PERMISSIONS}
OWN_ENDPOINTS: tuple[Endpoint, ...] = tuple(
    Endpoint(method, path, permission, _LABELS[permission], read_only=method in READ_METHODS)
    for method, path, permission in (
        ("GET", "Me", "Me.Read"),
        ("GET", "Organizations", "Organizations.Read"),
        ("GET", "Organizations/{int:organization_id}", "Organizations.Read"),
        ("GET", "WebhookDomains", "WebhookDomains.Read"),
        ("GET", "AuditEvents", "AuditEvents.Read"),
        ("GET", "RateLimits", "RateLimits.Read"),
        ("GET", "Usage", "Usage.Read"),
        ("GET", "Usage/Addresses", "Usage.Read"),
        ("POST", "Notify", "Notify.Send"),
    )
)

# The operator's API (/api/operator/v1/): its own permissions, given only to operator keys
# (accessgov.operator). They are no tenant's: the token form, trusted applications' scopes and API
# keys never see them (they are not in Catalogue.permissions).
OPERATOR_SERVICE = "accessgov-operator"
OPERATOR_PERMISSIONS: tuple[Permission, ...] = (
    Permission(
        "Tenants.Read", "Tenants", "List and read tenants, their organizations and members", OPERATOR_SERVICE
    ),
    Permission(
        "Tenants.Write", "Tenants", "Create, change, deactivate and reactivate tenants", OPERATOR_SERVICE
    ),
    Permission(
        "Organizations.Write", "Organizations", "Create, rename and delete organizations", OPERATOR_SERVICE
    ),
    Permission(
        "Memberships.Write",
        "Memberships",
        "Add, change and remove members, invite people by e-mail",
        OPERATOR_SERVICE,
    ),
    Permission(
        "Inventory.Read",
        "Inventory",
        "List every credential of every tenant (never a secret)",
        OPERATOR_SERVICE,
    ),
)
_OPERATOR_LABELS = {p.name: p.label for p in OPERATOR_PERMISSIONS}
OPERATOR_ENDPOINTS: tuple[Endpoint, ...] = tuple(
    Endpoint(
        method,
        path,
        permission,
        _OPERATOR_LABELS[permission],
        read_only=method in READ_METHODS,
        operator=True,
    )
    for method, path, permission in (
        ("GET", "Tenants", "Tenants.Read"),
        ("GET", "Tenants/{int:tenant_id}", "Tenants.Read"),
        ("POST", "Tenants", "Tenants.Write"),
        ("GET", "Organizations", "Tenants.Read"),
        ("POST", "Organizations", "Organizations.Write"),
        ("DELETE", "Organizations/{int:org_id}", "Organizations.Write"),
        ("GET", "Memberships", "Tenants.Read"),
        ("POST", "Memberships", "Memberships.Write"),
        ("DELETE", "Memberships/{int:membership_id}", "Memberships.Write"),
        ("GET", "Credentials", "Inventory.Read"),
    )
)


class Catalogue:
    """accessgov's own endpoints and, if one is configured, the platform's."""

    def __init__(self, platform: PlatformCatalogue | None = None):
        self.platform = platform
        self.all_permissions: tuple[Permission, ...] = OWN_PERMISSIONS + (
            platform.permissions if platform else ()
        )
        self.endpoints: tuple[Endpoint, ...] = OWN_ENDPOINTS + (platform.endpoints if platform else ())
        self.permissions: frozenset[str] = frozenset(p.name for p in self.all_permissions)
        self._by_name = {p.name: p for p in self.all_permissions}
        self._own = {(e.method, e.path): e for e in OWN_ENDPOINTS}
        self._operator = {(e.method, e.path): e for e in OPERATOR_ENDPOINTS}
        self._operator_labels = {p.name: p.label for p in OPERATOR_PERMISSIONS}
        self.routes = RouteTable(list(platform.endpoints) if platform else [])

    @property
    def service(self) -> str | None:
        """Return the name of the platform's API, or None without a catalogue file."""
        return self.platform.service if self.platform else None

    @cached_property
    def read_only_permissions(self) -> frozenset[str]:
        """Return the permissions whose every endpoint only reads (the token form's read-only preset).

        A widening permission (AuditEvents.ReadAddresses) only reads too, but it shows more of what
        another permission reads: it is granted on purpose, never by a preset.
        """
        writes = {e.permission for e in self.endpoints if not e.read_only}
        widening = {p.name for p in self.all_permissions if p.widens is not None}
        return self.permissions - writes - widening

    def permission(self, name: str) -> Permission | None:
        return self._by_name.get(name)

    def label_of(self, permission: str) -> str:
        """Return the human label of PERMISSION, or the permission itself if it is not catalogued."""
        found = self._by_name.get(permission)
        return found.label if found else self._operator_labels.get(permission, permission)

    def grouped(self) -> dict[str, dict[str, list[Permission]]]:
        """Return the permissions by service, then by group, in catalogue order."""
        services: dict[str, dict[str, list[Permission]]] = {}
        for permission in self.all_permissions:
            services.setdefault(permission.service, {}).setdefault(permission.group, []).append(permission)
        return services

    def ordered(self, permissions) -> list[str]:
        """Return PERMISSIONS that the catalogue knows, in catalogue order."""
        wanted = set(permissions)
        return [p.name for p in self.all_permissions if p.name in wanted]

    def own_endpoint(self, method: str, path: str) -> Endpoint:
        """Return accessgov's own endpoint METHOD PATH (as its route writes it), or raise LookupError."""
        try:
            return self._own[(method, path)]
        except KeyError:
            raise LookupError(f"{method} {path} is not in the endpoint catalogue") from None

    def operator_endpoint(self, method: str, path: str) -> Endpoint:
        """Return the operator's endpoint METHOD PATH (under /api/operator/v1/), or raise LookupError."""
        try:
            return self._operator[(method, path)]
        except KeyError:
            raise LookupError(f"{method} operator/{path} is not in the endpoint catalogue") from None

    def endpoints_of(self, permission: str) -> list[Endpoint]:
        return [e for e in self.endpoints if e.permission == permission]

    def match(self, method: str, segments: list[str]) -> Match | None:
        """Return the platform endpoint of METHOD and the path SEGMENTS (HEAD is judged as GET)."""
        return self.routes.match("GET" if method == "HEAD" else method, segments)


_current: Catalogue | None = None


def load() -> Catalogue:
    """Load the catalogue named by settings.ACCESSGOV_CATALOGUE (none: accessgov's own endpoints only).

    Raise CatalogueError naming every problem of the file; the app config calls this at start-up,
    so a server never runs on an invalid catalogue.
    """
    global _current
    path = getattr(settings, "ACCESSGOV_CATALOGUE", "")
    own = frozenset(p.name for p in OWN_PERMISSIONS)
    _current = Catalogue(load_catalogue(path, own_permissions=own) if path else None)
    return _current


def current() -> Catalogue:
    """Return the catalogue in force."""
    return _current if _current is not None else load()


@contextmanager
def using(catalogue: Catalogue) -> Iterator[Catalogue]:
    """Put CATALOGUE in force for the length of the block (tests, `check_catalogue`)."""
    global _current
    previous, _current = _current, catalogue
    try:
        yield catalogue
    finally:
        _current = previous


def label_of(permission: str) -> str:
    """Return the human label of PERMISSION in the catalogue in force."""
    return current().label_of(permission)
