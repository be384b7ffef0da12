"""deploy/: the environment file template and the systemd units an operator copies to a server.

The nginx site is served for real in tests/ops/test_deploy_nginx.py; gunicorn.conf.py in
tests/ops/test_forwarded_https.py.
"""

import ast
import configparser
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
# Where the code lives that reads the environment on a server (tests and benchmarks set their own).
CODE = ["accessgov", "tenants", "tokens", "webhooks", "deploy", "manage.py"]
# Read by systemd (ExecStart=) or by gunicorn itself, not by our code.
READ_OUTSIDE_OUR_CODE = {"ACCESSGOV_BIND", "WEB_CONCURRENCY"}
ENV_HELPERS = {"env_bool", "env_list", "parse_tiers", "getenv"}


def _python_files() -> list[Path]:
    files = []
    for name in CODE:
        path = ROOT / name
        files += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return [path for path in files if "migrations" not in path.parts]


def _is_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def _reads_environment(func: ast.AST) -> bool:
    """Return whether a call of FUNC reads the variable named by its first argument."""
    if isinstance(func, ast.Attribute):
        return (func.attr == "get" and _is_environ(func.value)) or func.attr in ENV_HELPERS
    return isinstance(func, ast.Name) and func.id in ENV_HELPERS


def variables_read(source: str) -> set[str]:
    """Return the environment variables SOURCE reads by name (os.environ.get/[...], our env helpers)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        name = None
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            if _reads_environment(node.func):
                name = node.args[0].value
        elif (
            isinstance(node, ast.Subscript)
            and _is_environ(node.value)
            and isinstance(node.slice, ast.Constant)
        ):
            name = node.slice.value
        if isinstance(name, str):
            found.add(name)
    return found


def code_variables() -> set[str]:
    found = set()
    for path in _python_files():
        found |= variables_read(path.read_text())
    return found


def template_variables() -> set[str]:
    """Return the variables deploy/accessgov.env lists, set (NAME=...) or shown commented (# NAME=...)."""
    text = (DEPLOY / "accessgov.env").read_text()
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def test_the_scanner_finds_reads_in_every_form_the_settings_use():
    source = (
        'import os\nA = os.environ.get("ONE", "")\nB = os.environ["TWO"]\nC = env_bool("THREE")\n'
        'D = env_list(\n    "FOUR"\n)\nE = parse_tiers("FIVE", "1/1")\nF = "os.environ[\'NOT_A_READ\']"\n'
    )
    assert variables_read(source) == {"ONE", "TWO", "THREE", "FOUR", "FIVE"}


def test_the_environment_template_lists_every_variable_the_code_reads():
    read = code_variables()
    # The scan sees the settings, the client-IP rule and the gunicorn settings alike.
    assert {
        "DJANGO_SECRET_KEY",
        "ACCESSGOV_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS_ONLY",
        "ACCESSGOV_TRUSTED_PROXIES",
    } <= read
    missing = read - template_variables()
    assert not missing, f"add these to deploy/accessgov.env (and README's Configuration): {sorted(missing)}"


def test_the_environment_template_lists_nothing_that_nobody_reads():
    stale = template_variables() - code_variables() - READ_OUTSIDE_OUR_CODE
    assert not stale, f"deploy/accessgov.env lists variables nothing reads: {sorted(stale)}"


def test_the_template_sets_what_the_settings_require_without_debug():
    text = (DEPLOY / "accessgov.env").read_text()
    for name in ("DJANGO_SECRET_KEY", "ACCESSGOV_KEY_PEPPER", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"):
        assert re.search(rf"^{name}=\S", text, flags=re.MULTILINE), name
    assert not re.search(r"^DJANGO_DEBUG=", text, flags=re.MULTILINE)


def read_unit(path: Path) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    unit.optionxform = str  # keys are case-sensitive in systemd
    unit.read_string(path.read_text())
    return unit


def unit_files() -> list[Path]:
    return sorted(UNITS.glob("*.service")) + sorted(UNITS.glob("*.timer"))


def management_command(exec_start: str) -> list[str] | None:
    """Return the manage.py arguments of EXEC_START, or None when it does not run manage.py."""
    words = shlex.split(exec_start)
    if "manage.py" not in words:
        return None
    return words[words.index("manage.py") + 1 :]


def test_every_service_runs_the_checkout_with_the_environment_file():
    services = sorted(UNITS.glob("*.service"))
    assert {path.name for path in services} >= {"accessgov.service", "accessgov-webhooks.service"}
    for path in services:
        service = read_unit(path)["Service"]
        assert service["WorkingDirectory"] == "/srv/accessgov", path.name
        assert service["EnvironmentFile"] == "/etc/accessgov/accessgov.env", path.name
        assert service["User"] == "accessgov", path.name
        assert service["ExecStart"].startswith("/srv/accessgov/.venv/bin/"), path.name
    app = read_unit(UNITS / "accessgov.service")["Service"]["ExecStart"]
    assert "-c /srv/accessgov/deploy/gunicorn.conf.py accessgov.wsgi" in app
    webhooks = read_unit(UNITS / "accessgov-webhooks.service")["Service"]
    assert management_command(webhooks["ExecStart"]) == ["deliver_webhooks"]
    assert webhooks["Restart"] == "always"


def test_every_timer_starts_a_service_that_exists():
    timers = sorted(UNITS.glob("*.timer"))
    assert timers
    for timer in timers:
        assert read_unit(timer)["Timer"]["OnCalendar"]
        assert timer.with_suffix(".service").exists(), f"{timer.name} has no {timer.stem}.service"
        assert read_unit(timer.with_suffix(".service"))["Service"]["Type"] == "oneshot"


def readme_cron_commands() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("### Cron", 1)[1].split("```cron", 1)[1].split("```", 1)[0]
    return set(re.findall(r"manage\.py (\w+)", block))


def test_every_scheduled_command_has_a_timer_or_the_worker_service():
    scheduled = readme_cron_commands()
    assert {"purge_revoked", "deliver_webhooks", "cleartokens"} <= scheduled
    covered = set()
    for timer in UNITS.glob("*.timer"):
        command = management_command(read_unit(timer.with_suffix(".service"))["Service"]["ExecStart"])
        covered.add(command[0])
    covered.add("deliver_webhooks")  # accessgov-webhooks.service, checked above
    assert scheduled <= covered, f"no systemd timer for {sorted(scheduled - covered)} (deploy/systemd/)"


def test_every_management_command_the_units_run_exists():
    env = {**os.environ, "DJANGO_DEBUG": "1", "DJANGO_SETTINGS_MODULE": "accessgov.settings"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    for path in sorted(UNITS.glob("*.service")):
        command = management_command(read_unit(path)["Service"]["ExecStart"])
        if command is None:
            continue
        result = subprocess.run(
            [sys.executable, "manage.py", *command, "--help"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"{path.name}: manage.py {' '.join(command)}: {result.stderr}"


def test_systemd_analyze_verify_accepts_every_unit(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed; the units are parsed by the tests above")
    # The units name the server's paths: point them at this checkout, its virtualenv and the template.
    replacements = {
        "/srv/accessgov/.venv": sys.prefix,
        "/srv/accessgov": str(ROOT),
        "/etc/accessgov/accessgov.env": str(DEPLOY / "accessgov.env"),
    }
    for path in unit_files():
        text = path.read_text()
        for old, new in replacements.items():
            text = text.replace(old, new)
        (tmp_path / path.name).write_text(text)
    result = subprocess.run(
        [analyze, "verify", "--man=no", *sorted(str(path) for path in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is not executable" not in result.stderr
