"""docs/sso.md and README name exactly the ACCESSGOV_OIDC_* variables settings.py reads."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VARIABLE = re.compile(r"ACCESSGOV_OIDC_[A-Z_]+")


def test_every_sso_variable_is_documented_and_every_documented_one_is_read():
    read = set(VARIABLE.findall((ROOT / "accessgov/settings.py").read_text()))
    assert read == set(VARIABLE.findall((ROOT / "docs/sso.md").read_text()))
    assert read == set(VARIABLE.findall((ROOT / "README.md").read_text()))
