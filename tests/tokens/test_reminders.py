"""Expiry reminders: 30, 7 and 1 days before, each once, to the security contact and the creator."""

import io
import logging
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accessgov.audit.models import AuditEvent
from accessgov.core.models import OutgoingMail
from tenants.models import Membership, Role
from tests.factories import MembershipFactory, ThirdPartyTokenFactory, UserFactory, WebhookDestinationFactory
from tokens import reminders
from tokens.models import ReminderSent
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def contact(enabled_tenant):
    enabled_tenant.security_contacts = ["soc@acme.example"]
    enabled_tenant.save()
    return enabled_tenant


@pytest.fixture
def creator(enabled_tenant):
    user = UserFactory(username="dana", email="dana@acme.example")
    MembershipFactory(user=user, tenant=enabled_tenant, role=Role.ADMINISTRATOR)
    return user


def expiring(tenant, days: float, **fields):
    return ThirdPartyTokenFactory(tenant=tenant, expires_at=NOW + timedelta(days=days), **fields)


@pytest.mark.parametrize(
    ("days_left", "threshold"),
    [(31, None), (30, 30), (29.5, 30), (7.01, 30), (7, 7), (5, 7), (1, 1), (0.2, 1), (0, None), (-1, None)],
)
def test_the_due_threshold_is_the_smallest_the_time_left_is_within(days_left, threshold):
    assert reminders.due_threshold(NOW + timedelta(days=days_left), NOW, (30, 7, 1)) == threshold


def test_each_threshold_is_sent_once_to_the_contact_and_the_creator_without_a_secret(
    contact, creator, django_capture_on_commit_callbacks
):
    token = expiring(contact, 29.5, name="PSA sync", created_by=creator)
    with django_capture_on_commit_callbacks(execute=True):
        run = reminders.send_reminders(now=NOW)
    assert (run.reminders, run.mails, run.digests) == (1, 1, 0)
    mail = OutgoingMail.objects.get()
    assert mail.to == ["dana@acme.example", "soc@acme.example"]
    assert mail.subject == "Acme MSP: token “PSA sync” expires in 30 day(s)"
    link = f"/t/acme/settings/api/tokens/{token.pk}/#renew"
    assert link in mail.text_body and link in mail.html_body
    assert token.secret not in mail.text_body + mail.html_body and token.digest not in mail.text_body
    # A repeated run, the same day or the next: nothing more until the 7-day threshold.
    assert reminders.send_reminders(now=NOW).reminders == 0
    assert reminders.send_reminders(now=NOW + timedelta(days=1)).reminders == 0
    assert reminders.send_reminders(now=NOW + timedelta(days=23)).reminders == 1
    assert reminders.send_reminders(now=NOW + timedelta(days=28, hours=13)).reminders == 1
    assert reminders.send_reminders(now=NOW + timedelta(days=29)).reminders == 0
    assert sorted(ReminderSent.objects.values_list("threshold_days", flat=True)) == [1, 7, 30]
    assert OutgoingMail.objects.count() == 3
    event = AuditEvent.objects.filter(action="credential.expiring").order_by("pk").first()
    assert event.actor_label == "system" and event.details["token_id"] == token.token_id
    assert event.details["threshold_days"] == 30


def test_subscribed_webhook_destinations_get_a_credential_expiring_event(
    contact, django_capture_on_commit_callbacks
):
    token = expiring(contact, 6)
    subscribed = WebhookDestinationFactory(tenant=contact, events=["credential.expiring"])
    WebhookDestinationFactory(tenant=contact, events=["notify"])
    with django_capture_on_commit_callbacks(execute=True):
        reminders.send_reminders(now=NOW)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.destination, delivery.event_type) == (subscribed, "credential.expiring")
    assert token.token_id in delivery.body and token.secret not in delivery.body
    assert '"days_left":6' in delivery.body and '"threshold_days":7' in delivery.body


def test_many_reminders_for_one_tenant_go_as_one_digest(contact, creator, settings):
    settings.ACCESSGOV_REMINDER_DIGEST_OVER = 5
    tokens = [expiring(contact, 3 + n, created_by=creator) for n in range(6)]
    run = reminders.send_reminders(now=NOW)
    assert (run.reminders, run.mails, run.digests) == (6, 1, 1)
    digest = OutgoingMail.objects.get()
    assert digest.kind == "credentials_expiring_digest"
    assert digest.subject == "Acme MSP: 6 API credentials expire soon"
    assert all(f"/t/acme/settings/api/tokens/{t.pk}/#renew" in digest.text_body for t in tokens)
    assert ReminderSent.objects.filter(in_digest=True).count() == 6
    assert reminders.send_reminders(now=NOW).reminders == 0


def test_five_reminders_are_still_single_mails(contact):
    for n in range(5):
        expiring(contact, 3 + n)
    assert reminders.send_reminders(now=NOW).mails == 5


def test_a_creator_who_left_the_tenant_is_not_told(contact, creator):
    expiring(contact, 6, created_by=creator)
    Membership.objects.filter(user=creator).delete()
    reminders.send_reminders(now=NOW)
    assert OutgoingMail.objects.get().to == ["soc@acme.example"]


def test_without_a_security_contact_the_administrators_are_told(enabled_tenant, admin_user):
    admin_user.email = "boss@acme.example"
    admin_user.save()
    expiring(enabled_tenant, 6)
    reminders.send_reminders(now=NOW)
    assert OutgoingMail.objects.get().to == ["boss@acme.example"]


def test_revoked_and_expired_tokens_and_other_kinds_get_nothing(contact):
    expiring(contact, 6, revoked=True)
    expiring(contact, -1)
    ThirdPartyTokenFactory(tenant=contact, expires_at=None)
    assert reminders.send_reminders(now=NOW).reminders == 0
    assert not OutgoingMail.objects.exists()


def test_a_token_given_a_new_expiry_is_reminded_again(contact):
    token = expiring(contact, 6)
    reminders.send_reminders(now=NOW)
    token.expires_at = NOW + timedelta(days=5)
    token.save()
    assert reminders.send_reminders(now=NOW).reminders == 1


def test_a_reminder_another_run_sent_meanwhile_is_skipped_and_not_mailed_twice(contact):
    token = expiring(contact, 6)
    reminder = reminders.Reminder(token, 7)
    assert reminders._send_one(contact, reminder, now=NOW) is True
    # A second run that listed the same reminder before the first committed: the constraint decides.
    assert reminders._send_one(contact, reminder, now=NOW) is None
    assert OutgoingMail.objects.count() == 1 and ReminderSent.objects.count() == 1
    assert AuditEvent.objects.filter(action="credential.expiring").count() == 1


def test_the_command_is_quiet_with_nothing_to_do_and_says_one_line_when_it_did_something(contact, caplog):
    out = io.StringIO()
    with caplog.at_level(logging.INFO, logger="accessgov.ops"):
        call_command("send_reminders", stdout=out)
    assert out.getvalue() == ""
    (line,) = [r.getMessage() for r in caplog.records]  # the heartbeat, in the ops log only
    assert line.startswith("send_reminders finished reminders=0 mails=0")
    caplog.clear()
    expiring(contact, 6)
    with caplog.at_level(logging.INFO, logger="accessgov.ops"):
        call_command("send_reminders", stdout=out)
    assert (
        out.getvalue()
        == "Queued 1 reminder(s) in 1 mail(s) (0 digest(s)) for 1 tenant(s); suspended 0 unused token(s).\n"
    )
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith(
        "send_reminders finished reminders=1 mails=1 digests=0 tenants=1 skipped=0 seconds="
    )
    assert line.endswith(" suspended_unused=0")


def test_settings_api_shows_a_banner_of_the_tokens_expiring_within_7_days(
    admin_client, enabled_tenant, other_tenant
):
    soon = expiring(enabled_tenant, 2, name="Soon")
    expiring(enabled_tenant, 8, name="Later")
    expiring(enabled_tenant, 1, name="Revoked one", revoked=True)
    expiring(other_tenant, 1, name="Rival token")
    for path in ("", "tokens/", "webhooks/", "activity/"):
        page = admin_client.get(f"/t/acme/settings/api/{path}")
        assert 'id="expiring-banner"' in page.text, path
        banner = page.text.split('id="expiring-banner"')[1].split("</div>")[0]
        assert f'href="/t/acme/settings/api/tokens/{soon.pk}/">Soon</a>' in banner
        assert "Later" not in banner and "Revoked one" not in banner and "Rival token" not in banner


def test_no_banner_when_nothing_expires_soon(admin_client, enabled_tenant):
    expiring(enabled_tenant, 8)
    assert 'id="expiring-banner"' not in admin_client.get("/t/acme/settings/api/tokens/").text
