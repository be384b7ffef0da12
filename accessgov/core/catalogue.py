"""The catalogue of REST API endpoints and the permission each needs: one registry for the token
form ("Edit Permissions"), trusted applications and the API's own permission checks (each route
takes its permission from here: accessgov.api.gate.endpoint)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoint:
    group: str  # what the console groups the checkboxes by
    method: str
    path: str  # under /api/v1/
    permission: str  # "<Group>.<Verb>", stored on tokens
    label: str

    @property
    def read_only(self) -> bool:
        return self.method in {"GET", "HEAD"}


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("Me", "GET", "Me", "Me.Read", "Read the calling credential, its tenant and limits"),
    Endpoint("Organizations", "GET", "Organizations", "Organizations.Read", "List and read organizations"),
    Endpoint(
        "Webhook domains", "GET", "WebhookDomains", "WebhookDomains.Read", "List approved webhook domains"
    ),
    Endpoint("Audit events", "GET", "AuditEvents", "AuditEvents.Read", "List the tenant's audit events"),
    Endpoint("Rate limits", "GET", "RateLimits", "RateLimits.Read", "Read the caller's rate limits"),
    Endpoint("Notify", "POST", "Notify", "Notify.Send", "Send a notification to webhook destinations"),
)

PERMISSIONS: frozenset[str] = frozenset(endpoint.permission for endpoint in ENDPOINTS)
READ_ONLY_PERMISSIONS: frozenset[str] = frozenset(e.permission for e in ENDPOINTS if e.read_only)


def grouped() -> dict[str, list[Endpoint]]:
    """Return the endpoints grouped for display, in catalogue order, each permission once."""
    groups: dict[str, list[Endpoint]] = {}
    seen: set[str] = set()
    for endpoint in ENDPOINTS:
        if endpoint.permission in seen:
            continue
        seen.add(endpoint.permission)
        groups.setdefault(endpoint.group, []).append(endpoint)
    return groups


def permission_of(method: str, path: str) -> str:
    """Return the permission the catalogue gives METHOD PATH (path parameters ignored), or raise."""
    base = path.split("/{")[0]
    for endpoint in ENDPOINTS:
        if endpoint.method == method and endpoint.path == base:
            return endpoint.permission
    raise LookupError(f"{method} {path} is not in the endpoint catalogue")


def label_of(permission: str) -> str:
    """Return the human label of PERMISSION, or the permission itself if it is not catalogued."""
    return next((e.label for e in ENDPOINTS if e.permission == permission), permission)
