"""uv.lock: every package pinned with hashes, and a pyproject.toml the lock disagrees with is caught.

bin/bootstrap runs `uv lock --check` before `uv sync --locked`, so `make test` and `.ci/run` stop
there when someone edits the dependencies without `make lock`.
"""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def find_uv() -> str:
    """Return bin/bootstrap's uv (or one on PATH); skip without it, but fail in CI, which installs it."""
    for candidate in (ROOT / ".tools" / "uv" / "bin" / "uv", shutil.which("uv")):
        if candidate and os.access(candidate, os.X_OK):
            return str(candidate)
    if os.environ.get("CI") == "true":
        pytest.fail("bin/bootstrap installs uv into .tools/uv: it is missing")
    pytest.skip("uv is not installed here (bin/bootstrap installs it into .tools/uv)")


def test_every_locked_package_is_pinned_with_hashes():
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    packages = [package for package in lock["package"] if package["name"] != "accessgov"]
    assert len(packages) > 50
    for package in packages:
        files = package.get("wheels", []) + ([package["sdist"]] if "sdist" in package else [])
        assert files, package["name"]
        assert all(file["hash"].startswith("sha256:") for file in files), package["name"]
        assert package["source"] == {"registry": "https://pypi.org/simple"}, package["name"]


def test_the_lock_holds_the_runtime_and_the_dev_set():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked = {package["name"] for package in tomllib.loads((ROOT / "uv.lock").read_text())["package"]}
    wanted = project["dependencies"] + project["optional-dependencies"]["dev"]
    names = {
        requirement.split(";")[0].split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip().lower()
        for requirement in wanted
    }
    assert names <= locked


def _check(uv: str, directory: Path) -> subprocess.CompletedProcess:
    # Offline, with an empty cache: the check must come from the two files alone.
    env = {**os.environ, "UV_CACHE_DIR": str(directory / "cache"), "UV_PYTHON_DOWNLOADS": "never"}
    return subprocess.run(
        [uv, "lock", "--check", "--offline", "--python", sys.executable],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_uv_lock_check_passes_on_the_project_and_fails_when_pyproject_moves_on(tmp_path):
    uv = find_uv()
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy(ROOT / name, tmp_path / name)
    agreed = _check(uv, tmp_path)
    assert agreed.returncode == 0, agreed.stderr
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('"gunicorn>=23",', '"gunicorn>=23",\n    "six>=1.16",')
    )
    assert "six>=1.16" in pyproject.read_text()
    disagreed = _check(uv, tmp_path)
    assert disagreed.returncode != 0
