"""rollup_usage killed with SIGKILL half-way: the next run finishes, and no count is doubled or lost.

Runs on the throwaway PostgreSQL and Redis of tests/ops/test_faults.py. The calls are put in Redis
as the gate's script leaves them (accessgov.usage.counting's keys), for many credentials, so that a
run takes long enough to be killed in the middle.
"""

import signal
import subprocess

import pytest

from tests.ops.conftest import PYTHON, ROOT, app_environment, manage, stop_process
from tests.ops.test_faults import _rows, _until, database, postgres, redis  # noqa: F401 - fixtures

pytestmark = [pytest.mark.ops]

CREDENTIALS = 3000
ENDPOINTS = 4  # a day's hash of each credential holds this many fields, CALLS each

SEED = f"""
from datetime import UTC, datetime
from django.core.cache import caches
from tenants.models import Tenant
from accessgov.usage import counting

tenant = Tenant.objects.create(name="Busy", slug="busy")
client = caches["default"]._cache.get_client(None, write=True)
today = datetime.now(UTC).date()
now = int(datetime.now(UTC).timestamp() * 1000)
pipe = client.pipeline(transaction=False)
for pk in range(1, {CREDENTIALS} + 1):
    for n in range({ENDPOINTS}):
        pipe.hset(counting.day_key("token", pk, today), counting.field("allowed", "Me.Read", f"GET E{{n}}"), pk)
    pipe.hset(counting.address_key("token", pk), "192.0.2.1", f"{{now}}|{{now}}|GET E0")
    pipe.sadd(counting.dirty_key(), f"token:{{pk}}:{{tenant.pk}}")
pipe.execute()
"""

# Every credential PK counted PK calls on each of ENDPOINTS endpoints.
TOTAL_CALLS = ENDPOINTS * CREDENTIALS * (CREDENTIALS + 1) // 2


def test_rollup_usage_killed_mid_run_is_finished_by_the_next_with_every_count_exact(database, redis):  # noqa: F811
    env = app_environment(database_url=database, redis_url=redis.url, key_prefix="ops-usage")
    manage(env, "migrate", "-v0")
    manage(env, "shell", "-c", SEED)
    run = subprocess.Popen(
        [PYTHON, "manage.py", "rollup_usage"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        started = _until(
            lambda: _rows(database, "SELECT count(*) FROM accessgov_credentialusage") >= 200,
            timeout=60,
            step=0.02,
        )
        assert started, "rollup_usage copied nothing within a minute"
    finally:
        stop_process(run, sig=signal.SIGKILL)
    copied = _rows(database, "SELECT count(*) FROM accessgov_credentialusage")
    assert 0 < copied < CREDENTIALS * ENDPOINTS, "killed too late to prove anything"
    # Each credential's day is copied in one transaction: never half of its endpoints.
    assert copied % ENDPOINTS == 0

    manage(env, "rollup_usage")
    assert _rows(database, "SELECT count(*) FROM accessgov_credentialusage") == CREDENTIALS * ENDPOINTS
    assert _rows(database, "SELECT sum(calls) FROM accessgov_credentialusage") == TOTAL_CALLS
    assert _rows(database, "SELECT count(*) FROM accessgov_credentialaddress") == CREDENTIALS
    # Nothing left to do: a third run copies nothing and changes nothing.
    manage(env, "rollup_usage")
    assert _rows(database, "SELECT sum(calls) FROM accessgov_credentialusage") == TOTAL_CALLS
