"""Throttle sign-in without letting a stranger lock an account's owner out.

Every attempt is counted (before the password is checked, so parallel guesses cannot slip past a
check) against three budgets in the "signin" cache (django-ratelimit, fixed one-minute windows):

- per username and client address, and per client address: over budget, the attempt is refused;
- per username from any address: over budget, only clients that have never signed in as that
  user are refused. A client that has is recognised by a signed "known device" cookie set at each
  successful sign-in, so an attacker guessing from elsewhere cannot keep the owner out.
"""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_ratelimit.core import is_ratelimited

from accessgov.core.clientip import get_client_ip

KNOWN_DEVICE_COOKIE = "accessgov_known_device"
KNOWN_DEVICE_SALT = "accessgov.signin.known-device"
KNOWN_DEVICE_MAX_AGE = 365 * 24 * 3600
KNOWN_DEVICE_MAX_USERS = 10


def submitted_username(request: HttpRequest) -> str:
    """Return the username a sign-in form was posted with, as budgets compare it."""
    # Case-folded so "Demo-Admin" and "demo-admin" share one budget.
    return request.POST.get("username", "").strip().casefold()[:150]


def known_usernames(request: HttpRequest) -> list[str]:
    """Return the usernames that once signed in from this client (empty if the cookie is forged)."""
    try:
        value = request.get_signed_cookie(
            KNOWN_DEVICE_COOKIE, salt=KNOWN_DEVICE_SALT, max_age=KNOWN_DEVICE_MAX_AGE
        )
        names = signing.loads(value)  # the cookie's own signature is checked above
    except (KeyError, signing.BadSignature, ValueError):
        return []
    return [name for name in names if isinstance(name, str)] if isinstance(names, list) else []


def remember_device(request: HttpRequest, response: HttpResponse, username: str) -> None:
    """Mark this client as one that USERNAME signed in from (newest first, a few users at most)."""
    names = [username] + [name for name in known_usernames(request) if name != username]
    response.set_signed_cookie(
        KNOWN_DEVICE_COOKIE,
        signing.dumps(names[:KNOWN_DEVICE_MAX_USERS], compress=True),
        salt=KNOWN_DEVICE_SALT,
        max_age=KNOWN_DEVICE_MAX_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def _pair_key(group: str, request: HttpRequest) -> str:
    return f"{submitted_username(request)}|{get_client_ip(request)}"


def _ip_key(group: str, request: HttpRequest) -> str:
    return get_client_ip(request)


def _username_key(group: str, request: HttpRequest) -> str:
    return submitted_username(request)


def is_over_budget(request: HttpRequest) -> bool:
    """Count this sign-in attempt and return whether it must be refused."""
    budgets = [
        ("login-pair", _pair_key, settings.LOGIN_RATE_PER_USERNAME_AND_IP),
        ("login-ip", _ip_key, settings.LOGIN_RATE_PER_IP),
    ]
    if submitted_username(request) not in known_usernames(request):
        # The owner's own browser never spends (or is refused by) the username's budget.
        budgets.append(("login-username", _username_key, settings.LOGIN_RATE_PER_USERNAME))
    # Every budget is counted (no short-circuit), so a guesser pays on each of them.
    limits = [
        is_ratelimited(request, group=group, key=key, rate=rate, method="POST", increment=True)
        for group, key, rate in budgets
    ]
    return any(limits)


def is_second_step_over_budget(request: HttpRequest, user_key: str) -> bool:
    """Count one second-factor code submitted for USER_KEY and return whether it must be refused.

    Budgets per user (whatever the address: a stolen password tried from many places) and per
    address (one place trying many stolen passwords); both counted, as for the password step.
    """
    budgets = [
        ("mfa-user", lambda group, request: user_key, settings.MFA_RATE_PER_USER),
        ("mfa-ip", _ip_key, settings.MFA_RATE_PER_IP),
    ]
    limits = [
        is_ratelimited(request, group=group, key=key, rate=rate, method="POST", increment=True)
        for group, key, rate in budgets
    ]
    return any(limits)


def throttled(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap a sign-in VIEW (the console's or the admin's) in the sign-in budgets."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        if is_over_budget(request):
            response = render(
                request,
                "registration/login.html",
                {"form": auth_forms.AuthenticationForm(request), "rate_limited": True},
                status=429,
            )
            response["Retry-After"] = "60"
            return response
        was_signed_in = request.user.is_authenticated
        response = view(request, *args, **kwargs)
        if request.user.is_authenticated and not was_signed_in:
            remember_device(request, response, request.user.get_username().casefold())
        return response

    return wrapper
