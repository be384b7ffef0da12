"""The mail outbox: mail is queued inside the web request and sent by the worker (accessgov.core.mail)."""

from django.db import models
from django.utils import timezone


class OutgoingMailQuerySet(models.QuerySet):
    def due(self, now=None) -> "OutgoingMailQuerySet":
        """Return the unsent mails whose next attempt has come, oldest first."""
        return self.filter(
            sent_at__isnull=True, gave_up_at__isnull=True, next_attempt_at__lte=now or timezone.now()
        )


class OutgoingMail(models.Model):
    """One mail to send. Its bodies are wiped once it is sent or given up: the log keeps who and what."""

    to = models.JSONField(default=list)
    subject = models.CharField(max_length=300)
    text_body = models.TextField(blank=True)
    html_body = models.TextField(blank=True)
    # What the mail is about, for the log and for tests (for example "invitation", "reminder").
    kind = models.CharField(max_length=50, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    gave_up_at = models.DateTimeField(null=True, blank=True)

    objects = OutgoingMailQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = "outgoing mail"
        verbose_name_plural = "outgoing mail"

    def __str__(self) -> str:
        return f"{self.subject} → {', '.join(self.to)}"
