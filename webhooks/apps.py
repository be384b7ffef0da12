from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        # The audit log is a lower floor: it announces committed events, and webhooks listens.
        from accessgov.audit.actions import event_committed
        from webhooks import checks  # noqa: F401  (registers the deploy check)
        from webhooks.events import enqueue_for_audit_event

        event_committed.connect(enqueue_for_audit_event, dispatch_uid="webhooks-audit-events")
