"""Outgoing mail: queued in the request, sent by the worker over real SMTP, never a secret, bounded."""

import socket
import threading

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accessgov.audit.models import AuditEvent
from accessgov.core import mail
from accessgov.core.models import OutgoingMail
from accessgov.settings import mailer_settings
from tenants.models import Role
from tests.conftest import smtp_mailer
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _queue(to=("soc@example.com",)):
    return mail.queue_mail(
        to=list(to),
        subject="Hello",
        template="security_contact_added",
        context={"tenant": {"name": "Contoso", "partner_id": "P-1"}, "by": "ann", "manage_api_path": "/t/x/"},
    )


def test_a_queued_mail_goes_out_with_a_text_and_an_html_part_and_its_bodies_are_wiped(smtp_server):
    queued = _queue(to=["Soc@Example.com", "soc@example.com", "cto@example.com"])
    assert smtp_server.messages == []  # queueing sends nothing

    run = mail.send_queued()

    assert (run.sent, run.failed) == (1, 0)
    [message] = smtp_server.messages
    assert sorted(message["X-Envelope-To"].split(", ")) == ["cto@example.com", "soc@example.com"]
    assert message.get_body(("plain",)).get_content().startswith("You are now a security contact of Contoso")
    assert "<strong>Contoso</strong>" in message.get_body(("html",)).get_content()
    queued.refresh_from_db()
    assert queued.sent_at is not None and queued.text_body == queued.html_body == ""
    assert mail.send_queued().attempted == 0  # sent once only


def test_a_mail_server_that_refuses_is_retried_later_then_given_up(settings, time_machine):
    # A port nobody listens on: the connection is refused at once.
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    settings.MAILERS = {"default": smtp_mailer(port)}
    time_machine.move_to(timezone.now(), tick=False)
    queued = _queue()

    assert mail.send_queued().failed == 1
    queued.refresh_from_db()
    assert queued.attempts == 1 and "ConnectionRefused" in queued.last_error and queued.sent_at is None
    assert mail.send_queued().attempted == 0  # not due again before its delay

    for _ in mail.RETRY_DELAYS:
        time_machine.shift(mail.RETRY_DELAYS[-1])
        mail.send_queued()
    queued.refresh_from_db()
    assert queued.gave_up_at is not None and queued.text_body == ""


def test_a_mail_server_that_never_answers_costs_at_most_the_timeout(settings):
    # Accepts the connection and never sends its greeting.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    settings.MAILERS = {"default": smtp_mailer(listener.getsockname()[1], timeout=0.3)}
    _queue()
    try:
        run = mail.send_queued()
    finally:
        listener.close()
    assert run.failed == 1
    assert "timed out" in OutgoingMail.objects.get().last_error


def test_send_queued_mail_is_quiet_when_nothing_is_due(smtp_server, capsys):
    call_command("send_queued_mail")
    assert capsys.readouterr().out == ""
    _queue()
    call_command("send_queued_mail")
    assert capsys.readouterr().out.strip() == "mail sent=1 failed=0 gave_up=0"
    assert len(smtp_server.messages) == 1


def test_an_empty_recipient_list_queues_nothing():
    assert mail.queue_mail(to=["", " "], subject="x", template="security_contact_added", context={}) is None
    assert not OutgoingMail.objects.exists()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "smtp://mail.example.com",
            {"host": "mail.example.com", "port": 25, "use_tls": False, "timeout": 10.0},
        ),
        (
            "smtp+tls://bob:p%40ss@mail.example.com:2525",
            {"port": 2525, "use_tls": True, "username": "bob", "password": "p@ss"},
        ),
        ("smtps://mail.example.com", {"port": 465, "use_ssl": True, "use_tls": False}),
    ],
)
def test_email_url_is_read(url, expected):
    mailer = mailer_settings(url, debug=False)
    assert mailer["BACKEND"].endswith("smtp.EmailBackend")
    assert expected.items() <= mailer["OPTIONS"].items()


def test_email_url_console_prints_mails():
    assert mailer_settings("console:", debug=False) == {
        "BACKEND": "django.core.mail.backends.console.EmailBackend"
    }


@pytest.mark.parametrize("url", ["http://mail.example.com", "smtp://", "mail.example.com"])
def test_a_bad_email_url_is_refused_with_its_shapes(url):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL must look like smtp://"):
        mailer_settings(url, debug=False)


def test_without_email_settings_make_run_prints_mails(monkeypatch):
    monkeypatch.delenv("EMAIL_HOST", raising=False)
    assert mailer_settings("", debug=True)["BACKEND"].endswith("console.EmailBackend")
    assert mailer_settings("", debug=False)["BACKEND"].endswith("smtp.EmailBackend")


# --- The security contact (Manage API) --------------------------------------------------------


def test_an_administrator_names_security_contacts_who_are_told_by_mail(admin_client, tenant, smtp_server):
    url = reverse("policy:set_security_contact", args=[tenant.slug])
    response = admin_client.post(
        url, {"security_contacts": "SOC@example.com, cto@example.com\nsoc@example.com"}
    )
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.security_contacts == ["soc@example.com", "cto@example.com"]
    event = AuditEvent.objects.get(action="tenant.security_contact_changed")
    assert event.details == {
        "before": {"security_contacts": []},
        "after": {"security_contacts": ["soc@example.com", "cto@example.com"]},
    }
    mail.send_queued()
    assert len(smtp_server.to("soc@example.com")) == 1 and len(smtp_server.to("cto@example.com")) == 1

    # Keeping one and adding none tells nobody new; the change is still audited.
    admin_client.post(url, {"security_contacts": "cto@example.com"})
    assert mail.send_queued().attempted == 0
    assert AuditEvent.objects.filter(action="tenant.security_contact_changed").count() == 2


def test_a_bad_address_is_named_and_nothing_is_saved(admin_client, tenant):
    url = reverse("policy:set_security_contact", args=[tenant.slug])
    response = admin_client.post(
        url, {"security_contacts": "soc@example.com, not-an-address"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 400
    assert "“not-an-address” is not an e-mail address." in response.content.decode()
    tenant.refresh_from_db()
    assert tenant.security_contacts == []
    assert not OutgoingMail.objects.exists()


def test_another_tenants_administrator_cannot_set_the_contact(other_admin_client, tenant):
    url = reverse("policy:set_security_contact", args=[tenant.slug])
    response = other_admin_client.post(url, {"security_contacts": "evil@example.com"})
    assert response.status_code in (403, 404)
    tenant.refresh_from_db()
    assert tenant.security_contacts == []


def test_without_a_contact_notices_go_to_the_administrators(tenant, admin_user):
    admin_user.email = "admin@example.com"
    admin_user.save()
    MembershipFactory(tenant=tenant, user=UserFactory(email="tech@example.com"), role=Role.TECHNICIAN)
    assert tenant.notice_recipients() == ["admin@example.com"]
    tenant.security_contacts = ["soc@example.com"]
    assert tenant.notice_recipients() == ["soc@example.com"]
