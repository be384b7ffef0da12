"""A cache that answers from a fallback cache while its primary (Redis) is down or slow."""

import logging
import time

from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# How long a failed primary is skipped before it is tried again. Without it every call in a
# request would wait for its own timeout against a Redis that hangs.
RETRY_PRIMARY_AFTER_SECONDS = 5.0


class FailoverCache(BaseCache):
    """Send each call to OPTIONS["primary"]; on a Redis or socket error, to OPTIONS["fallback"].

    The primary is meant to have short socket timeouts, so that a Redis that refuses or hangs
    costs one bounded wait, after which the fallback (the database cache) answers for a few
    seconds. Counters restart in the fallback: during an outage a guesser gets at most one fresh
    budget, while sign-in keeps working (README, "Sign-in").
    """

    def __init__(self, location, params):
        super().__init__(params)
        options = params.get("OPTIONS", {})
        self._primary_alias = options["primary"]
        self._fallback_alias = options["fallback"]
        self._primary_down_until = 0.0

    def _call(self, name: str, *args, **kwargs):
        if time.monotonic() >= self._primary_down_until:
            try:
                return getattr(caches[self._primary_alias], name)(*args, **kwargs)
            except (RedisError, OSError) as error:
                self._primary_down_until = time.monotonic() + RETRY_PRIMARY_AFTER_SECONDS
                logger.warning(
                    "cache %r failed (%s); using %r", self._primary_alias, error, self._fallback_alias
                )
        return getattr(caches[self._fallback_alias], name)(*args, **kwargs)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", key, value, timeout, version=version)

    def get(self, key, default=None, version=None):
        return self._call("get", key, default, version=version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set", key, value, timeout, version=version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", key, timeout, version=version)

    def delete(self, key, version=None):
        return self._call("delete", key, version=version)

    def incr(self, key, delta=1, version=None):
        return self._call("incr", key, delta, version=version)

    def has_key(self, key, version=None):
        return self._call("has_key", key, version=version)

    def clear(self):
        return self._call("clear")
