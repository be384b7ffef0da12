"""Helpers of the MFA tests: a user's authenticator and its current code."""

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice


def code_for(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """Return the six digits DEVICE shows now (or STEPS_AHEAD periods later)."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0 - steps_ahead * device.step, digits=device.digits):06d}"


@pytest.fixture
def authenticator(admin_user) -> TOTPDevice:
    """Return a confirmed authenticator of acme-admin."""
    return TOTPDevice.objects.create(user=admin_user, name="Authenticator app", confirmed=True)
