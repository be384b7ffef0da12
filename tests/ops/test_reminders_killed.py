"""send_reminders killed with SIGKILL half-way: the next run sends the rest, and nothing goes twice.

Runs on a throwaway PostgreSQL of its own (tests/ops/test_faults.py's fixtures), like the other
cron commands' kill tests.
"""

import signal
import subprocess

import pytest

from tests.ops.conftest import PYTHON, ROOT, app_environment, manage, stop_process
from tests.ops.test_faults import _rows, _until, database, postgres  # noqa: F401 - fixtures

pytestmark = [pytest.mark.ops]

TENANTS = 400
TOKENS_PER_TENANT = 3  # under the digest threshold: one mail, one transaction per reminder

SEED = f"""
from datetime import timedelta
from django.utils import timezone
from tenants.models import Tenant
from tests.factories import ThirdPartyTokenFactory
from tokens.models import ThirdPartyToken

now = timezone.now()
template = ThirdPartyTokenFactory.build()
tenants = Tenant.objects.bulk_create(
    [Tenant(name=f"Tenant {{i}}", slug=f"t{{i}}", security_contacts=[f"soc{{i}}@example.com"]) for i in range({TENANTS})]
)
ThirdPartyToken.objects.bulk_create(
    [
        ThirdPartyToken(
            tenant=tenant,
            token_id=f"agt_{{tenant.pk:04d}}{{j:08d}}",
            name=f"Script {{j}}",
            digest=template.digest,
            pepper_id=template.pepper_id,
            starts_at=now - timedelta(days=1),
            expires_at=now + timedelta(days=6),
            permissions=["Me.Read"],
            created_at=now,
            updated_at=now,
            secret_set_at=now,
        )
        for tenant in tenants
        for j in range({TOKENS_PER_TENANT})
    ]
)
"""


def _counts(url: str) -> tuple[int, int, int]:
    """Return the reminders recorded, the reminder mails queued and the credential.expiring events."""
    return (
        _rows(url, "SELECT count(*) FROM tokens_remindersent"),
        _rows(url, "SELECT count(*) FROM accessgov_outgoingmail WHERE kind = 'credential_expiring'"),
        _rows(url, "SELECT count(*) FROM accessgov_auditevent WHERE action = 'credential.expiring'"),
    )


def test_send_reminders_killed_mid_run_is_finished_by_the_next_run_sending_each_reminder_once(database):  # noqa: F811
    env = app_environment(database_url=database, redis_url="", key_prefix="ops")
    manage(env, "migrate", "-v0")
    manage(env, "shell", "-c", SEED)
    total = TENANTS * TOKENS_PER_TENANT
    run = subprocess.Popen(
        [PYTHON, "manage.py", "send_reminders"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        started = _until(lambda: _counts(database)[0] >= 50, timeout=60, step=0.02)
        assert started, "send_reminders recorded nothing within a minute"
    finally:
        stop_process(run, sig=signal.SIGKILL)
    assert run.returncode == -signal.SIGKILL
    recorded, mails, events = _counts(database)
    assert 0 < recorded < total, "killed too late to prove anything"
    # Each committed reminder has its mail and its event; nothing half-done is visible.
    assert recorded == mails == events

    out = manage(env, "send_reminders")
    # Not a terminal: the summary line only, as cron would mail it (the tenant count depends on
    # where the kill fell inside a tenant).
    assert out.startswith(
        f"Queued {total - recorded} reminder(s) in {total - recorded} mail(s) (0 digest(s)) for "
    )
    assert out.count("\n") == 1
    assert _counts(database) == (total, total, total)
    # One mail per token: no token was announced twice.
    assert (
        _rows(
            database,
            "SELECT count(*) FROM (SELECT token_id FROM tokens_remindersent GROUP BY token_id, threshold_days "
            "HAVING count(*) > 1) AS twice",
        )
        == 0
    )
    assert manage(env, "send_reminders") == "", "a cron run with nothing to do prints nothing"
    assert _counts(database) == (total, total, total)
