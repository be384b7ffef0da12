"""The invitation link: open it (the token moves into the session), choose a password, and land in
the tenant (where the MFA enrolment of accessgov.mfa takes over if the tenant asks for it)."""

from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods

from accessgov.core.clientip import get_client_ip
from accessgov.core.errors import ActionRefused
from accessgov.operator import invitations
from accessgov.operator.forms import AcceptInvitationForm

SESSION_KEY = "accessgov_invitation"


def _no_referrer(response: HttpResponse) -> HttpResponse:
    # On the redirect only: the pages after it have no token in their URL, and a form POST from a
    # no-referrer page would send `Origin: null`, which the CSRF check rightly refuses.
    response["Referrer-Policy"] = "no-referrer"
    return response


@sensitive_variables("token")
@require_GET
@never_cache
def open_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """Remember which invitation this browser opened, and go on to a URL without the token.

    The token then never stays in the browser's history, and no page the person visits next gets
    it in a Referer header. Only the invitation's id is kept in the session, never the token (the
    sessions table holds no secret); nothing is changed (a GET changes no state).
    """
    invitation = invitations.find_invitation(token)
    request.session[SESSION_KEY] = invitation.pk if invitation is not None else None
    return _no_referrer(redirect("operator:accept_invitation"))


@sensitive_post_parameters("new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
@never_cache
def accept_invitation(request: HttpRequest) -> HttpResponse:
    """Show the invitation and the password form; on a valid POST make the account and sign in."""
    invitation = invitations.opened_invitation(request.session.get(SESSION_KEY))
    if invitation is None:
        return render(request, "operator/invitation_refused.html", {"reason": "unknown"}, status=404)
    reason = invitations.refusal_reason(invitation, timezone.now())
    if reason is not None:
        request.session.pop(SESSION_KEY, None)
        invitations.record_refusal(invitation=invitation, reason=reason, ip=get_client_ip(request))
        return render(request, "operator/invitation_refused.html", {"reason": reason}, status=410)
    form = AcceptInvitationForm(invitation.email, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitations.accept_invitation(
                invitation=invitation, password=form.cleaned_data["new_password1"], ip=get_client_ip(request)
            )
        except ActionRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            request.session.pop(SESSION_KEY, None)
            # Signing in rotates the session; the tenant's page then asks for a second factor
            # first when the tenant requires one of its administrators (tenants.access).
            auth.login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
            return redirect("tenants:show_tenant", tenant_slug=invitation.tenant.slug)
    return render(request, "operator/accept_invitation.html", {"invitation": invitation, "form": form})
