"""Invitations by e-mail: the mail on a real SMTP server, a link that works once and expires, a
token that never stays in a URL the browser keeps, and every step in the tenant's Activity."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from accessgov.audit.models import Action, AuditEvent
from accessgov.core import mail
from accessgov.core.models import OutgoingMail
from accessgov.operator import provisioning
from accessgov.operator.models import Invitation
from tenants.models import Membership, Role
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://\S+/invitations/(agi_[0-9A-Za-z]+)/")
NEW_PASSWORD = "a-long-and-unusual-passphrase-42"


def invite(tenant, email="new.admin@example.com", role=Role.ADMINISTRATOR):
    invitation, outcome = provisioning.upsert_membership(
        tenant=tenant, email=email, role=role, actor_label="platform sync (operator key)"
    )
    assert outcome == "invited"
    return invitation


def token_in(body: str) -> str:
    return LINK.search(body).group(1)


def test_the_invitation_mail_reaches_a_real_smtp_server_with_both_parts(smtp_server, tenant):
    invitation = invite(tenant)
    run = mail.send_queued()
    assert run.sent == 1
    [message] = smtp_server.to("new.admin@example.com")
    assert message["Subject"] == "You are invited to Acme MSP on accessgov"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    token = token_in(text)
    assert token == token_in(html.replace('"', " ")) and "as Administrator" in text
    assert invitation.matches(token) and token not in str(vars(invitation))
    # Sent: the outbox keeps no body, so the link is nowhere in the database any more.
    sent = OutgoingMail.objects.get()
    assert sent.sent_at is not None and sent.text_body == sent.html_body == ""


def open_link(client, token):
    response = client.get(f"/invitations/{token}/")
    assert response.status_code == 302 and response["Location"] == "/invitations/accept/"
    assert response["Referrer-Policy"] == "no-referrer" and "no-store" in response["Cache-Control"]
    return response


def test_the_link_keeps_the_invitation_in_the_session_and_the_page_has_no_token(client, tenant):
    invite(tenant)
    token = token_in(OutgoingMail.objects.get().text_body)
    open_link(client, token)
    page = client.get("/invitations/accept/")
    assert page.status_code == 200 and "Join Acme MSP" in page.content.decode()
    assert token not in page.content.decode() and page["Referrer-Policy"] == "same-origin"
    assert (
        not get_user_model().objects.filter(email="new.admin@example.com").exists()
    )  # a GET changes nothing


def test_accepting_makes_the_account_signs_in_and_mfa_enrolment_takes_over(client, tenant):
    tenant.administrators_must_use_mfa = True
    tenant.save()
    invite(tenant)
    token = token_in(OutgoingMail.objects.get().text_body)
    open_link(client, token)
    mismatch = client.post("/invitations/accept/", {"new_password1": NEW_PASSWORD, "new_password2": "other"})
    assert mismatch.status_code == 200 and "The two passwords differ." in mismatch.content.decode()
    weak = client.post("/invitations/accept/", {"new_password1": "password", "new_password2": "password"})
    assert (
        weak.status_code == 200
        and not get_user_model().objects.filter(email="new.admin@example.com").exists()
    )
    response = client.post(
        "/invitations/accept/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/t/acme/"
    user = get_user_model().objects.get(username="new.admin@example.com")
    assert user.check_password(NEW_PASSWORD)
    assert Membership.objects.get(user=user, tenant=tenant).role == Role.ADMINISTRATOR
    # The tenant requires MFA of administrators: the enrolment flow takes over.
    assert client.get("/t/acme/")["Location"] == "/accounts/mfa/"
    actions = [e.action for e in AuditEvent.objects.filter(tenant=tenant).order_by("pk")]
    assert actions == [Action.INVITATION_SENT, Action.INVITATION_ACCEPTED, Action.MEMBERSHIP_ADDED]
    # Once: the same link, even in a fresh browser, is refused and the refusal audited.
    other = client.__class__()
    open_link(other, token)
    again = other.get("/invitations/accept/")
    assert again.status_code == 410 and "already used" in again.content.decode()
    assert AuditEvent.objects.get(action=Action.INVITATION_REFUSED).details["reason"] == "used"


def test_an_expired_link_is_refused(client, tenant, settings):
    invitation = invite(tenant)
    token = token_in(OutgoingMail.objects.get().text_body)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    open_link(client, token)
    response = client.post(
        "/invitations/accept/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 410 and "expired" in response.content.decode()
    assert not get_user_model().objects.filter(email="new.admin@example.com").exists()


def test_the_lifetime_is_configurable(tenant, settings):
    settings.ACCESSGOV_INVITATION_HOURS = 5
    invitation = invite(tenant)
    assert (
        timedelta(hours=4, minutes=59) < invitation.expires_at - invitation.created_at <= timedelta(hours=5)
    )


@pytest.mark.parametrize("token", ["agi_nonsense", "x" * 300])
def test_an_unknown_or_tampered_link_is_refused(client, tenant, token):
    invite(tenant)
    real = token_in(OutgoingMail.objects.get().text_body)
    for value in (token, real[:-1] + ("A" if real[-1] != "A" else "B")):
        client.get(f"/invitations/{value}/")
        assert client.get("/invitations/accept/").status_code == 404


def test_a_newer_invitation_replaces_the_pending_one(client, tenant):
    invite(tenant, role=Role.VIEWER)
    first = token_in(OutgoingMail.objects.order_by("pk").first().text_body)
    invite(tenant, role=Role.TECHNICIAN)
    open_link(client, first)
    assert client.get("/invitations/accept/").status_code == 410


def test_an_account_made_meanwhile_is_not_taken_over(client, tenant):
    invite(tenant)
    token = token_in(OutgoingMail.objects.get().text_body)
    UserFactory(username="someone", email="new.admin@example.com")
    open_link(client, token)
    response = client.post(
        "/invitations/accept/", {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 200 and "exists already" in response.content.decode()
    assert get_user_model().objects.get(email="new.admin@example.com").check_password(PASSWORD)


def test_a_deactivated_tenants_invitation_cannot_be_accepted(client, tenant):
    invite(tenant)
    token = token_in(OutgoingMail.objects.get().text_body)
    tenant.is_active = False
    tenant.save()
    open_link(client, token)
    assert client.get("/invitations/accept/").status_code == 410


def test_staff_invite_from_the_admin(staff_client, tenant):
    response = staff_client.post(
        "/admin/accessgov/invitation/add/",
        {"tenant": tenant.pk, "email": "Tech@Example.com", "role": "technician"},
    )
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.email == "tech@example.com" and invitation.invited_by == "support (staff)"
    event = AuditEvent.objects.get(action=Action.INVITATION_SENT)
    assert event.actor.username == "support" and event.tenant == tenant
    page = staff_client.get(f"/admin/accessgov/invitation/{invitation.pk}/change/").content.decode()
    assert invitation.digest not in page and "agi_" + "x" not in page
