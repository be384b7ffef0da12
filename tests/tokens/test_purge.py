"""purge_revoked: only tokens past their grace, in batches, dry-run, audit, overlap and restart."""

import re
import threading
from datetime import UTC, datetime, timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.db.models.query import QuerySet
from django.db.models.signals import post_delete
from django.test.utils import CaptureQueriesContext

from accessgov.models import AuditEvent
from tests.factories import TenantFactory, ThirdPartyTokenFactory
from tokens.actions import purge_revoked_tokens
from tokens.models import ThirdPartyToken

NOW = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
GRACE = timedelta(days=30)


def _revoked(tenant, *, ago: timedelta, **fields):
    return ThirdPartyTokenFactory(tenant=tenant, revoked_at=NOW - ago, **fields)


def _run(*args: str) -> str:
    out = StringIO()
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        call_command("purge_revoked", *args, stdout=out)
    return out.getvalue()


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
    assert "Deleted 2 revoked token(s) of acme" in output
    assert "Deleted 2 token(s) of 1 tenant(s) in 1 batch(es)." in output
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


def test_nothing_to_do_says_so_and_succeeds(tenant):
    ThirdPartyTokenFactory(tenant=tenant)
    assert _run() == "Nothing to delete.\n"
    assert _run("--dry-run") == "Dry run: 0 token(s) of 0 tenant(s) would be deleted.\n"


def test_grace_days_can_be_given_on_the_command_line(tenant):
    _revoked(tenant, ago=timedelta(days=8))
    assert "Nothing to delete." in _run()
    assert "Deleted 1 token(s)" in _run("--grace-days", "7")


@pytest.mark.parametrize("args", [["--batch-size", "0"], ["--batch-size", "10001"], ["--grace-days", "-1"]])
def test_bad_options_are_refused(args):
    with pytest.raises(CommandError):
        _run(*args)


def test_each_tenant_purged_from_gets_one_audit_event_with_the_count(tenant, other_tenant):
    quiet = TenantFactory(slug="quiet")
    for _ in range(5):
        _revoked(tenant, ago=GRACE + timedelta(days=1))
    for _ in range(2):
        _revoked(other_tenant, ago=GRACE + timedelta(days=2))
    _revoked(quiet, ago=timedelta(days=2))
    _run("--batch-size", "2")
    events = AuditEvent.objects.filter(action="token.purged").select_related("tenant")
    assert {(e.tenant.slug, e.details["count"]) for e in events} == {("acme", 5), ("rival", 2)}
    assert {(e.actor_id, e.actor_label) for e in events} == {(None, "system")}
    assert ThirdPartyToken.objects.count() == 1


def test_every_batch_is_one_short_select_and_one_delete_statement(tenant):
    for _ in range(5):
        _revoked(tenant, ago=GRACE + timedelta(days=1))
    # Even with delete receivers connected, no purged row is loaded into Python.
    receiver = mock.Mock()
    post_delete.connect(receiver, sender=ThirdPartyToken, dispatch_uid="test-purge-receiver")
    try:
        with CaptureQueriesContext(connection) as captured:
            summary = purge_revoked_tokens(now=NOW, batch_size=2)
    finally:
        post_delete.disconnect(sender=ThirdPartyToken, dispatch_uid="test-purge-receiver")
    assert (summary.tokens, summary.batches) == (5, 3)
    receiver.assert_not_called()
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
    # No rows are loaded into Python to be collected: the batch SELECT reads two columns only.
    batch_select = re.compile(r"^SELECT .* LIMIT 2( FOR UPDATE SKIP LOCKED)?$")
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
    # The first batch was committed on its own; the second rolled back whole.
    assert ThirdPartyToken.objects.count() == 3
    summary = purge_revoked_tokens(now=NOW, batch_size=2)
    assert summary.tokens == 3
    assert not ThirdPartyToken.objects.exists()
    assert [e.details["count"] for e in AuditEvent.objects.filter(action="token.purged")] == [3]
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
    assert AuditEvent.objects.get(action="token.purged").details["count"] == 3
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
