"""`manage.py sync_tenants FILE.json`: the operator API's upserts from a file, in one transaction.

The file is read and checked whole before anything is changed, and applied in one transaction, so
a malformed file (or a record the workflows refuse) changes nothing and the error names the first
bad record. The format is in docs/operator.md, with an example under examples/operator/.
"""

import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction

from accessgov.core.errors import ActionRefused
from accessgov.operator import provisioning
from accessgov.operator.models import Outcome

ops_logger = logging.getLogger("accessgov.ops")

TENANT_KEYS = {
    "external_id",
    "name",
    "slug",
    "active",
    "administrators_must_use_mfa",
    "organizations",
    "members",
}
ORGANIZATION_KEYS = {"external_id", "name"}
MEMBER_KEYS = {"email", "role"}


class SyncFileError(Exception):
    """The file cannot be applied; the message names the first bad record and why."""


@dataclass(frozen=True)
class TenantRecord:
    where: str  # "tenants[3] (external_id c-1004)", for messages
    spec: provisioning.TenantSpec
    organizations: tuple[tuple[str, str], ...]  # (external_id, name)
    members: tuple[tuple[str, str], ...]  # (email, role)


@dataclass
class SyncSummary:
    """What one run did (or, for a dry run, would do), counted per kind of row and outcome."""

    dry_run: bool = False
    counts: Counter = field(default_factory=Counter)  # ("tenants", Outcome) → n
    seconds: float = 0.0

    @property
    def changed(self) -> int:
        return sum(n for (_, outcome), n in self.counts.items() if outcome != Outcome.UNCHANGED)

    def describe(self) -> str:
        """Return the summary a person reads at the end of a run."""
        parts = []
        for kind in ("tenants", "organizations", "members"):
            found = {o: self.counts[(kind, o)] for o in Outcome if self.counts[(kind, o)]}
            if found:
                parts.append(f"{kind}: " + ", ".join(f"{n} {o}" for o, n in found.items()))
        text = "; ".join(parts) or "nothing in the file"
        return f"Dry run, nothing changed. Would apply: {text}." if self.dry_run else f"Synced {text}."

    def log_line(self) -> str:
        """Return the run as one key=value line for the operations log."""
        counts = " ".join(
            f"{kind}_{outcome}={self.counts[(kind, outcome)]}"
            for kind in ("tenants", "organizations", "members")
            for outcome in Outcome
            if self.counts[(kind, outcome)]
        )
        return (
            f"sync_tenants finished changed={self.changed} {counts} seconds={self.seconds:.2f} "
            f"dry_run={str(self.dry_run).lower()}"
        ).replace("  ", " ")


def _text(value, what: str, where: str, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SyncFileError(f"{where}: {what} must be a non-empty string.")
    return value


def _flag(value, what: str, where: str) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise SyncFileError(f"{where}: {what} must be true or false.")
    return value


def _list(value, what: str, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SyncFileError(f"{where}: {what} must be a list.")
    return value


def _object(value, keys: set[str], where: str) -> dict:
    if not isinstance(value, dict):
        raise SyncFileError(f"{where}: must be an object.")
    unknown = sorted(set(value) - keys)
    if unknown:
        raise SyncFileError(f"{where}: unknown field {unknown[0]!r} (fields: {', '.join(sorted(keys))}).")
    return value


def read_sync_file(text: str) -> list[TenantRecord]:
    """Return the tenant records of the JSON TEXT, or raise SyncFileError naming the first bad one."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise SyncFileError(f"Not JSON: {error.msg} at line {error.lineno}, column {error.colno}.") from None
    document = _object(document, {"tenants"}, "the file")
    tenants = document.get("tenants")
    if not isinstance(tenants, list):
        raise SyncFileError('the file: needs "tenants": a list of tenants.')
    records, seen = [], set()
    for index, raw in enumerate(tenants):
        where = f"tenants[{index}]"
        raw = _object(raw, TENANT_KEYS, where)
        external_id = _text(raw.get("external_id"), "external_id", where)
        where = f"tenants[{index}] (external_id {external_id})"
        if external_id in seen:
            raise SyncFileError(f"{where}: this external_id appears twice in the file.")
        seen.add(external_id)
        organizations, org_ids = [], set()
        for number, org in enumerate(_list(raw.get("organizations"), "organizations", where)):
            org_where = f"{where}: organizations[{number}]"
            org = _object(org, ORGANIZATION_KEYS, org_where)
            org_id = _text(org.get("external_id"), "external_id", org_where)
            if org_id in org_ids:
                raise SyncFileError(f"{org_where}: external_id {org_id} appears twice in this tenant.")
            org_ids.add(org_id)
            organizations.append((org_id, _text(org.get("name"), "name", org_where)))
        members = []
        for number, member in enumerate(_list(raw.get("members"), "members", where)):
            member_where = f"{where}: members[{number}]"
            member = _object(member, MEMBER_KEYS, member_where)
            members.append(
                (
                    _text(member.get("email"), "email", member_where),
                    _text(member.get("role"), "role", member_where),
                )
            )
        spec = provisioning.TenantSpec(
            external_id=external_id,
            name=_text(raw.get("name"), "name", where, required=False),
            slug=_text(raw.get("slug"), "slug", where, required=False),
            administrators_must_use_mfa=_flag(
                raw.get("administrators_must_use_mfa"), "administrators_must_use_mfa", where
            ),
            active=_flag(raw.get("active"), "active", where),
        )
        records.append(TenantRecord(where, spec, tuple(organizations), tuple(members)))
    return records


class _DryRun(Exception):
    """Raised to roll a dry run back once it has seen everything it would change."""


def apply_sync(
    records: list[TenantRecord],
    *,
    actor_label: str,
    dry_run: bool = False,
    report: Callable[[str], None] = lambda line: None,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> SyncSummary:
    """Upsert RECORDS in one transaction and return what changed (DRY_RUN: roll back, report it).

    REPORT gets a line per change; PROGRESS (done, total) is called every 100 tenants. A record the
    workflows refuse raises SyncFileError naming it, and nothing of the file is kept.
    """
    started = time.monotonic()
    summary = SyncSummary(dry_run=dry_run)
    try:
        with transaction.atomic():
            for done, record in enumerate(records, start=1):
                _apply_record(record, actor_label=actor_label, summary=summary, report=report)
                if done % 100 == 0:
                    progress(done, len(records))
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    summary.seconds = time.monotonic() - started
    ops_logger.info(summary.log_line())
    return summary


def _apply_record(record: TenantRecord, *, actor_label: str, summary: SyncSummary, report) -> None:
    where = record.where
    try:
        tenant, outcome = provisioning.upsert_tenant(spec=record.spec, actor_label=actor_label)
    except ActionRefused as refusal:
        raise SyncFileError(f"{where}: {refusal}") from refusal
    _count(summary, "tenants", outcome, f"tenant {record.spec.external_id} “{tenant.name}”", report)
    for number, (external_id, name) in enumerate(record.organizations):
        try:
            _, outcome = provisioning.upsert_organization(
                tenant=tenant, external_id=external_id, name=name, actor_label=actor_label
            )
        except ActionRefused as refusal:
            raise SyncFileError(f"{where}: organizations[{number}]: {refusal}") from refusal
        _count(
            summary,
            "organizations",
            outcome,
            f"organization {external_id} “{name}” of {record.spec.external_id}",
            report,
        )
    for number, (email, role) in enumerate(record.members):
        try:
            _, outcome = provisioning.upsert_membership(
                tenant=tenant, email=email, role=role, actor_label=actor_label
            )
        except ActionRefused as refusal:
            raise SyncFileError(f"{where}: members[{number}]: {refusal}") from refusal
        _count(summary, "members", outcome, f"member {email} ({role}) of {record.spec.external_id}", report)


def _count(summary: SyncSummary, kind: str, outcome: Outcome, label: str, report) -> None:
    summary.counts[(kind, outcome)] += 1
    if outcome != Outcome.UNCHANGED:
        report(f"{'Would be ' if summary.dry_run else ''}{outcome}: {label}")
