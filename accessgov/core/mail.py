"""Outgoing mail: queued inside web requests, sent by the worker, never holding a secret.

A web request only writes an `OutgoingMail` row (`queue_mail`); the webhook worker
(`manage.py deliver_webhooks`) and `manage.py send_queued_mail` send what is due over SMTP with a
bounded timeout (`EMAIL_TIMEOUT`, in `MAILERS`), retrying with a growing delay, so a slow mail server never holds
a web worker. Every mail has a plain-text and an HTML part rendered from
`templates/mail/<template>.txt` and `.html`. Once sent (or given up) its bodies are wiped, so links
in it (an invitation's, say) do not stay in the database.
"""

import contextlib
import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accessgov.core.models import OutgoingMail

logger = logging.getLogger("accessgov.mail")

# Delays before the second, third, ... attempt; then the mail is given up (and logged).
RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))


def queue_mail(
    *, to: list[str], subject: str, template: str, context: dict, kind: str = ""
) -> OutgoingMail | None:
    """Queue a mail to TO rendered from templates/mail/TEMPLATE.{txt,html}; None when TO is empty.

    CONTEXT must never hold a secret: the bodies sit in the database until the mail is sent.
    """
    recipients = sorted({address.strip().lower() for address in to if address and address.strip()})
    if not recipients:
        return None
    context = {"site_url": settings.ACCESSGOV_SITE_URL, **context}
    return OutgoingMail.objects.create(
        to=recipients,
        subject=subject[:300],
        text_body=render_to_string(f"mail/{template}.txt", context),
        html_body=render_to_string(f"mail/{template}.html", context),
        kind=kind or template,
    )


@dataclass
class MailRun:
    sent: int = 0
    failed: int = 0
    gave_up: int = 0

    @property
    def attempted(self) -> int:
        return self.sent + self.failed + self.gave_up

    def describe(self) -> str:
        return f"mail sent={self.sent} failed={self.failed} gave_up={self.gave_up}"


def send_queued(*, limit: int = 50) -> MailRun:
    """Send up to LIMIT due mails over one connection; each row is claimed so two workers never send it twice."""
    run = MailRun()
    connection = None
    try:
        for _ in range(limit):
            with transaction.atomic():
                mail = (
                    OutgoingMail.objects.due()
                    .select_for_update(skip_locked=True)
                    .order_by("next_attempt_at", "pk")
                    .first()
                )
                if mail is None:
                    break
                if connection is None:
                    connection = mailers.default
                _send_one(mail, connection, run)
    finally:
        if connection is not None:
            # Closing a broken SMTP session must not hide the run's outcome.
            with contextlib.suppress(OSError, smtplib.SMTPException):
                connection.close()
    return run


def _send_one(mail: OutgoingMail, connection, run: MailRun) -> None:
    message = EmailMultiAlternatives(
        subject=mail.subject,
        body=mail.text_body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=mail.to,
    )
    message.attach_alternative(mail.html_body, "text/html")
    now = timezone.now()
    mail.attempts += 1
    try:
        connection.send_messages([message])
    except Exception as error:  # noqa: BLE001 - any SMTP or network failure is retried later
        mail.last_error = f"{type(error).__name__}: {error}"[:300]
        if mail.attempts > len(RETRY_DELAYS):
            mail.gave_up_at = now
            mail.text_body = mail.html_body = ""
            run.gave_up += 1
            logger.error(
                "mail %s to %d recipients given up after %d attempts: %s",
                mail.pk,
                len(mail.to),
                mail.attempts,
                mail.last_error,
            )
        else:
            mail.next_attempt_at = now + RETRY_DELAYS[mail.attempts - 1]
            run.failed += 1
            logger.warning("mail %s not sent (attempt %d): %s", mail.pk, mail.attempts, mail.last_error)
        # A broken connection is not reused for the next mail.
        with contextlib.suppress(OSError, smtplib.SMTPException):
            connection.close()
    else:
        mail.sent_at = now
        mail.last_error = ""
        mail.text_body = mail.html_body = ""
        run.sent += 1
    mail.save()
