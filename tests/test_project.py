"""Project-wide behaviour: configuration guards, security headers, the demo seed."""

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from tenants.models import Membership, Organization, Tenant

ROOT = Path(__file__).resolve().parent.parent


def run_check(**env: str) -> subprocess.CompletedProcess:
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "ACCESSGOV_", "SECURE_"))
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_debug_it_refuses_to_start_without_a_secret_key_or_pepper():
    missing_both = run_check()
    assert missing_both.returncode != 0
    assert "DJANGO_SECRET_KEY and ACCESSGOV_KEY_PEPPER must be set" in missing_both.stderr
    missing_pepper = run_check(DJANGO_SECRET_KEY="x" * 50)
    assert missing_pepper.returncode != 0
    started = run_check(DJANGO_SECRET_KEY="x" * 50, ACCESSGOV_KEY_PEPPER="y" * 50)
    assert started.returncode == 0, started.stderr


def test_the_deploy_check_passes_with_the_documented_production_settings():
    """Attack catalogue cases 48 and 50: the deploy check is clean with production settings."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ACCESSGOV_", "SECURE_"))},
            "DJANGO_SECRET_KEY": "a-long-random-production-secret-key-with-enough-entropy-0123456789",
            "ACCESSGOV_KEY_PEPPER": "a-long-random-pepper-0123456789",
            "ALLOWED_HOSTS": "accessgov.example.com",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_every_page_forbids_framing_and_sets_a_content_security_policy(client):
    """Attack catalogue case 40: no page can be framed."""
    response = client.get("/accounts/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_a_foreign_host_header_is_refused(client):
    """Attack catalogue case 43: a foreign Host header gets 400."""
    assert client.get("/accounts/login/", HTTP_HOST="evil.com").status_code == 400


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_resets_passwords_when_asked(capsys):
    call_command("seed_demo", admin_password="first-password-123")
    call_command("seed_demo")
    from accessgov.trusted.models import TrustedApplication

    assert TrustedApplication.objects.filter(name="Demo PSA", is_enabled=True).count() == 1
    assert "Password for the new demo users" not in capsys.readouterr().out
    assert Tenant.objects.count() == 2
    demo = Tenant.objects.get(slug="demo")
    assert demo.name == "Demo Partner"
    assert set(Organization.objects.for_tenant(demo).values_list("name", flat=True)) == {
        "Contoso",
        "Fabrikam",
    }
    roles = {
        (m.user.username, m.tenant.slug, m.role) for m in Membership.objects.select_related("user", "tenant")
    }
    assert roles == {
        ("demo-admin", "demo", "administrator"),
        ("demo-tech", "demo", "technician"),
        ("other-admin", "other", "administrator"),
    }
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.get(username="demo-admin")
    assert admin.check_password("first-password-123")
    call_command("seed_demo", admin_password="second-password-456")
    admin.refresh_from_db()
    assert admin.check_password("second-password-456")


@pytest.mark.django_db
def test_seed_demo_prints_a_random_password_for_new_users(capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "Created user demo-admin" in out
    password = out.split("Password for the new demo users: ")[1].split()[0]
    from django.contrib.auth import get_user_model

    assert get_user_model().objects.get(username="demo-tech").check_password(password)


@pytest.mark.parametrize(
    "old_peppers",
    ["1:older-pepper", "2:older-pepper,2:oldest-pepper"],
    ids=["the-current-id", "twice-in-the-list"],
)
def test_a_reused_pepper_id_refuses_to_start(old_peppers):
    base = {"DJANGO_SECRET_KEY": "x" * 50, "ACCESSGOV_KEY_PEPPER": "y" * 50, "ACCESSGOV_KEY_PEPPER_ID": "1"}
    refused = run_check(**base, ACCESSGOV_OLD_KEY_PEPPERS=old_peppers)
    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr
    assert "reuses pepper ID" in refused.stderr
    started = run_check(**base, ACCESSGOV_OLD_KEY_PEPPERS="2:older-pepper,3:oldest-pepper")
    assert started.returncode == 0, started.stderr


@pytest.mark.django_db
def test_seed_demo_requires_mfa_of_demo_administrators_and_prints_demo_admins_key_once(capsys):
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    call_command("seed_demo")
    out = capsys.readouterr().out
    key = out.split("  key ")[1].split()[0]
    device = TOTPDevice.objects.get(user__username="demo-admin", confirmed=True)
    assert base64.b32decode(key) == device.bin_key
    assert f"otpauth://totp/accessgov%3Ademo-admin?secret={key}" in out
    assert Tenant.objects.get(slug="demo").administrators_must_use_mfa is True
    assert totp(base64.b32decode(key)) == totp(device.bin_key)
    call_command("seed_demo")
    assert key not in capsys.readouterr().out
    assert TOTPDevice.objects.filter(user__username="demo-admin").count() == 1


@pytest.mark.django_db
def test_seed_demo_makes_a_support_user_with_an_authenticator_and_prints_the_client_secret_once(capsys):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import check_password
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from oauth2_provider.models import Application

    call_command("seed_demo", admin_password="first-password-123")
    out = capsys.readouterr().out
    support = get_user_model().objects.get(username="demo-support")
    assert support.is_staff and support.check_password("first-password-123")
    key = out.split("Authenticator of demo-support")[1].split("  key ")[1].split()[0]
    assert base64.b32decode(key) == TOTPDevice.objects.get(user=support, confirmed=True).bin_key
    client_id = out.split("client ID ")[1].split()[0]
    secret = out.split("client secret ")[1].split()[0]
    application = Application.objects.get(client_id=client_id)
    assert application.client_secret != secret and check_password(secret, application.client_secret)

    # Again: nothing secret is printed, and the secret printed first still works.
    call_command("seed_demo")
    again = capsys.readouterr().out
    assert secret not in again and key not in again and f"client ID {client_id}" in again
    assert "printed when it was made" in again and "--new-client-secret" in again
    application.refresh_from_db()
    assert check_password(secret, application.client_secret)

    # Asked for: a new secret, printed once; the old one stops.
    call_command("seed_demo", new_client_secret=True)
    fresh = capsys.readouterr().out.split("client secret ")[1].split()[0]
    application.refresh_from_db()
    assert fresh != secret and check_password(fresh, application.client_secret)
    assert not check_password(secret, application.client_secret)
    assert Application.objects.count() == 1
