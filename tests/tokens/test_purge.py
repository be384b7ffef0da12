"""purge_revoked: only tokens past their grace, in batches, dry-run, audit, overlap and restart.

Attack catalogue case 16: purge deletes only tokens revoked over 30 days ago.
"""

import re
import threading
from datetime import UTC, datetime, timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.db.models.query import QuerySet
from django.db.models.signals import post_delete, pre_delete
from django.test.utils import CaptureQueriesContext

from accessgov.audit.models import AuditEvent
from tests.factories import TenantFactory, ThirdPartyTokenFactory
from tokens.actions import purge_revoked_tokens
from tokens.models import ThirdPartyToken

NOW = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
GRACE = timedelta(days=30)


def _revoked(tenant, *, ago: timedelta, **fields):
    return ThirdPartyTokenFactory(tenant=tenant, revoked_at=NOW - ago, **fields)


class Terminal(StringIO):
    """Standard output as a person running the command by hand has it."""

    def isatty(self) -> bool:
        return True


class CronOutput(StringIO):
    """Standard output as cron gives it: a pipe, not a terminal."""

    def isatty(self) -> bool:
        return False


def _run(*args: str, tty: bool = False) -> str:
    out = Terminal() if tty else CronOutput()
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        call_command("purge_revoked", *args, stdout=out)
    return out.getvalue()


def _purged_events():
    return AuditEvent.objects.filter(action="token.purged").select_related("tenant").order_by("pk")


@pytest.fixture(autouse=True)
def _grace(settings):
    settings.ACCESSGOV_REVOKE_GRACE_DAYS = 30


def test_only_tokens_revoked_longer_than_the_grace_are_deleted(tenant):
    gone = _revoked(tenant, ago=GRACE)
    also_gone = _revoked(tenant, ago=GRACE + timedelta(days=400))
    within = _revoked(tenant, ago=GRACE - timedelta(seconds=1))
    active = ThirdPartyTokenFactory(tenant=tenant)
    expired = ThirdPartyTokenFactory(tenant=tenant, expired=True)
    output = _run()
    assert output == "Deleted 2 token(s) of 1 tenant(s) in 1 batch(es).\n"
    left = set(ThirdPartyToken.objects.values_list("pk", flat=True))
    assert left == {within.pk, active.pk, expired.pk}
    assert gone.pk not in left and also_gone.pk not in left


def test_the_dry_run_lists_what_would_go_and_changes_nothing(tenant, other_tenant):
    token = _revoked(tenant, ago=GRACE + timedelta(days=1), name="Old sync")
    _revoked(other_tenant, ago=GRACE + timedelta(days=1))
    _revoked(tenant, ago=timedelta(days=1))
    output = _run("--dry-run")
    assert f"Would delete {token.token_id} “Old sync” of acme" in output
    assert "Dry run: 2 token(s) of 2 tenant(s) would be deleted." in output
    assert ThirdPartyToken.objects.count() == 3
    assert not AuditEvent.objects.exists()


def test_nothing_to_do_is_said_on_a_terminal_and_silent_under_cron(tenant):
    ThirdPartyTokenFactory(tenant=tenant)
    assert _run(tty=True) == "Nothing to delete.\n"
    # Under cron any output becomes a mail: a run with nothing to do prints nothing (and exits 0).
    assert _run() == ""
    assert _run("--dry-run") == "Dry run: 0 token(s) of 0 tenant(s) would be deleted.\n"


def test_on_a_terminal_each_batch_prints_a_progress_line_then_the_summary(tenant, other_tenant):
    for _ in range(5):
        _revoked(tenant, ago=GRACE + timedelta(days=1))
    _revoked(other_tenant, ago=GRACE + timedelta(days=1))
    assert _run("--batch-size", "2", tty=True).splitlines() == [
        "acme: batch 1 deleted 2 token(s) (2 for this tenant, 2 in all)",
        "acme: batch 2 deleted 2 token(s) (4 for this tenant, 4 in all)",
        "acme: batch 3 deleted 1 token(s) (5 for this tenant, 5 in all)",
        "rival: batch 1 deleted 1 token(s) (1 for this tenant, 6 in all)",
        "Deleted 6 token(s) of 2 tenant(s) in 4 batch(es).",
    ]


def test_under_cron_only_the_summary_is_printed_and_verbosity_two_restores_progress(tenant):
    for _ in range(5):
        _revoked(tenant, ago=GRACE + timedelta(days=1))
    assert _run("--batch-size", "2", "--dry-run").count("Would delete") == 5
    assert _run("--batch-size", "2", "-v", "0") == ""
    assert ThirdPartyToken.objects.count() == 0
    for _ in range(3):
        _revoked(tenant, ago=GRACE + timedelta(days=1))
    output = _run("--batch-size", "2", "-v", "2")
    assert output.count("acme: batch") == 2 and output.endswith("in 2 batch(es).\n")


def test_every_run_logs_one_structured_line(tenant, caplog):
    for _ in range(3):
        _revoked(tenant, ago=GRACE + timedelta(days=1))
    with caplog.at_level("INFO", logger="accessgov.ops"):
        _run("--batch-size", "2")
        _run()
        _run("--dry-run")
    lines = [r.getMessage() for r in caplog.records if r.name == "accessgov.ops"]
    pattern = re.compile(
        r"^purge_revoked finished tokens=(\d+) batches=(\d+) tenants=(\d+) seconds=\d+\.\d\d dry_run=(true|false)$"
    )
    assert [pattern.match(line).groups() for line in lines] == [
        ("3", "2", "1", "false"),
        ("0", "0", "0", "false"),
        ("0", "0", "0", "true"),
    ], lines


def test_grace_days_can_be_given_on_the_command_line(tenant):
    _revoked(tenant, ago=timedelta(days=8))
    assert _run() == ""
    assert "Deleted 1 token(s)" in _run("--grace-days", "7")


@pytest.mark.parametrize("args", [["--batch-size", "0"], ["--batch-size", "10001"], ["--grace-days", "-1"]])
def test_bad_options_are_refused(args):
    with pytest.raises(CommandError):
        _run(*args)


def test_each_tenant_purged_from_in_one_batch_gets_one_audit_event_with_the_count(tenant, other_tenant):
    quiet = TenantFactory(slug="quiet")
    for _ in range(5):
        _revoked(tenant, ago=GRACE + timedelta(days=1))
    for _ in range(2):
        _revoked(other_tenant, ago=GRACE + timedelta(days=2))
    _revoked(quiet, ago=timedelta(days=2))
    _run("--batch-size", "5")
    events = _purged_events()
    assert [(e.tenant.slug, e.details["count"], e.details["run_count"]) for e in events] == [
        ("acme", 5, 5),
        ("rival", 2, 2),
    ]
    assert {(e.actor_id, e.actor_label) for e in events} == {(None, "system")}
    assert len({e.details["run"] for e in events}) == 1
    assert ThirdPartyToken.objects.count() == 1


def test_a_tenant_purged_in_several_batches_gets_an_event_per_batch_and_the_total_on_the_last(tenant):
    for _ in range(5):
        _revoked(tenant, ago=GRACE + timedelta(days=1))
    _run("--batch-size", "2")
    details = [e.details for e in _purged_events()]
    assert [(d["batch"], d["count"], d.get("run_count")) for d in details] == [
        (1, 2, None),
        (2, 2, None),
        (3, 1, 5),
    ]
    assert {d["grace_days"] for d in details} == {30}


def test_every_batch_is_one_short_select_and_one_delete_statement(tenant):
    for _ in range(5):
        _revoked(tenant, ago=GRACE + timedelta(days=1))
    # Nothing listens for a token's deletion, so QuerySet.delete() needs no row in Python.
    assert not pre_delete.has_listeners(ThirdPartyToken)
    assert not post_delete.has_listeners(ThirdPartyToken)
    with CaptureQueriesContext(connection) as captured:
        summary = purge_revoked_tokens(now=NOW, batch_size=2)
    assert (summary.tokens, summary.batches) == (5, 3)
    # Each batch commits with its own audit event.
    assert [e.details["count"] for e in _purged_events()] == [2, 2, 1]
    token_queries = [
        q["sql"]
        for q in captured.captured_queries
        if '"tokens_thirdpartytoken"' in q["sql"].split(" WHERE ")[0]
    ]
    # Find the tenant, then three batches of SELECT + DELETE, then look for a next tenant.
    assert [sql.split()[0] for sql in token_queries] == ["SELECT"] + ["SELECT", "DELETE"] * 3 + ["SELECT"]
    deletes = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3
    assert all('FROM "tokens_thirdpartytoken"' in sql for sql in deletes)
    # No rows are loaded into Python to be collected: the batch SELECT reads two columns only, of
    # one row more than the batch (to know whether the batch is the tenant's last).
    batch_select = re.compile(r"^SELECT .* LIMIT 3( FOR UPDATE SKIP LOCKED)?$")
    selects = [q["sql"] for q in captured.captured_queries if batch_select.match(q["sql"])]
    assert len(selects) == 3
    assert all(sql.split(" FROM ")[0].count(",") == 1 for sql in selects)


def test_a_run_killed_half_way_is_finished_by_the_next_run(tenant):
    for _ in range(5):
        _revoked(tenant, ago=GRACE + timedelta(days=1))
    real_delete = QuerySet._raw_delete
    calls = {"n": 0}

    def dying_delete(self, using):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # killed while deleting the second batch
        return real_delete(self, using)

    with mock.patch.object(QuerySet, "_raw_delete", dying_delete), pytest.raises(KeyboardInterrupt):
        purge_revoked_tokens(now=NOW, batch_size=2)
    # The first batch was committed on its own, with its audit event; the second rolled back whole.
    assert ThirdPartyToken.objects.count() == 3
    [killed_run] = _purged_events()
    assert killed_run.details["count"] == 2 and "run_count" not in killed_run.details
    summary = purge_revoked_tokens(now=NOW, batch_size=2)
    assert summary.tokens == 3
    assert not ThirdPartyToken.objects.exists()
    # Every deleted token is in exactly one event's count, the killed run's included.
    events = list(_purged_events())
    assert [e.details["count"] for e in events] == [2, 2, 1]
    assert len({e.details["run"] for e in events}) == 2
    assert events[-1].details["run_count"] == 3
    assert purge_revoked_tokens(now=NOW, batch_size=2).tokens == 0


def test_rows_deleted_meanwhile_by_another_run_are_not_counted_twice(tenant):
    for _ in range(4):
        _revoked(tenant, ago=GRACE + timedelta(days=1))
    real_delete = QuerySet._raw_delete
    stolen = {}

    def overlapping_delete(self, using):
        if not stolen:
            # Another run deletes one of this batch's rows between this run's SELECT and DELETE
            # (possible only where the database has no SELECT ... SKIP LOCKED).
            victim = ThirdPartyToken.objects.filter(pk__in=self.values("pk")).order_by("pk").first()
            stolen["pk"] = victim.pk
            real_delete(ThirdPartyToken.objects.filter(pk=victim.pk), using)
        return real_delete(self, using)

    with mock.patch.object(QuerySet, "_raw_delete", overlapping_delete):
        summary = purge_revoked_tokens(now=NOW, batch_size=2)
    assert summary.tokens == 3
    assert [e.details["count"] for e in _purged_events()] == [1, 2]
    assert not ThirdPartyToken.objects.exists()


@pytest.mark.skipif(
    connections["default"].vendor != "postgresql", reason="needs concurrent writers (PostgreSQL)"
)
@pytest.mark.django_db(transaction=True)
def test_two_overlapping_runs_delete_each_token_once():
    tenants = [TenantFactory() for _ in range(3)]
    total = 0
    for tenant in tenants:
        ThirdPartyToken.objects.bulk_create(
            ThirdPartyTokenFactory.build(tenant=tenant, revoked_at=NOW - GRACE - timedelta(days=1))
            for _ in range(150)
        )
        total += 150
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(purge_revoked_tokens(now=NOW, batch_size=7))
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(r.tokens for r in results) == total
    assert not ThirdPartyToken.objects.exists()
    counted = sum(e.details["count"] for e in AuditEvent.objects.filter(action="token.purged"))
    assert counted == total
