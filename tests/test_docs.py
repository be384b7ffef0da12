"""README.md and docs/*.md say only what the product accepts.

Every code sample (fenced blocks) and every inline `code` span of the prose is walked for:
- configuration variables (UPPER_CASE names with an underscore): a name offered as configuration
  (a table's first column, `NAME=value`, or an `ACCESSGOV_`/`DJANGO_` name) must be read from the
  environment: a string literal "NAME" in accessgov/settings.py, an os.environ / os.getenv / env_*()
  read in the code, or a variable of the Makefile or bin/bootstrap; a `PREFIX_*` wildcard needs at
  least one such name. Any other name may also be a constant of the code (`NAME = ...`) or a Django
  setting. Names a sample defines for itself (`NAME = ...` in Python, `os.environ["NAME"]`, `$NAME`
  in shell) are the sample's own and are skipped, as is ALLOWED_NAMES below.
- console and API paths (`/t/<tenant>/settings/api/tokens/`, `http://127.0.0.1:8000/api/v1/Me`):
  each resolves in the URLconf (placeholders filled in, the query dropped); a path ending in `/`
  may be a prefix of routes. NOT_ROUTES lists the few path-like spans that are not accessgov's.
- `manage.py X --option`: `manage.py X --help` works and names each option used.
- `make X` (and `make X VAR=value`): the Makefile has the target (and reads the variable).

The parser is general on purpose: what other changes add to README and docs is walked too.
test_the_walk_reports_what_the_product_does_not_accept shows that each check can fail.
"""

import contextlib
import io
import re
from functools import cache
from pathlib import Path

import pytest
from django.core.management import ManagementUtility
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Names in the docs that are not configuration, and why.
ALLOWED_NAMES = {
    # Placeholders for credentials the reader pastes into a sample.
    "TOKEN_ID": "a third-party token's ID",
    "TOKEN_SECRET": "a third-party token's secret",
    "API_KEY": "an API key",
    "CLIENT_ID": "a trusted application's OAuth client ID",
    "CLIENT_SECRET": "a trusted application's OAuth client secret",
    "ACCESS_TOKEN": "an OAuth access token",
    # Words of other systems that the docs name.
    "REMOTE_ADDR": "the WSGI request variable holding the peer's address",
    "DB_CASCADE": "Django's database-level on_delete option",
    "DB_SET_NULL": "Django's database-level on_delete option",
    "OPERATOR_KEY_ELSEWHERE": "a Refusal member (accessgov/core/credentials.py), named in docs/architecture.md",
    "OPERATOR_KEY_REQUIRED": "a Refusal member (accessgov/core/credentials.py), named in docs/architecture.md",
    "PIP_CACHE_DIR": "pip's own cache variable (README's install timings)",
    "UV_CACHE_DIR": "uv's own cache variable (README's install timings)",
    "WEB_CONCURRENCY": "gunicorn reads it itself (deploy/accessgov.env)",
}
# Path-like spans in the docs that are not accessgov routes, and why.
NOT_ROUTES = {
    "/": "a character in a list of refused characters",
    "//": "an ambiguous path spelling the docs say is refused",
    "/X": "a path spelling in the attack catalogue",
    "/healthz": "the bare baseline view of bench/'s own URLconf, never served by the product",
    "/gateway/v1/decide/v1/devices/42": "what older Envoy sends (the docs say why it is not supported)",
    "/path/to/python3.12": "a placeholder for the reader's own Python",
    "/.well-known/openid-configuration": "the end of an OpenID Connect provider's discovery URL (docs/sso.md)",
}
# Paths under these are the platform's own API (catalogue templates), not accessgov's routes.
PLATFORM_PREFIXES = ("/v1/",)
FILESYSTEM_ROOTS = {"etc", "proc", "srv", "usr", "var", "tmp", "opt", "run", "dev", "home", "sys"}
FILE_SUFFIXES = (".py", ".html", ".toml", ".conf", ".pem", ".md", ".png", ".service", ".sh", ".stat")
# Hosts whose paths are accessgov's: the demo, the docs' example deployment, "…" for any.
OUR_HOSTS = {"127.0.0.1", "127.0.0.1:8000", "localhost", "localhost:8000", "accessgov.example.com", "…"}

FENCE = re.compile(r"^(```|~~~)[^\n]*\n(.*?)^\1[ \t]*$", re.S | re.M)
CODE_SPAN = re.compile(r"(?<!`)`([^`]+)`(?!`)")
NAME = re.compile(r"(?<![\w$])\$?\{?([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?![\w*])")
WILDCARD = re.compile(r"(?<![\w$])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_)\*")
ASSIGNED = re.compile(r"(?<![\w.$-])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)=")
PY_ASSIGNED = re.compile(r"^\s*((?:[A-Z][A-Z0-9_]*\s*,\s*)*[A-Z][A-Z0-9_]*)\s+=(?!=)", re.M)
SAMPLE_ENV = re.compile(r"environ(?:\.get)?\s*[\[(]\s*[\"']([A-Z][A-Z0-9_]+)[\"']")
SHELL_VAR = re.compile(r"\$\{?([A-Z][A-Z0-9_]+)")
URL = re.compile(r"https?://([^/\s`'\"<>)]+)(/[^\s`'\"<>)]*)?")
PATH = re.compile(r"(?<![\w.:/~$>}*\-])(/[A-Za-z0-9_<>{}…%.:\-/?=&]*)")
MANAGE = re.compile(r"manage\.py\s+([a-z_]+)([^\n`|;&]*)")
MAKE = re.compile(r"(?<![\w-])make\s+([a-z][a-z-]*)((?:\s+[A-Z][A-Z0-9_]*=\S*)*)")
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z-]*)")


def samples(text: str) -> list[str]:
    """Return the fenced code blocks of TEXT and the inline code spans of its prose."""
    blocks = [match.group(2) for match in FENCE.finditer(text)]
    return blocks + CODE_SPAN.findall(FENCE.sub("", text))


def table_first_cells(text: str) -> set[str]:
    """Return the names in the first column of TEXT's tables (the settings tables)."""
    names = set()
    for line in FENCE.sub("", text).splitlines():
        if line.startswith("|") and not set(line) <= set("|-: "):
            first = line.split("|")[1]
            names |= {match.group(1) for match in NAME.finditer(first)}
            names |= {match.group(1) + "*" for match in WILDCARD.finditer(first)}
    return names


# What the product reads ---------------------------------------------------------------------


def _product_files() -> list[Path]:
    files = [
        path
        for folder in ("accessgov", "tokens", "webhooks", "tenants", "bench", "deploy", "tests")
        for path in (ROOT / folder).rglob("*.py")
    ]
    # This file names made-up settings on purpose.
    return [path for path in files if path.resolve() != Path(__file__).resolve()]


@cache
def environment_reads() -> frozenset[str]:
    """Return every environment variable the product reads."""
    names = set(re.findall(r"[\"']([A-Z][A-Z0-9_]+)[\"']", (ROOT / "accessgov" / "settings.py").read_text()))
    read = re.compile(
        r"(?:environ\.get\s*\(|environ\s*\[|getenv\s*\(|\benv_[a-z]+\s*\(|parse_tiers\s*\()\s*[\"']([A-Z][A-Z0-9_]+)[\"']"
    )
    for path in _product_files():
        names |= set(read.findall(path.read_text()))
    for path in (ROOT / "Makefile", ROOT / "bin" / "bootstrap"):
        text = path.read_text()
        names |= set(re.findall(r"\$[({]?([A-Z][A-Z0-9_]+)", text))
        names |= set(re.findall(r"^(?:export\s+)?([A-Z][A-Z0-9_]+)\s*[?:]?=", text, re.M))
    return frozenset(names)


@cache
def code_constants() -> frozenset[str]:
    """Return the module-level UPPER_CASE names the product's code defines."""
    names = set()
    for path in _product_files():
        if "tests" not in path.relative_to(ROOT).parts:
            names |= set(re.findall(r"^([A-Z][A-Z0-9_]+)\s*(?::[^=\n]+)?=", path.read_text(), re.M))
    return frozenset(names)


@cache
def routes() -> tuple[str, ...]:
    """Return every route of the URLconf as a path string (converters kept as written)."""
    found = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            text = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, text)
            elif isinstance(pattern, URLPattern):
                found.append("/" + text)

    walk(get_resolver().url_patterns, "")
    return tuple(found)


@cache
def command_help(command: str) -> str | None:
    """Return what `manage.py COMMAND --help` prints, or None when it fails."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            ManagementUtility(["manage.py", command, "--help"]).execute()
        except SystemExit as exit:
            if exit.code not in (0, None):
                return None
    return out.getvalue() or None


@cache
def make_targets() -> frozenset[str]:
    """Return the targets the Makefile defines."""
    return frozenset(re.findall(r"^([a-z][a-z-]*)\s*:(?!=)", (ROOT / "Makefile").read_text(), re.M))


# The checks ---------------------------------------------------------------------------------


def _sample_locals(text: str) -> set[str]:
    """Return the names the doc's samples define for themselves (variables, their own inputs)."""
    names = set()
    for block in (match.group(2) for match in FENCE.finditer(text)):
        for match in PY_ASSIGNED.finditer(block):
            names |= {name.strip() for name in match.group(1).split(",")}
    for chunk in samples(text):
        names |= set(SAMPLE_ENV.findall(chunk)) | set(SHELL_VAR.findall(chunk))
    return names


def name_problems(text: str) -> list[str]:
    """Return the configuration variables TEXT names that the product does not read."""
    chunks = samples(text)
    offered = table_first_cells(text)
    named, wildcards = set(), set()
    for chunk in chunks:
        offered |= set(ASSIGNED.findall(chunk))
        named |= {match.group(1) for match in NAME.finditer(chunk)}
        wildcards |= set(WILDCARD.findall(chunk))
    local = _sample_locals(text)
    reads = environment_reads()
    problems = []
    for name in sorted(named - local - set(ALLOWED_NAMES)):
        must_be_read = name in offered or name.startswith(("ACCESSGOV_", "DJANGO_"))
        if name in reads or (not must_be_read and name in code_constants()):
            continue
        problems.append(f"setting {name} is not read by the product")
    for prefix in sorted(wildcards):
        if not any(read.startswith(prefix) for read in reads):
            problems.append(f"no setting named {prefix}* is read by the product")
    return problems


def _doc_paths(text: str) -> set[str]:
    paths = set()
    for chunk in samples(text):
        for match in URL.finditer(chunk):
            if match.group(1) in OUR_HOSTS:
                paths.add(match.group(2) or "/")
        for match in PATH.finditer(URL.sub(" ", chunk)):
            paths.add(match.group(1))
    return paths


def _is_route_like(path: str) -> bool:
    segments = [segment for segment in path.split("?")[0].split("/") if segment]
    if path in NOT_ROUTES or path.startswith(PLATFORM_PREFIXES):
        return False
    if segments and segments[0] in FILESYSTEM_ROOTS:
        return False
    return not path.split("?")[0].endswith(FILE_SUFFIXES)


def _fill(path: str) -> str:
    path = path.split("?")[0].split("#")[0]
    path = re.sub(r"<(tenant|slug)>", "demo", path)
    return re.sub(r"<[^>]+>|\{[^}]+\}|…", "1", path)


def path_problems(text: str) -> list[str]:
    """Return the console and API paths TEXT names that do not resolve."""
    problems = []
    for path in sorted(_doc_paths(text)):
        if not _is_route_like(path):
            continue
        concrete = _fill(path)
        try:
            resolve(concrete)
            continue
        except Resolver404:
            pass
        if concrete.endswith("/") and any(route.startswith(concrete) for route in routes()):
            continue  # a prefix of routes, such as /api/v1/
        problems.append(f"path {path} does not resolve")
    return problems


def command_problems(text: str) -> list[str]:
    """Return the `manage.py` commands (and their options) and `make` targets TEXT names that do not work."""
    problems = []
    for chunk in samples(text):
        for command, rest in MANAGE.findall(chunk):
            help_text = command_help(command)
            if help_text is None:
                problems.append(f"manage.py {command} --help fails")
                continue
            problems += [
                f"manage.py {command} has no option {option}"
                for option in OPTION.findall(rest)
                if option not in help_text
            ]
        for target, assignments in MAKE.findall(chunk):
            if target not in make_targets():
                problems.append(f"make {target}: the Makefile has no such target")
            for variable in re.findall(r"([A-Z][A-Z0-9_]*)=", assignments):
                if variable not in environment_reads():
                    problems.append(f"make {target} {variable}=: the Makefile does not read {variable}")
    return problems


def doc_problems(text: str) -> list[str]:
    """Return everything TEXT names that the product does not accept."""
    return name_problems(text) + path_problems(text) + command_problems(text)


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_sample_and_setting_the_doc_names_is_accepted_by_the_product(doc):
    assert doc_problems(doc.read_text()) == []


def test_the_walk_reports_what_the_product_does_not_accept():
    made_up = """
| variable | meaning |
| --- | --- |
| `ACCESSGOV_NO_SUCH_SETTING` | made up |
| `DATABASE_URL` | real |

Set `ACCESSGOV_NOPE_*` or `LOG_LEVEL`; open `/t/<tenant>/settings/api/no-such-tab/` or
`/t/<tenant>/settings/api/tokens/`, or `http://127.0.0.1:8000/api/v1/Me`.

```sh
NOT_A_SETTING=1 .venv/bin/python manage.py no_such_command
.venv/bin/python manage.py deliver_webhooks --once --no-such-option
make no-such-target
make run NO_SUCH_VARIABLE=1
curl https://accessgov.example.com/no/such/page
```
"""
    assert sorted(doc_problems(made_up)) == sorted(
        [
            "setting ACCESSGOV_NO_SUCH_SETTING is not read by the product",
            "setting NOT_A_SETTING is not read by the product",
            "no setting named ACCESSGOV_NOPE_* is read by the product",
            "path /t/<tenant>/settings/api/no-such-tab/ does not resolve",
            "path /no/such/page does not resolve",
            "manage.py no_such_command --help fails",
            "manage.py deliver_webhooks has no option --no-such-option",
            "make no-such-target: the Makefile has no such target",
            "make run NO_SUCH_VARIABLE=: the Makefile does not read NO_SUCH_VARIABLE",
            "setting NO_SUCH_VARIABLE is not read by the product",
        ]
    )
