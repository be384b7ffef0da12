"""Second-factor workflows: enrol an authenticator or a passkey, sign in with either, remove them.

Each one changes devices or the session and writes an audit event (tenant None: a person's factor
belongs to them, not to one of their tenants; the actor is the person).
"""

import django_otp
from django.contrib import auth
from django.db import transaction
from django.http import HttpRequest
from django_otp import DEVICE_ID_SESSION_KEY, devices_for_user
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.exceptions import OTPWebAuthnApiError
from django_otp_webauthn.models import WebAuthnCredential
from django_otp_webauthn.utils import rewrite_exceptions

from accessgov.audit.actions import record_event
from accessgov.audit.models import Action
from accessgov.core.clientip import get_client_ip
from accessgov.mfa import recovery

TOTP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


def has_authenticator(user) -> bool:
    """Return whether USER has a confirmed authenticator app."""
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()


def passkeys_of(user):
    """Return USER's confirmed passkeys, oldest first."""
    return WebAuthnCredential.objects.devices_for_user(user, confirmed=True).order_by("created_at", "pk")


def has_confirmed_factor(user) -> bool:
    """Return whether USER has a confirmed second factor (an authenticator app or a passkey)."""
    return has_authenticator(user) or passkeys_of(user).exists()


def recovery_codes_left(user) -> int:
    """Return how many unused recovery codes USER has."""
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@transaction.atomic
def start_totp_enrolment(*, request: HttpRequest) -> TOTPDevice:
    """Create an unconfirmed authenticator for the signed-in user (dropping earlier unconfirmed ones)."""
    user = request.user
    TOTPDevice.objects.devices_for_user(user, confirmed=False).delete()
    device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    record_event(
        tenant=None, actor=user, action=Action.MFA_TOTP_STARTED, target=device, ip=get_client_ip(request)
    )
    return device


def _replace_recovery_codes(user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [recovery.generate_code() for _ in range(recovery.CODE_COUNT)]
    StaticToken.objects.bulk_create(
        StaticToken(device=device, token=recovery.stored_token(code)) for code in codes
    )
    return codes


@transaction.atomic
def confirm_totp_device(*, request: HttpRequest, device_id: int, code: str) -> list[str] | None:
    """Confirm the user's pending authenticator with CODE; return new recovery codes, or None.

    A confirmed authenticator replaces any earlier one, the user gets ten new recovery codes (the
    only time they are shown) and this session counts as verified from now on.
    """
    user = request.user
    device = (
        TOTPDevice.objects.devices_for_user(user, confirmed=False)
        .select_for_update()
        .filter(pk=device_id)
        .first()
    )
    if device is None or not device.verify_token(code.strip()):
        return None
    TOTPDevice.objects.devices_for_user(user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _replace_recovery_codes(user)
    django_otp.login(request, device)
    record_event(
        tenant=None,
        actor=user,
        action=Action.MFA_TOTP_ADDED,
        target=device,
        details={"recovery_codes": len(codes)},
        ip=get_client_ip(request),
    )
    return codes


@transaction.atomic
def make_recovery_codes(*, request: HttpRequest) -> list[str] | None:
    """Give the signed-in user ten recovery codes if they have a second factor and none left.

    For people whose factors are passkeys only (an authenticator app brings its own codes): they
    need a way back in too when they lose their passkeys. Only a session verified by a second
    factor may, and never while codes are left (replacing them would let a session taken over
    for a moment lock the owner's own codes out). Return the codes (shown once), or None.
    """
    user = request.user
    list(auth.get_user_model()._default_manager.select_for_update().filter(pk=user.pk))  # one at a time
    if not user.is_verified() or not has_confirmed_factor(user) or recovery_codes_left(user):
        return None
    codes = _replace_recovery_codes(user)
    record_event(
        tenant=None,
        actor=user,
        action=Action.MFA_RECOVERY_CODES_MADE,
        target=user,
        details={"recovery_codes": len(codes)},
        ip=get_client_ip(request),
    )
    return codes


def match_code(user, code: str) -> Device | None:
    """Return USER's device that accepts CODE (an authenticator's code or an unused recovery code).

    A matching recovery code is used up; an authenticator's code is refused if it (or a later
    one) was accepted before, so a code seen over a shoulder cannot be replayed.
    """
    if recovery.looks_like_recovery_code(code):
        stored = recovery.stored_token(code)
        for device in StaticDevice.objects.devices_for_user(user, confirmed=True).select_for_update():
            if device.verify_token(stored):
                return device
        return None
    for device in TOTPDevice.objects.devices_for_user(user, confirmed=True).select_for_update():
        if device.verify_token(code.strip()):
            return device
    return None


def _record_failure(*, user, request: HttpRequest, step: str) -> None:
    record_event(
        tenant=None,
        actor=user,
        action=Action.MFA_FAILED,
        target=user,
        details={"step": step},
        ip=get_client_ip(request),
    )


@transaction.atomic
def complete_sign_in(*, request: HttpRequest, user, backend: str, code: str) -> Device | None:
    """Sign USER in if CODE is one of their second factors; return the device that accepted it."""
    device = match_code(user, code)
    if device is None:
        _record_failure(user=user, request=request, step="sign-in")
        return None
    auth.login(request, user, backend=backend)
    django_otp.login(request, device)
    if isinstance(device, StaticDevice):
        action, details = Action.MFA_RECOVERY_CODE_USED, {"recovery_codes_left": device.token_set.count()}
    else:
        action, details = Action.MFA_VERIFIED, {"factor": "totp"}
    record_event(
        tenant=None, actor=user, action=action, target=device, details=details, ip=get_client_ip(request)
    )
    return device


@transaction.atomic
def add_passkey(*, request: HttpRequest, state: dict, data: dict) -> WebAuthnCredential:
    """Register the passkey the browser created for the signed-in user (STATE: the challenge issued).

    Raises django-otp-webauthn's OTPWebAuthnApiError when the browser's answer does not verify. A
    first factor makes this session verified, as a confirmed authenticator app does.
    """
    user = request.user
    helper = WebAuthnCredential.get_webauthn_helper(request=request)
    with rewrite_exceptions():
        device = helper.register_complete(user=user, state=state, data=data)
    if not user.is_verified():
        django_otp.login(request, device)
    record_event(
        tenant=None,
        actor=user,
        action=Action.MFA_PASSKEY_ADDED,
        target=device,
        details={"name": device.name},
        ip=get_client_ip(request),
    )
    return device


@transaction.atomic
def complete_passkey_sign_in(
    *, request: HttpRequest, user, backend: str, state: dict, data: dict
) -> WebAuthnCredential | None:
    """Sign USER in if DATA is a valid assertion of one of their passkeys for the challenge in STATE."""
    helper = WebAuthnCredential.get_webauthn_helper(request=request)
    try:
        with rewrite_exceptions():
            # Checks the signature, challenge, origin, RP ID and signature counter, and that the
            # passkey belongs to USER (a passkey of someone else is refused).
            device = helper.authenticate_complete(user=user, state=state, data=data)
    except OTPWebAuthnApiError:
        device = None
    if device is None or not device.confirmed:
        _record_failure(user=user, request=request, step="passkey")
        return None
    auth.login(request, user, backend=backend)
    django_otp.login(request, device)
    record_event(
        tenant=None,
        actor=user,
        action=Action.MFA_VERIFIED,
        target=device,
        details={"factor": "passkey"},
        ip=get_client_ip(request),
    )
    return device


@transaction.atomic
def remove_passkey(*, request: HttpRequest, passkey_id: int) -> bool:
    """Remove one of the signed-in user's passkeys; only a session verified by a second factor may."""
    user = request.user
    if not user.is_verified():
        return False
    device = passkeys_of(user).select_for_update().filter(pk=passkey_id).first()
    if device is None:
        return False
    device.delete()
    details = {"devices": [str(device)], "factor": "passkey"}
    if not has_confirmed_factor(user):
        # Recovery codes stand in for a lost factor; with none left they would guard nothing.
        removed = StaticDevice.objects.filter(user=user).delete()[1].get(StaticToken._meta.label, 0)
        if removed:
            details["recovery_codes_removed"] = removed
    record_event(
        tenant=None,
        actor=user,
        action=Action.MFA_REMOVED,
        target=user,
        details=details,
        ip=get_client_ip(request),
    )
    return True


@transaction.atomic
def remove_factors(*, request: HttpRequest, code: str) -> bool:
    """Remove the signed-in user's authenticator and recovery codes, once CODE proves it is them.

    Passkeys stay: each is removed on its own (remove_passkey).
    """
    user = request.user
    if match_code(user, code) is None:
        _record_failure(user=user, request=request, step="remove")
        return False
    removed = [
        str(device)
        for device in devices_for_user(user, confirmed=None)
        if not isinstance(device, WebAuthnCredential)
    ]
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    if not isinstance(getattr(user, "otp_device", None), WebAuthnCredential):
        # The device that verified this session is gone; a passkey's verification still stands.
        request.session.pop(DEVICE_ID_SESSION_KEY, None)
        user.otp_device = None
    record_event(
        tenant=None,
        actor=user,
        action=Action.MFA_REMOVED,
        target=user,
        details={"devices": removed},
        ip=get_client_ip(request),
    )
    return True
