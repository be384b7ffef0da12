"""Settings for the test suite: production settings with throwaway secrets and fast hashing."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("ACCESSGOV_KEY_PEPPER", "test-only-pepper-not-for-production")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

from accessgov.settings import *  # noqa: E402,F403

# Argon2 stays first in production; tests hash hundreds of passwords and need not wait for it.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # noqa: S303
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
if REDIS_URL:  # noqa: F405
    CACHES = build_caches(REDIS_URL, f"accessgov-test-{os.getpid()}")  # noqa: F405
# Usage counts of the embedded default are written when read, never on a timer (query pins stay
# exact) nor at exit (the test database is gone by then).
ACCESSGOV_USAGE_FLUSH_SECONDS = 0
ACCESSGOV_USAGE_FLUSH_AT_EXIT = False
