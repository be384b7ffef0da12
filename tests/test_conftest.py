"""The suite's own fixtures (tests/conftest.py): what the cache cleanup between tests may delete."""

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache


@pytest.fixture(scope="module")
def redis_keys_of_others():
    """Write keys into the suite's Redis before the autouse cleanup of the next test runs.

    Module scope puts this fixture before the function-scoped cleanup, so the test sees what the
    cleanup left. One key is this run's; the others belong to someone else sharing the database:
    another program, and another run whose prefix merely starts with ours (pid 12 and pid 123).
    """
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        pytest.skip("the suite's cache is the database here; set REDIS_URL (CI does)")
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    client = cache._cache.get_client(None, write=True)
    ours = f"{prefix}:1:left-over"
    others = [f"someone-else-{prefix}:1:key", f"{prefix}0:1:another-run", "no-prefix-at-all"]
    for key in [ours, *others]:
        client.set(key, "1", ex=300)
    yield client, ours, others
    client.delete(ours, *others)


def test_the_cache_cleanup_deletes_this_runs_keys_and_nobody_elses(redis_keys_of_others):
    client, ours, others = redis_keys_of_others
    assert not client.exists(ours)
    assert [client.get(key) for key in others] == [b"1"] * len(others)
