"""What the catalogue holds: permissions, endpoints with their limits and organization source, and a
route table that finds the endpoint of a request in time that does not grow with the catalogue."""

import re
from dataclasses import dataclass, field

READ_METHODS = frozenset({"GET", "HEAD"})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
PARAMETER = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}$")
# accessgov's own routes are written the Django Ninja way, with a converter: {int:organization_id}.
OWN_PARAMETER = re.compile(r"^\{(?:[a-z]+:)?([A-Za-z_][A-Za-z0-9_]*)\}$")


@dataclass(frozen=True)
class Window:
    """At most LIMIT requests in every window of SECONDS, aligned to the clock."""

    limit: int
    seconds: int


@dataclass(frozen=True)
class OrganizationSource:
    """Where a request names the organization it acts on."""

    where: str  # "path", "query" or "header"
    name: str

    def __str__(self) -> str:
        return f"{self.where}:{self.name}"


@dataclass(frozen=True)
class Permission:
    name: str  # "<Group>.<Verb>", stored on tokens and trusted authorizations
    group: str  # what "Edit Permissions" groups the checkboxes by
    label: str
    service: str  # "accessgov" (its own /api/v1/) or the platform's name
    # The permission whose endpoints this one widens (shows more of their answer); it has no
    # endpoint of its own. None: an ordinary permission, needed by its own endpoints.
    widens: str | None = None


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # accessgov's own: under /api/v1/ ("Me"); the platform's: a template ("/v1/assets/{AssetId}")
    permission: str
    label: str
    read_only: bool
    # None: the limits of the settings (ACCESSGOV_API_RATE_LIMITS) for the permission, read when asked.
    windows: tuple[Window, ...] | None = None
    organization: OrganizationSource | None = None
    service: str = "accessgov"
    line: int | None = None  # where the catalogue file declares it
    # True: an endpoint of the operator's API (/api/operator/v1/), for operator keys only.
    operator: bool = False

    @property
    def key(self) -> str:
        """Return the endpoint's name in messages and in its rate-limit counters."""
        return f"{self.method} {'operator/' if self.operator else ''}{self.path}"

    @property
    def governs_platform(self) -> bool:
        return self.service != "accessgov"

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Return the names of the template's parameters, in path order."""
        names = []
        for segment in template_segments(self.path):
            found = OWN_PARAMETER.match(segment)
            if found:
                names.append(found.group(1))
        return tuple(names)


@dataclass(frozen=True)
class Match:
    endpoint: Endpoint
    parameters: dict[str, str]


@dataclass
class _Node:
    literals: dict[str, "_Node"] = field(default_factory=dict)
    parameter: "_Node | None" = None  # any one segment, whatever the template calls it
    endpoints: dict[str, Endpoint] = field(default_factory=dict)  # method → endpoint


def template_segments(path: str) -> list[str]:
    """Return the segments of a path template ('/v1/assets/{AssetId}' → ['v1', 'assets', '{AssetId}'])."""
    return path.strip("/").split("/") if path.strip("/") else []


class RouteTable:
    """Find the endpoint of METHOD PATH by walking the path's segments: a literal segment before a
    parameter, so '/v1/assets/export' wins over '/v1/assets/{AssetId}'."""

    def __init__(self, endpoints: list[Endpoint]):
        self.root = _Node()
        for endpoint in endpoints:
            node = self.root
            for segment in template_segments(endpoint.path):
                if OWN_PARAMETER.match(segment):
                    node.parameter = node.parameter or _Node()
                    node = node.parameter
                else:
                    node = node.literals.setdefault(segment, _Node())
            node.endpoints[endpoint.method] = endpoint

    def match(self, method: str, segments: list[str]) -> Match | None:
        """Return the endpoint for METHOD and the path SEGMENTS, with its parameters, or None."""
        values: list[str] = []
        endpoint = self._walk(self.root, method, segments, 0, values)
        if endpoint is None:
            return None
        return Match(endpoint, dict(zip(endpoint.parameter_names, values, strict=True)))

    def _walk(
        self, node: _Node, method: str, segments: list[str], index: int, values: list
    ) -> Endpoint | None:
        if index == len(segments):
            return node.endpoints.get(method)
        segment = segments[index]
        literal = node.literals.get(segment)
        if literal is not None:
            endpoint = self._walk(literal, method, segments, index + 1, values)
            if endpoint is not None:
                return endpoint
        if node.parameter is not None and segment:
            values.append(segment)
            endpoint = self._walk(node.parameter, method, segments, index + 1, values)
            if endpoint is not None:
                return endpoint
            values.pop()
        return None
