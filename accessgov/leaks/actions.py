"""Answer a leak report: stop each live secret as its tenant chose, tell the security contact,
and record the report in the tenant's Activity, never with the secret."""

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.urls import reverse

from accessgov.audit.actions import Action, record_event
from accessgov.core import mail
from accessgov.core.errors import ActionRefused
from accessgov.gateway.actions import delete_gateway_key
from accessgov.gateway.models import GatewayKey
from accessgov.leaks.identify import Found, checksum_of, identify_secret
from accessgov.operator.actions import delete_operator_key
from accessgov.operator.models import OperatorKey
from accessgov.policy.actions import delete_api_key
from accessgov.policy.models import ApiKey
from accessgov.trusted.actions import revoke_authorization
from accessgov.trusted.models import TrustedApplicationToken
from tokens.actions import revoke_token
from tokens.models import ThirdPartyToken

logger = logging.getLogger("accessgov.leaks")

MAX_VALUES = 100
REPORTER = "Leak report"


@dataclass
class ReportOutcome:
    received: int = 0
    stopped: int = 0
    notified: int = 0
    fingerprints: list[str] = field(default_factory=list)


def _stop(found: Found, *, ip: str | None) -> None:
    """Make FOUND's secret stop working on the next request, with its owner's own workflow."""
    row = found.row
    if isinstance(row, ApiKey):
        delete_api_key(api_key=row, by=None, ip=ip)
    elif isinstance(row, ThirdPartyToken):
        revoke_token(token=row, by=None, ip=ip)
    elif isinstance(row, TrustedApplicationToken):
        # The leaked access or refresh token stops with its whole authorization: the application
        # must be authorized again, by an administrator who knows of the leak.
        revoke_authorization(authorization=row.authorization, by=None, ip=ip)
    elif isinstance(row, OperatorKey):
        delete_operator_key(key=row, by=None, ip=ip)
    elif isinstance(row, GatewayKey):
        delete_gateway_key(key=row, by=None, ip=ip)
    else:  # pragma: no cover - identify_secret returns only the kinds above
        raise TypeError(f"Cannot stop a {type(row).__name__}.")


def _tell(found: Found, *, stopped: bool, location: str, source: str) -> None:
    tenant = found.tenant
    creator_email = getattr(getattr(found.row, "created_by", None), "email", "") or ""
    mail.queue_mail(
        to=[*tenant.notice_recipients(), creator_email],
        subject=f"{'Revoked: ' if stopped else ''}a secret of {tenant.name} was reported leaked",
        template="credential_leaked",
        context={
            "tenant": tenant,
            "found": found,
            "stopped": stopped,
            "location": location,
            "source": source,
            "activity_path": reverse("audit:list_events", args=[tenant.slug]),
        },
        kind="credential_leaked",
    )


def handle_value(value: str, *, location: str, source: str, ip: str | None) -> bool:
    """Handle one reported VALUE; return whether it was a live secret of ours."""
    with transaction.atomic():
        found = identify_secret(value)
        if found is None or not found.is_live:
            return False
        response = found.tenant.leak_response if found.tenant is not None else "revoke"
        stopped = response == "revoke"
        if stopped:
            try:
                _stop(found, ip=ip)
            except ActionRefused:
                return False  # stopped meanwhile by someone else
        record_event(
            tenant=found.tenant,
            actor=None,
            actor_label=REPORTER,
            action=Action.CREDENTIAL_LEAKED,
            target=found.row
            if not isinstance(found.row, TrustedApplicationToken)
            else found.row.authorization,
            details={
                "type": found.type,
                "name": found.name,
                "identifier": found.identifier,
                "found_at": location,
                "source": source,
                "response": "revoked" if stopped else "notified",
            },
            ip=ip,
        )
        if found.tenant is not None:
            _tell(found, stopped=stopped, location=location, source=source)
    logger.warning(
        "leak report: %s %s %s (fingerprint %s)",
        found.type,
        found.identifier,
        "stopped" if stopped else "reported to the tenant",
        checksum_of(value),
    )
    return True


def handle_report(
    *, values: list[str], location: str = "", source: str = "", ip: str | None
) -> ReportOutcome:
    """Handle up to MAX_VALUES reported values, each in its own transaction (one failing stops none other)."""
    outcome = ReportOutcome()
    location, source = location.strip()[:500], source.strip()[:100]
    for value in dict.fromkeys(v for v in values[:MAX_VALUES] if isinstance(v, str)):
        outcome.received += 1
        if handle_value(value, location=location, source=source, ip=ip):
            outcome.stopped += 1
    return outcome
