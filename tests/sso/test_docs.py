"""The SSO settings: documented exactly as settings.py reads them, and refused at startup when wrong."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_project import run_check

ROOT = Path(__file__).resolve().parents[2]
BASE = {"DJANGO_SECRET_KEY": "x" * 50, "ACCESSGOV_KEY_PEPPER": "y" * 50}
CLIENT = {"ACCESSGOV_OIDC_CLIENT_ID": "console", "ACCESSGOV_OIDC_CLIENT_SECRET": "s" * 20}


def clean_environment() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ACCESSGOV_", "SECURE_"))}


VARIABLE = re.compile(r"ACCESSGOV_OIDC_[A-Z_]+")


def test_every_sso_variable_is_documented_and_every_documented_one_is_read():
    read = set(VARIABLE.findall((ROOT / "accessgov/settings.py").read_text()))
    assert read == set(VARIABLE.findall((ROOT / "docs/sso.md").read_text()))
    assert read == set(VARIABLE.findall((ROOT / "README.md").read_text()))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"ACCESSGOV_OIDC_DISCOVERY_URL": "https://idp.example.com/.well-known/openid-configuration"},
            "needs ACCESSGOV_OIDC_CLIENT_ID",
        ),
        (
            {
                **CLIENT,
                "ACCESSGOV_OIDC_DISCOVERY_URL": "http://idp.example.com/.well-known/openid-configuration",
            },
            "must be an https:// URL",
        ),
        ({**CLIENT, "ACCESSGOV_OIDC_USER_CLAIM": "preferred_username"}, "is email or sub"),
    ],
    ids=["no-client", "plain-http", "unknown-user-claim"],
)
def test_a_misconfigured_provider_refuses_to_start(env, message):
    refused = run_check(**BASE, **env)
    assert refused.returncode != 0 and message in refused.stderr


def test_the_sign_in_page_may_send_the_browser_to_the_providers_origin():
    env = {
        **BASE,
        **CLIENT,
        "ACCESSGOV_OIDC_DISCOVERY_URL": "https://login.example.com/t/v2.0/.well-known/openid-configuration",
    }
    started = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; print(' '.join(settings.SECURE_CSP['form-action']))",
        ],
        cwd=ROOT,
        env={**clean_environment(), **env, "DJANGO_SETTINGS_MODULE": "accessgov.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.stdout.strip() == "'self' https://login.example.com", started.stderr
