"""Workflows of the Third-Party Tokens tab: each saves, audits, and is the only way to do its change."""

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accessgov.audit.actions import Action, record_event
from accessgov.core import catalogue
from accessgov.core.errors import ActionRefused
from accessgov.policy import lifetime
from accessgov.policy.access import require_api_access, require_credential_room
from tenants.models import Organization, Tenant
from tokens.models import ThirdPartyToken, generate_token_id, grace_period

MAX_BATCH_SIZE = 10_000
ops_logger = logging.getLogger("accessgov.ops")


@dataclass(frozen=True)
class TokenTerms:
    """What an administrator decides about a token: its details and its authorization."""

    name: str
    description: str
    starts_at: datetime | None  # None: from now
    expires_at: datetime | None  # None: never expires
    allowed_ips: tuple[str, ...]  # normalised networks; empty: any address
    organization_ids: tuple[int, ...] | None  # None: all organizations of the tenant
    permissions: tuple[str, ...]

    def as_fields(self, now: datetime) -> dict:
        """Return the model field values these terms set."""
        return {
            "name": self.name,
            "description": self.description,
            "starts_at": self.starts_at or now,
            "expires_at": self.expires_at,
            "allowed_ips": list(self.allowed_ips),
            "all_organizations": self.organization_ids is None,
            "organization_ids": sorted(set(self.organization_ids or ())),
            "permissions": sorted(set(self.permissions)),
        }


def _check_terms(*, tenant: Tenant, fields: dict, expiry_changed: bool, now: datetime) -> None:
    """Refuse terms a form should already have refused: the rules hold even for other callers."""
    if not fields["permissions"]:
        raise ActionRefused("Select at least one permission.")
    unknown = set(fields["permissions"]) - catalogue.current().permissions
    if unknown:
        raise ActionRefused(f"Unknown permission: {', '.join(sorted(unknown))}.")
    expires_at = fields["expires_at"]
    if expires_at is not None:
        if expires_at <= fields["starts_at"]:
            raise ActionRefused("The expiration date must be after the start date.")
        if expiry_changed and expires_at <= now:
            raise ActionRefused("The expiration date must be in the future.")
    if not fields["all_organizations"]:
        wanted = set(fields["organization_ids"])
        if not wanted:
            raise ActionRefused("Select at least one organization, or allow all organizations.")
        found = Organization.objects.for_tenant(tenant).filter(pk__in=wanted).count()
        if found != len(wanted):
            raise ActionRefused(f"Only organizations of {tenant.name} can be selected.")
    # The tenant's lifetime policy holds for every caller (the form shows the same on its fields).
    breaches = lifetime.check(
        tenant, fields["starts_at"], fields["expires_at"], fields["permissions"], fields["allowed_ips"]
    )
    if breaches:
        raise ActionRefused(" ".join(breaches))


def _name_taken(tenant: Tenant, name: str, exclude_pk: int | None = None) -> bool:
    tokens = ThirdPartyToken.objects.for_tenant(tenant).filter(name__iexact=name)
    if exclude_pk is not None:
        tokens = tokens.exclude(pk=exclude_pk)
    return tokens.exists()


def _duplicate_name(name: str) -> ActionRefused:
    return ActionRefused(
        f"A token named “{name}” already exists (revoked tokens keep their name until deleted)."
    )


@sensitive_variables("secret")
def create_token(
    *, tenant: Tenant, terms: TokenTerms, by, ip: str | None, now: datetime | None = None
) -> tuple[ThirdPartyToken, str]:
    """Create a token for TENANT on TERMS and return it with its secret, shown once."""
    now = now or timezone.now()
    fields = terms.as_fields(now)
    try:
        with transaction.atomic():
            # Checked inside the transaction: a token is never made for a tenant whose access is off.
            require_api_access(tenant, before="creating tokens")
            require_credential_room(tenant)
            _check_terms(tenant=tenant, fields=fields, expiry_changed=True, now=now)
            if _name_taken(tenant, terms.name):
                raise _duplicate_name(terms.name)
            token = ThirdPartyToken(
                tenant=tenant,
                token_id=generate_token_id(),
                created_by=by,
                created_at=now,
                updated_at=now,
                **fields,
            )
            secret = token.set_secret(now)
            token.save(force_insert=True)
            record_event(
                tenant=tenant,
                actor=by,
                action=Action.TOKEN_CREATED,
                target=token,
                details=_describe(token),
                ip=ip,
            )
    except IntegrityError as error:
        # Two administrators creating the same name at once: the unique constraint decides.
        raise _duplicate_name(terms.name) from error
    return token, secret


def _describe(token: ThirdPartyToken) -> dict:
    """Return the audit-worthy terms of TOKEN (never its digest)."""
    return {
        "token_id": token.token_id,
        "name": token.name,
        "starts_at": token.starts_at.isoformat(),
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "allowed_ips": token.allowed_ips,
        "organizations": "all" if token.all_organizations else token.organization_ids,
        "permissions": token.permissions,
    }


def _audit_value(value):
    return value.isoformat() if isinstance(value, datetime) else value


def update_token(
    *,
    token: ThirdPartyToken,
    terms: TokenTerms,
    by,
    ip: str | None,
    now: datetime | None = None,
    reason: dict | None = None,
) -> list[str]:
    """Change TOKEN's details and authorization to TERMS; return the changed field names.

    REASON, when the change is not a plain edit (tokens.narrowing), is added to the audit event.
    """
    now = now or timezone.now()
    try:
        with transaction.atomic():
            locked = ThirdPartyToken.objects.select_for_update().filter(pk=token.pk).first()
            if locked is None:
                raise ActionRefused("This token was deleted meanwhile.")
            if locked.revoked_at is not None:
                raise ActionRefused(
                    f"“{locked.name}” is revoked. Reinstate it with “Regenerate Token Secret” before editing it."
                )
            fields = terms.as_fields(now)
            changes = {
                name: {"from": _audit_value(getattr(locked, name)), "to": _audit_value(value)}
                for name, value in fields.items()
                if getattr(locked, name) != value
            }
            if not changes:
                return []
            _check_terms(tenant=locked.tenant, fields=fields, expiry_changed="expires_at" in changes, now=now)
            if "name" in changes and _name_taken(locked.tenant, terms.name, exclude_pk=locked.pk):
                raise _duplicate_name(terms.name)
            for name, value in fields.items():
                setattr(locked, name, value)
            locked.updated_at = now
            locked.save(update_fields=[*changes, "updated_at"])
            record_event(
                tenant=locked.tenant,
                actor=by,
                action=Action.TOKEN_UPDATED,
                target=locked,
                details={"token_id": locked.token_id, "changes": changes, **(reason or {})},
                ip=ip,
            )
    except IntegrityError as error:
        raise _duplicate_name(terms.name) from error
    return list(changes)


@transaction.atomic
def revoke_token(*, token: ThirdPartyToken, by, ip: str | None, now: datetime | None = None) -> None:
    """Revoke TOKEN: it stops working at once and is deleted when its grace period ends."""
    now = now or timezone.now()
    if not token.revoke(by=by, now=now):
        raise ActionRefused(f"“{token.name}” is already revoked.")
    record_event(
        tenant=token.tenant,
        actor=by,
        action=Action.TOKEN_REVOKED,
        target=token,
        details={"token_id": token.token_id, "deleted_on": token.deleted_on().isoformat()},
        ip=ip,
    )


@sensitive_variables("secret")
def regenerate_secret(
    *, token: ThirdPartyToken, by, ip: str | None, now: datetime | None = None
) -> tuple[ThirdPartyToken, str, bool]:
    """Give TOKEN a new secret (the old one stops at once), reinstating it if revoked within its grace.

    Return the token, the new secret (shown once) and whether the token was reinstated.
    """
    now = now or timezone.now()
    with transaction.atomic():
        require_api_access(token.tenant, before="regenerating token secrets")
        locked = ThirdPartyToken.objects.select_for_update().filter(pk=token.pk).first()
        if locked is None:
            raise ActionRefused("This token was deleted; there is nothing to reinstate. Create a new token.")
        reinstating = locked.revoked_at is not None
        if reinstating and not locked.can_be_reinstated(now):
            raise ActionRefused(
                f"“{locked.name}” was revoked on {locked.revoked_at:%Y-%m-%d} and its grace period ended "
                f"on {locked.deleted_on():%Y-%m-%d}; there is nothing to reinstate. Create a new token."
            )
        if reinstating:
            # Reinstating brings a credential back: it needs a place like a new one.
            require_credential_room(locked.tenant)
        secret = locked.set_secret(now)
        locked.forget_previous()  # no overlap: every earlier secret stops (tokens.rotation rolls with one)
        locked.revoked_at = None
        locked.revoked_by = None
        locked.updated_at = now
        locked.save(
            update_fields=[
                "digest",
                "pepper_id",
                "secret_set_at",
                "revoked_at",
                "revoked_by",
                "updated_at",
                *locked.ROTATION_FIELDS,
            ]
        )
        record_event(
            tenant=locked.tenant,
            actor=by,
            action=Action.TOKEN_REINSTATED if reinstating else Action.TOKEN_SECRET_REGENERATED,
            target=locked,
            details={"token_id": locked.token_id},
            ip=ip,
        )
    return locked, secret, reinstating


@dataclass
class PurgeSummary:
    """What one purge_revoked run did (or, for a dry run, would do)."""

    tokens: int = 0
    batches: int = 0
    tenants: dict[str, int] = field(default_factory=dict)  # tenant slug → tokens (deleted or to delete)
    seconds: float = 0.0
    dry_run: bool = False

    def describe(self) -> str:
        """Return the one-sentence summary a person reads at the end of a run."""
        if self.dry_run:
            return f"Dry run: {self.tokens} token(s) of {len(self.tenants)} tenant(s) would be deleted."
        if not self.tokens:
            return "Nothing to delete."
        return f"Deleted {self.tokens} token(s) of {len(self.tenants)} tenant(s) in {self.batches} batch(es)."

    def log_line(self) -> str:
        """Return the run as one `key=value` line for the operations log."""
        return (
            f"purge_revoked finished tokens={self.tokens} batches={self.batches} "
            f"tenants={len(self.tenants)} seconds={self.seconds:.2f} dry_run={str(self.dry_run).lower()}"
        )


def purge_revoked_tokens(
    *,
    now: datetime,
    grace_days: int | None = None,
    batch_size: int = 1000,
    dry_run: bool = False,
    report: Callable[[str], None] = lambda line: None,
) -> PurgeSummary:
    """Delete the tokens revoked more than GRACE_DAYS before NOW, in batches of short transactions.

    Memory stays flat whatever the number of rows: tenants are visited one at a time and each
    tenant's rows in keyset order (revoked_at, id), BATCH_SIZE ids at a time. Two overlapping runs
    lock disjoint rows (SKIP LOCKED where the database has it), and a run killed half-way leaves
    only whole batches deleted, so the next run finishes the work. Each batch commits with its own
    `token.purged` audit event, so whatever is deleted is accounted for even if the run is killed.
    REPORT gets a line per batch (per token on a dry run); the run ends with one line on the
    "accessgov.ops" logger.
    """
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch_size must be between 1 and {MAX_BATCH_SIZE}.")
    started = time.monotonic()
    purgeable = ThirdPartyToken.objects.purgeable(now, grace_days)
    summary = PurgeSummary(dry_run=dry_run)
    if dry_run:
        rows = purgeable.order_by("tenant_id", "revoked_at", "id").values_list(
            "tenant__slug", "token_id", "name", "revoked_at"
        )
        for slug, token_id, name, revoked_at in rows.iterator(chunk_size=2000):
            report(f"Would delete {token_id} “{name}” of {slug}, revoked {revoked_at:%Y-%m-%d %H:%M} UTC")
            summary.tokens += 1
            summary.tenants[slug] = summary.tenants.get(slug, 0) + 1
    else:
        run = secrets.token_hex(6)  # groups the audit events of one run
        last_tenant_id = 0
        while True:
            tenant_id = (
                purgeable.filter(tenant_id__gt=last_tenant_id)
                .order_by("tenant_id")
                .values_list("tenant_id", flat=True)
                .first()
            )
            if tenant_id is None:
                break
            last_tenant_id = tenant_id
            tenant = Tenant.objects.get(pk=tenant_id)
            _purge_tenant(tenant, purgeable, grace_days, batch_size, run, summary, report)
    summary.seconds = time.monotonic() - started
    ops_logger.info(summary.log_line())
    return summary


def _purge_tenant(tenant, purgeable, grace_days, batch_size, run, summary, report) -> None:
    """Delete TENANT's purgeable tokens batch by batch, each batch committed with its audit event."""
    skip_locked = connection.features.has_select_for_update_skip_locked
    deleted = 0
    number = 0
    cursor = None  # (revoked_at, id) of the last row this run has seen: no row is read twice
    while True:
        with transaction.atomic():
            rows = purgeable.filter(tenant=tenant).order_by("revoked_at", "id")
            if cursor is not None:
                # The first condition bounds the index range, the second is the exact keyset.
                rows = rows.filter(revoked_at__gte=cursor[0]).filter(
                    Q(revoked_at__gt=cursor[0]) | Q(id__gt=cursor[1])
                )
            if skip_locked:
                # Rows another run is deleting right now are left to it.
                rows = rows.select_for_update(skip_locked=True)
            # One row more than the batch tells whether this batch is the tenant's last, so a
            # tenant whose tokens fit in one batch gets exactly one audit event per run.
            seen = list(rows.values_list("revoked_at", "id")[: batch_size + 1])
            batch = seen[:batch_size]
            last = len(seen) <= batch_size
            count = 0
            if batch:
                cursor = batch[-1]
                # One DELETE statement: nothing listens for a token's deletion (a purged token
                # was revoked, and refused, for its whole grace period) and nothing points at a
                # token with a Python-level on_delete (its own foreign keys are database-level,
                # so Django's check fields.E323 refuses any that would), so Django deletes
                # without loading the rows (tests/tokens/test_purge.py captures the SQL).
                count, _ = purgeable.filter(pk__in=[pk for _, pk in batch]).delete()
            if count:
                number += 1
                deleted += count
                details = {"count": count, "grace_days": grace_period(grace_days).days, "run": run}
                details["batch"] = number
                if last:
                    details["run_count"] = deleted
                # Written in the batch's own transaction: a run killed between two batches has
                # every committed deletion in the audit log (the log is append-only, so one
                # event cannot be updated batch after batch).
                record_event(
                    tenant=tenant,
                    actor=None,
                    actor_label="system",
                    action=Action.TOKEN_PURGED,
                    details=details,
                )
        if count:
            summary.tokens += count
            summary.batches += 1
            summary.tenants[tenant.slug] = summary.tenants.get(tenant.slug, 0) + count
            report(
                f"{tenant.slug}: batch {number} deleted {count} token(s) "
                f"({deleted} for this tenant, {summary.tokens} in all)"
            )
        if last:
            return
