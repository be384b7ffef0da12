"""Passkeys (WebAuthn) on django-otp-webauthn: whose relying party and origins a ceremony expects.

A passkey is bound to its relying party ID (a domain): the browser only offers it to pages of that
domain and signs the page's origin into every answer, which the server compares with the origins
it expects. Both come from the request's host, which ALLOWED_HOSTS has already accepted, unless a
deployment behind a proxy names them (PASSKEY_RP_ID, PASSKEY_ORIGINS).
"""

from django.conf import settings
from django.http import HttpRequest
from django.http.request import split_domain_port
from django_otp_webauthn.helpers import WebAuthnHelper


def relying_party_id(request: HttpRequest) -> str:
    """Return the relying party ID for REQUEST: the configured one, or the request's host without its port."""
    if settings.PASSKEY_RP_ID:
        return settings.PASSKEY_RP_ID
    domain, _port = split_domain_port(request.get_host())
    return domain


def allowed_origins(request: HttpRequest) -> list[str]:
    """Return the origins a passkey's answer may name: the configured ones, or the request's own."""
    if settings.PASSKEY_ORIGINS:
        return list(settings.PASSKEY_ORIGINS)
    return [f"{request.scheme}://{request.get_host()}"]


class PasskeyHelper(WebAuthnHelper):
    """django-otp-webauthn's ceremonies with the relying party and origins taken from the request."""

    def get_relying_party_domain(self) -> str:
        """Return the relying party ID of this request."""
        return relying_party_id(self.request)

    def get_allowed_origins(self) -> list[str]:
        """Return the origins this request's ceremony accepts."""
        return allowed_origins(self.request)
