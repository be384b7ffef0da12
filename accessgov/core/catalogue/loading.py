"""Read the platform's endpoint catalogue from its TOML file, refusing it with every problem named.

The format is described in docs/catalogue.md; examples/catalogue/rmm.toml is a full example.
Each problem is reported as "FILE, line N: what is wrong", and a file with any problem is refused
whole: the server does not start on half a catalogue.
"""

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from accessgov.core.catalogue.entries import (
    METHODS,
    PARAMETER,
    READ_METHODS,
    Endpoint,
    OrganizationSource,
    Permission,
    Window,
    template_segments,
)

PERMISSION_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*(\.[A-Z][A-Za-z0-9]*)+$")
WINDOW = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")
UNITS = {
    "s": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
}
MAX_WINDOW_SECONDS = 31 * 86400
HEADER_NAME = re.compile(r"^[A-Za-z0-9-]+$")
SEGMENT = re.compile(r"^[A-Za-z0-9._~!$&'()*+,;=:@-]+$")  # RFC 3986 pchar, without percent-encoding
TOP_KEYS = {"catalogue", "permission", "endpoint"}
CATALOGUE_KEYS = {"service", "limits"}
PERMISSION_KEYS = {"name", "group", "label"}
ENDPOINT_KEYS = {"method", "path", "permission", "label", "read_only", "limits", "organization"}
DEFAULT_SERVICE = "Platform API"


class CatalogueError(ValueError):
    """The catalogue file cannot be used; `problems` lists every reason, each with its line."""

    def __init__(self, problems: list[str]):
        super().__init__("The endpoint catalogue is not valid:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class PlatformCatalogue:
    service: str
    permissions: tuple[Permission, ...]
    endpoints: tuple[Endpoint, ...]


def parse_window(text: str) -> Window:
    """Return the window of TEXT ("3600/1h", "10/5s", "50/minute"), or raise ValueError."""
    found = WINDOW.match(text) if isinstance(text, str) else None
    if not found or found.group(3) not in UNITS:
        raise ValueError(f"“{text}” is not a window; write it as requests/period, such as 3600/1h or 10/5s")
    limit, count, unit = int(found.group(1)), int(found.group(2) or 1), found.group(3)
    seconds = count * UNITS[unit]
    if limit < 1:
        raise ValueError(f"“{text}” allows no request at all; the limit must be at least 1")
    if not 1 <= seconds <= MAX_WINDOW_SECONDS:
        raise ValueError(f"“{text}” has a period outside 1 second to 31 days")
    return Window(limit, seconds)


def _header_lines(text: str, name: str) -> list[int]:
    """Return the line numbers of each [[NAME]] header, in order (the Nth is the Nth table)."""
    pattern = re.compile(rf"^\s*\[\[\s*{name}\s*\]\]\s*(#.*)?$")
    return [number for number, line in enumerate(text.splitlines(), start=1) if pattern.match(line)]


class _Reader:
    def __init__(self, source: str, own_permissions: frozenset[str]):
        self.source = source
        self.own_permissions = own_permissions
        self.problems: list[str] = []

    def problem(self, line: int | None, message: str) -> None:
        self.problems.append(
            f"{self.source}, line {line}: {message}" if line else f"{self.source}: {message}"
        )

    def windows(self, value, line: int | None, where: str) -> tuple[Window, ...] | None:
        if not isinstance(value, list) or not value:
            self.problem(line, f'{where}: limits must be a list of windows, such as ["3600/1h"]')
            return None
        windows = []
        for item in value:
            try:
                window = parse_window(item)
            except ValueError as error:
                self.problem(line, f"{where}: {error}")
                continue
            if any(w.seconds == window.seconds for w in windows):
                self.problem(line, f"{where}: two windows of {window.seconds} seconds; keep one")
                continue
            windows.append(window)
        return tuple(windows) if len(windows) == len(value) else None

    def unknown_keys(self, table: dict, allowed: set[str], line: int | None, where: str) -> None:
        for key in sorted(set(table) - allowed):
            self.problem(line, f"{where}: unknown key “{key}” (known: {', '.join(sorted(allowed))})")


def _template_problem(path: object) -> str | None:
    """Return why PATH can never match a request, or None if it is a usable template."""
    if not isinstance(path, str) or not path.startswith("/"):
        return "the path must start with /"
    if any(char in path for char in "?# \t%\\"):
        return "the path template can never match: no query, fragment, space, % or backslash"
    if path != "/" and path.endswith("/"):
        return "the path template can never match: requests are judged without a trailing slash"
    names = []
    for segment in template_segments(path):
        if segment in {"", ".", ".."}:
            return "the path template can never match: no empty, . or .. segment"
        found = PARAMETER.match(segment)
        if found:
            names.append(found.group(1))
        elif "{" in segment or "}" in segment:
            return (
                f"the path template can never match: “{segment}” must be a whole {{Parameter}} or plain text"
            )
        elif not SEGMENT.match(segment):
            return (
                f"the path template can never match: “{segment}” has characters a request path cannot carry"
            )
    if len(set(names)) != len(names):
        return "the path template names a parameter twice"
    return None


def _shape(path: str) -> tuple[str, ...]:
    return tuple("{}" if PARAMETER.match(s) else s for s in template_segments(path))


def _organization(
    reader: _Reader, value, path: str, line: int | None, where: str
) -> OrganizationSource | None:
    if not isinstance(value, str) or value.count(":") != 1:
        reader.problem(line, f"{where}: organization must be “path:Name”, “query:Name” or “header:Name”")
        return None
    kind, name = value.split(":")
    if kind == "path":
        if f"{{{name}}}" not in template_segments(path):
            reader.problem(
                line, f"{where}: organization names the path parameter {name}, which the path lacks"
            )
            return None
    elif kind == "query":
        if not name or not SEGMENT.match(name):
            reader.problem(line, f"{where}: “{name}” is not a query parameter name")
            return None
    elif kind == "header":
        if not HEADER_NAME.match(name):
            reader.problem(line, f"{where}: “{name}” is not a header name")
            return None
    else:
        reader.problem(line, f"{where}: organization must be found in the path, the query or a header")
        return None
    return OrganizationSource(kind, name)


def read_catalogue(text: str, *, source: str, own_permissions: frozenset[str]) -> PlatformCatalogue:
    """Return the platform catalogue in TEXT (a TOML document), or raise CatalogueError."""
    reader = _Reader(source, own_permissions)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CatalogueError([f"{source}: not valid TOML: {error}"]) from error
    reader.unknown_keys(document, TOP_KEYS, None, "the file")
    settings = document.get("catalogue", {})
    service, default_windows = DEFAULT_SERVICE, None
    if not isinstance(settings, dict):
        reader.problem(None, "[catalogue] must be a table")
    else:
        reader.unknown_keys(settings, CATALOGUE_KEYS, None, "[catalogue]")
        service = settings.get("service", DEFAULT_SERVICE)
        if not isinstance(service, str) or not service.strip() or service == "accessgov":
            reader.problem(
                None, "[catalogue]: service must name the platform's API, such as “Example RMM API”"
            )
            service = DEFAULT_SERVICE
        if "limits" in settings:
            default_windows = reader.windows(settings["limits"], None, "[catalogue]")
    permissions = _permissions(
        reader, document.get("permission", []), _header_lines(text, "permission"), service
    )
    endpoints = _endpoints(
        reader,
        document.get("endpoint", []),
        _header_lines(text, "endpoint"),
        service=service,
        permissions={p.name for p in permissions},
        default_windows=default_windows,
    )
    used = {endpoint.permission for endpoint in endpoints}
    for permission, line in zip(permissions, _header_lines(text, "permission"), strict=False):
        if permission.name not in used:
            reader.problem(
                line, f"permission {permission.name} is needed by no endpoint; remove it or use it"
            )
    if reader.problems:
        raise CatalogueError(reader.problems)
    return PlatformCatalogue(service=service, permissions=tuple(permissions), endpoints=tuple(endpoints))


def _permissions(reader: _Reader, tables, lines: list[int], service: str) -> list[Permission]:
    if not isinstance(tables, list):
        reader.problem(None, "permissions are declared as [[permission]] tables")
        return []
    found: dict[str, int | None] = {}
    permissions = []
    for index, table in enumerate(tables):
        line = lines[index] if index < len(lines) else None
        if not isinstance(table, dict):
            reader.problem(line, "each [[permission]] must be a table")
            continue
        name = table.get("name")
        where = f"permission {name}" if isinstance(name, str) else "[[permission]]"
        reader.unknown_keys(table, PERMISSION_KEYS, line, where)
        if not isinstance(name, str) or not PERMISSION_NAME.match(name):
            reader.problem(line, f"{where}: name must look like Devices.Read (a group, a dot, a verb)")
            continue
        if name in reader.own_permissions:
            reader.problem(
                line, f"{where}: {name} is one of accessgov's own permissions; choose another name"
            )
            continue
        if name in found:
            reader.problem(line, f"{where}: declared twice (also at line {found[name]})")
            continue
        found[name] = line
        group, label = table.get("group"), table.get("label")
        if not isinstance(group, str) or not group.strip() or not isinstance(label, str) or not label.strip():
            reader.problem(line, f"{where}: give it a group and a label, as the console shows them")
            continue
        permissions.append(Permission(name=name, group=group.strip(), label=label.strip(), service=service))
    return permissions


def _endpoints(reader, tables, lines, *, service, permissions, default_windows) -> list[Endpoint]:
    if not isinstance(tables, list):
        reader.problem(None, "endpoints are declared as [[endpoint]] tables")
        return []
    routes: dict[tuple[str, tuple[str, ...]], int | None] = {}
    endpoints = []
    for index, table in enumerate(tables):
        line = lines[index] if index < len(lines) else None
        if not isinstance(table, dict):
            reader.problem(line, "each [[endpoint]] must be a table")
            continue
        method, path = table.get("method"), table.get("path")
        where = f"endpoint {method} {path}"
        reader.unknown_keys(table, ENDPOINT_KEYS, line, where)
        if not isinstance(method, str) or method.upper() not in METHODS - {"HEAD"}:
            hint = (
                "HEAD is judged as GET; declare GET"
                if method == "HEAD"
                else "use GET, POST, PUT, PATCH or DELETE"
            )
            reader.problem(line, f"{where}: method {method!r}: {hint}")
            continue
        method = method.upper()
        if problem := _template_problem(path):
            reader.problem(line, f"{where}: {problem}")
            continue
        route = (method, _shape(path))
        if route in routes:
            reader.problem(
                line, f"{where}: duplicate route (the same method and path shape is at line {routes[route]})"
            )
            continue
        routes[route] = line
        permission = table.get("permission")
        if permission not in permissions:
            reader.problem(
                line, f"{where}: unknown permission {permission!r}; declare it in a [[permission]] table"
            )
            continue
        windows = default_windows
        if "limits" in table:
            windows = reader.windows(table["limits"], line, where)
            if windows is None:
                continue
        organization = None
        if "organization" in table:
            organization = _organization(reader, table["organization"], path, line, where)
            if organization is None:
                continue
        read_only = table.get("read_only", method in READ_METHODS)
        if not isinstance(read_only, bool):
            reader.problem(line, f"{where}: read_only must be true or false")
            continue
        label = table.get("label", "")
        if not isinstance(label, str):
            reader.problem(line, f"{where}: label must be text")
            continue
        endpoints.append(
            Endpoint(
                method=method,
                path=path,
                permission=permission,
                label=label.strip() or f"{method} {path}",
                read_only=read_only,
                windows=windows,
                organization=organization,
                service=service,
                line=line,
            )
        )
    return endpoints


def load_catalogue(path: str | Path, *, own_permissions: frozenset[str]) -> PlatformCatalogue:
    """Return the platform catalogue in the file PATH, or raise CatalogueError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CatalogueError([f"{path}: cannot be read ({error})"]) from error
    return read_catalogue(text, source=str(path), own_permissions=own_permissions)
