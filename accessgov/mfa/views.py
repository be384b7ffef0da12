"""Sign-in in two steps (password, then a second factor) and the signed-in user's own factors.

Passkeys use django-otp-webauthn's JSON ceremony views (and its browser script), subclassed so that
the second sign-in step knows the user whose password was accepted, and so that every change goes
through accessgov.mfa.actions (audited).
"""

import time
from base64 import b32encode

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp_webauthn import exceptions as webauthn_errors
from django_otp_webauthn.views import (
    BeginCredentialAuthenticationView,
    BeginCredentialRegistrationView,
    CompleteCredentialAuthenticationView,
    CompleteCredentialRegistrationView,
)

from accessgov.core.signin import is_second_step_over_budget, remember_device, throttled
from accessgov.mfa import actions
from accessgov.mfa.forms import CodeForm, ConfirmDeviceForm, RemovePasskeyForm

PENDING_SESSION_KEY = "accessgov_mfa_pending"


def _next_url(request: HttpRequest, value: str | None) -> str:
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _pending_user(request: HttpRequest):
    """Return the user whose password was accepted in this session and who owes a code, or None."""
    pending = request.session.get(PENDING_SESSION_KEY)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > settings.MFA_PENDING_SECONDS:
        return None
    user = auth.get_user_model()._default_manager.filter(pk=pending.get("user")).first()
    return user if user is not None and user.is_active else None


def render_sign_in(request: HttpRequest, *, redirect_authenticated: bool = True) -> HttpResponse:
    """Show the password form; a user with a second factor continues to the code step."""
    next_value = request.POST.get("next") or request.GET.get("next")
    if redirect_authenticated and request.method == "GET" and request.user.is_authenticated:
        return redirect(_next_url(request, next_value))
    form = AuthenticationForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        if not actions.has_confirmed_factor(user):
            auth.login(request, user)
            return redirect(_next_url(request, next_value))
        # Not signed in yet: the session only remembers whose password was right, for a few minutes.
        request.session.cycle_key()
        request.session[PENDING_SESSION_KEY] = {
            "user": user.pk,
            "backend": user.backend,
            "next": _next_url(request, next_value),
            "at": time.time(),
        }
        return redirect("mfa:verify_sign_in")
    return render(request, "registration/login.html", {"form": form, "next": next_value or ""})


@sensitive_post_parameters("password")
@never_cache
@throttled
def sign_in(request: HttpRequest) -> HttpResponse:
    """Sign in, step one: the password (throttled by accessgov.core.signin)."""
    return render_sign_in(request)


@sensitive_post_parameters("password")
@never_cache
@throttled
def admin_sign_in(request: HttpRequest) -> HttpResponse:
    """Sign in to /admin/: the same two steps and budgets as the console (no redirect loop for a
    signed-in user whom the admin refuses: the form is shown to sign in as someone else)."""
    return render_sign_in(request, redirect_authenticated=False)


@sensitive_post_parameters("code")
@never_cache
def verify_sign_in(request: HttpRequest) -> HttpResponse:
    """Sign in, step two: a code from the authenticator app or a recovery code."""
    user = _pending_user(request)
    if user is None:
        request.session.pop(PENDING_SESSION_KEY, None)
        return redirect("mfa:sign_in")
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if is_second_step_over_budget(request, str(user.pk)):
            context = {"form": CodeForm(), "rate_limited": True, "passkey_config": _passkey_config(request)}
            context["has_passkey"] = actions.passkeys_of(user).exists()
            response = render(request, "mfa/verify_sign_in.html", context, status=429)
            response["Retry-After"] = "60"
            return response
        if form.is_valid():
            pending = request.session.pop(PENDING_SESSION_KEY)
            device = actions.complete_sign_in(
                request=request, user=user, backend=pending["backend"], code=form.cleaned_data["code"]
            )
            if device is not None:
                response = redirect(pending["next"])
                remember_device(request, response, user.get_username().casefold())
                return response
            request.session[PENDING_SESSION_KEY] = pending
            form.add_error("code", "That code is not valid. Try the current code, or a recovery code.")
    context = {
        "form": form,
        "has_passkey": actions.passkeys_of(user).exists(),
        "has_authenticator": actions.has_authenticator(user),
    }
    return render(request, "mfa/verify_sign_in.html", {**context, "passkey_config": _passkey_config(request)})


def _passkey_config(request: HttpRequest) -> dict:
    """Return the settings django-otp-webauthn's browser script reads (our URLs, the CSRF token)."""
    return {
        "autocompleteLoginFieldSelector": None,
        "nextFieldSelector": "input[name='next']",
        "csrfToken": get_token(request),
        "beginAuthenticationUrl": reverse("mfa:begin_passkey_sign_in"),
        "completeAuthenticationUrl": reverse("mfa:complete_passkey_sign_in"),
        "beginRegistrationUrl": reverse("mfa:begin_passkey_registration"),
        "completeRegistrationUrl": reverse("mfa:complete_passkey_registration"),
    }


def _manage_context(request: HttpRequest, *, remove_form: CodeForm | None = None) -> dict:
    user = request.user
    return {
        "has_factor": actions.has_confirmed_factor(user),
        "has_authenticator": actions.has_authenticator(user),
        "passkeys": actions.passkeys_of(user),
        "recovery_codes_left": actions.recovery_codes_left(user),
        "remove_form": remove_form or CodeForm(),
        "passkey_config": _passkey_config(request),
    }


@login_required
@never_cache
def manage_mfa(request: HttpRequest) -> HttpResponse:
    """Show the signed-in user's second factors, with the ways to add or remove them."""
    return render(request, "mfa/manage_mfa.html", _manage_context(request))


@require_POST
@login_required
@never_cache
def add_totp(request: HttpRequest) -> HttpResponse:
    """Start adding an authenticator app: show its secret once, in this POST's answer only."""
    device = actions.start_totp_enrolment(request=request)
    form = ConfirmDeviceForm(initial={"device": device.pk})
    context = {
        "device": device,
        "secret": b32encode(device.bin_key).decode(),
        "form": form,
        "show_secret": True,
    }
    return render(request, "mfa/add_totp.html", context)


@require_POST
@login_required
@never_cache
@sensitive_post_parameters("code")
def confirm_totp(request: HttpRequest) -> HttpResponse:
    """Confirm the new authenticator with one of its codes; show the recovery codes once."""
    form = ConfirmDeviceForm(request.POST)
    codes = None
    if form.is_valid():
        codes = actions.confirm_totp_device(
            request=request, device_id=form.cleaned_data["device"], code=form.cleaned_data["code"]
        )
        if codes is None:
            form.add_error("code", "That code is not valid. Check the time on your device and try again.")
    if codes is None:
        return render(request, "mfa/add_totp.html", {"form": form, "show_secret": False}, status=400)
    return render(request, "mfa/recovery_codes.html", {"recovery_codes": codes})


@require_POST
@login_required
@never_cache
def make_recovery_codes(request: HttpRequest) -> HttpResponse:
    """Give a user whose factors are passkeys ten recovery codes; show them once, in this answer."""
    codes = actions.make_recovery_codes(request=request)
    if codes is None:
        context = _manage_context(request)
        context["recovery_error"] = (
            "Recovery codes are made only from a session verified by a second factor, once the "
            "codes you have are used up."
        )
        return render(request, "mfa/manage_mfa.html", context, status=400)
    return render(request, "mfa/recovery_codes.html", {"recovery_codes": codes})


@require_POST
@login_required
@never_cache
@sensitive_post_parameters("code")
def remove_mfa(request: HttpRequest) -> HttpResponse:
    """Remove the authenticator and recovery codes once a current code proves who asks."""
    form = CodeForm(request.POST)
    if is_second_step_over_budget(request, str(request.user.pk)):
        form = CodeForm()
        form.add_error(None, "Too many codes tried. Wait a minute, then try again.")
        status = 429
    elif form.is_valid() and actions.remove_factors(request=request, code=form.cleaned_data["code"]):
        return redirect("mfa:manage_mfa")
    else:
        form.add_error("code", "That code is not valid.")
        status = 400
    return render(request, "mfa/manage_mfa.html", _manage_context(request, remove_form=form), status=status)


@require_POST
@login_required
@never_cache
def remove_passkey(request: HttpRequest) -> HttpResponse:
    """Remove one of the user's passkeys; the session must have been verified by a second factor."""
    form = RemovePasskeyForm(request.POST)
    if form.is_valid() and actions.remove_passkey(request=request, passkey_id=form.cleaned_data["passkey"]):
        return redirect("mfa:manage_mfa")
    context = _manage_context(request)
    context["passkey_error"] = (
        "That passkey cannot be removed from this session. Sign in with a second factor first."
    )
    return render(request, "mfa/manage_mfa.html", context, status=400)


class CompletePasskeyRegistration(CompleteCredentialRegistrationView):
    """Register the passkey the browser created (after the library's begin view issued a challenge)."""

    def post(self, *args, **kwargs) -> JsonResponse:
        """Verify the browser's answer against the challenge in the session and keep the passkey."""
        device = actions.add_passkey(request=self.request, state=self.get_state(), data=self.request.data)
        return JsonResponse({"id": device.pk})


class PendingUserMixin:
    """The passkey step of sign-in is for the user whose password this session accepted, only."""

    def get_user(self):
        """Return the user who owes a second factor in this session, or None."""
        return _pending_user(self.request)

    def check_can_authenticate(self) -> None:
        """Refuse the ceremony to a session without an accepted password (never passwordless)."""
        if self.get_user() is None:
            raise webauthn_errors.NotAuthenticated()


class BeginPasskeySignIn(PendingUserMixin, BeginCredentialAuthenticationView):
    """Sign in, step two with a passkey: a challenge for one of the pending user's passkeys."""


class CompletePasskeySignIn(PendingUserMixin, CompleteCredentialAuthenticationView):
    """Sign in, step two with a passkey: check the browser's answer and sign the user in."""

    def post(self, *args, **kwargs) -> JsonResponse:
        """Sign the pending user in if the answer verifies; the same budgets as a typed code."""
        request = self.request
        user = self.get_user()
        if is_second_step_over_budget(request, str(user.pk)):
            detail = "Too many attempts. Wait a minute, then try again."
            return JsonResponse(
                {"detail": detail, "code": "rate_limited"}, status=429, headers={"Retry-After": "60"}
            )
        state = self.get_state()
        pending = request.session.pop(PENDING_SESSION_KEY)
        device = actions.complete_passkey_sign_in(
            request=request, user=user, backend=pending["backend"], state=state, data=request.data
        )
        if device is None:
            request.session[PENDING_SESSION_KEY] = pending
            detail = "That passkey was not accepted. Try again, or enter a code."
            return JsonResponse({"detail": detail, "code": "passkey_refused"}, status=400)
        response = JsonResponse({"id": device.pk, "redirect_url": pending["next"]})
        remember_device(request, response, user.get_username().casefold())
        return response


begin_passkey_registration = BeginCredentialRegistrationView.as_view()
complete_passkey_registration = CompletePasskeyRegistration.as_view()
begin_passkey_sign_in = BeginPasskeySignIn.as_view()
complete_passkey_sign_in = CompletePasskeySignIn.as_view()
