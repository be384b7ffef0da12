"""Settings for accessgov, read from the environment (README lists every variable)."""

import logging
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    """Return the environment variable NAME read as a boolean."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    """Return the comma-separated environment variable NAME as a list."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
KEY_PEPPER = os.environ.get("ACCESSGOV_KEY_PEPPER", "")
if DEBUG:
    # Only `make run` and local experiments run with DEBUG on; these values are never secret.
    SECRET_KEY = SECRET_KEY or "insecure-development-secret-key-do-not-use-in-production"
    KEY_PEPPER = KEY_PEPPER or "insecure-development-pepper-do-not-use-in-production"
elif not SECRET_KEY or not KEY_PEPPER:
    # Refuse to start rather than run production with a guessable signing key or pepper.
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY and ACCESSGOV_KEY_PEPPER must be set when DJANGO_DEBUG is off "
        "(generate each with: python -c 'import secrets; print(secrets.token_urlsafe(48))')."
    )
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS")
# The pepper ID is stored beside every digest so that a new pepper can be introduced while
# digests made with an older one keep verifying (docs/operations.md, "Pepper rotation").
KEY_PEPPER_ID = os.environ.get("ACCESSGOV_KEY_PEPPER_ID", "1")
KEY_PEPPERS = {KEY_PEPPER_ID: KEY_PEPPER}
for entry in env_list("ACCESSGOV_OLD_KEY_PEPPERS"):
    old_id, _, old_value = entry.partition(":")
    if not old_id or not old_value:
        raise ImproperlyConfigured("ACCESSGOV_OLD_KEY_PEPPERS entries look like ID:PEPPER, comma-separated.")
    if old_id in KEY_PEPPERS:
        # Two peppers under one ID: digests would verify against whichever won, silently.
        raise ImproperlyConfigured(
            f"ACCESSGOV_OLD_KEY_PEPPERS reuses pepper ID {old_id!r} (the current ACCESSGOV_KEY_PEPPER_ID "
            "or an earlier entry): every pepper needs its own ID."
        )
    KEY_PEPPERS[old_id] = old_value

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # The admin site answers only staff verified with a second factor (accessgov.mfa.admin).
    "accessgov.apps.VerifiedAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Form widgets' own templates, for the project-wide FORM_RENDERER below.
    "django.forms",
    "django_htmx",
    "django_ratelimit",
    "oauth2_provider",
    # Second factors (accessgov.mfa): TOTP authenticators, one-time recovery codes and passkeys.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "tenants",
    "accessgov",
    "tokens",
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "accessgov.api.middleware.ApiEdgeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Sets request.user.is_verified(): true only once this session passed a second factor.
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "accessgov.urls"
WSGI_APPLICATION = "accessgov.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "tenants.context_processors.tenancy",
                "tenants.context_processors.single_sign_on",
                "tokens.context_processors.expiring_credentials",
            ],
        },
    },
]

# One way to render a form field: `{{ form.field.as_field_group }}` through templates/core/field.html.
FORM_RENDERER = "accessgov.core.forms.ConsoleFormRenderer"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'var' / 'accessgov.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
# How long sign-in waits for Redis before its throttle answers from the database cache.
LOGIN_REDIS_TIMEOUT = float(os.environ.get("ACCESSGOV_LOGIN_REDIS_TIMEOUT", "0.25"))
# Nothing waits on Redis inside a request for long: a Redis that accepts connections but never
# answers costs one request this long, then accessgov.api.limits skips Redis for
# ACCESSGOV_REDIS_BREAKER_SECONDS (README: what fails open and what fails closed).
ACCESSGOV_REDIS_TIMEOUT = float(os.environ.get("ACCESSGOV_REDIS_TIMEOUT", "0.25"))
ACCESSGOV_REDIS_OPTIONS = {
    "socket_connect_timeout": ACCESSGOV_REDIS_TIMEOUT,
    "socket_timeout": ACCESSGOV_REDIS_TIMEOUT,
}
ACCESSGOV_REDIS_BREAKER_SECONDS = float(os.environ.get("ACCESSGOV_REDIS_BREAKER_SECONDS", "5"))
# Client addresses (IPv4, or IPv6 /64) whose failures are counted at once, and blocks in force at
# once: past it the least recently failing address is forgotten (and the block that ends soonest),
# so the failed-request log's memory is bounded whatever the number of addresses (README).
ACCESSGOV_FAILURE_TRACKED_ADDRESSES = int(os.environ.get("ACCESSGOV_FAILURE_TRACKED_ADDRESSES", "100000"))


def build_caches(redis_url: str, key_prefix: str = "accessgov") -> dict:
    """Return CACHES for REDIS_URL (empty: the database cache).

    The "signin" alias holds the sign-in throttle's counters. With Redis it is a FailoverCache: a
    Redis that refuses or hangs costs at most LOGIN_REDIS_TIMEOUT, then the database cache
    answers, so people can still sign in (and guessing stays throttled) while Redis is down.
    """
    database = {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "accessgov_cache",
        # Django culls a full database cache in key order, which puts "api:block:" first: room for
        # every counted and blocked address (bounded by the setting above) and 10,000 other rows
        # keeps its cull to expired rows, so flooding addresses cannot cull a block in force.
        "OPTIONS": {"MAX_ENTRIES": 2 * ACCESSGOV_FAILURE_TRACKED_ADDRESSES + 10_000},
    }
    if not redis_url:
        return {"default": database, "signin": database}
    redis = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    return {
        "default": {**redis, "KEY_PREFIX": key_prefix, "OPTIONS": ACCESSGOV_REDIS_OPTIONS},
        "signin-redis": {
            **redis,
            "KEY_PREFIX": key_prefix,
            "OPTIONS": {
                "socket_connect_timeout": LOGIN_REDIS_TIMEOUT,
                "socket_timeout": LOGIN_REDIS_TIMEOUT,
            },
        },
        "signin-database": database,
        "signin": {
            "BACKEND": "accessgov.core.failover.FailoverCache",
            "OPTIONS": {"primary": "signin-redis", "fallback": "signin-database"},
        },
    }


CACHES = build_caches(REDIS_URL, os.environ.get("CACHE_KEY_PREFIX", "accessgov"))
RATELIMIT_USE_CACHE = "signin"

SILENCED_SYSTEM_CHECKS = [
    # django-ratelimit only knows django-redis; Django's own RedisCache increments atomically
    # (INCR) and is shared by every app server, which is all the limiter needs.
    "django_ratelimit.W001",
    # django-otp-webauthn wants a fixed list of origins; ours come from the request (the host that
    # ALLOWED_HOSTS accepted) unless ACCESSGOV_PASSKEY_ORIGINS names them (accessgov.mfa.passkeys).
    "otp_webauthn.E030",
]
if not REDIS_URL:
    # The embedded default is a single process on one machine: the database cache is shared by
    # that process's threads, and a lost increment under a race costs one extra sign-in attempt.
    # Every multi-server deployment sets REDIS_URL, and then this check runs again.
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.E003")

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "mfa:sign_in"
LOGIN_REDIRECT_URL = "tenants:list_tenants"
LOGOUT_REDIRECT_URL = "mfa:sign_in"

# Sign-in attempts (django-ratelimit rate strings; accessgov/core/signin.py). Over the first two
# budgets an attempt is refused; over the per-username one only clients that never signed in as
# that user are refused, so a guesser elsewhere cannot lock the owner out.
LOGIN_RATE_PER_USERNAME_AND_IP = os.environ.get("ACCESSGOV_LOGIN_RATE_PER_USERNAME_AND_IP", "5/m")
LOGIN_RATE_PER_IP = os.environ.get("ACCESSGOV_LOGIN_RATE_PER_IP", "20/m")
LOGIN_RATE_PER_USERNAME = os.environ.get("ACCESSGOV_LOGIN_RATE_PER_USERNAME", "10/m")

# The second sign-in step (a TOTP or recovery code; accessgov/mfa): per user, and per address. Over
# either budget the code is not even checked. django-otp's devices add their own growing delay
# after each wrong code.
MFA_RATE_PER_USER = os.environ.get("ACCESSGOV_MFA_RATE_PER_USER", "5/m")
MFA_RATE_PER_IP = os.environ.get("ACCESSGOV_MFA_RATE_PER_IP", "20/m")
# How long a password accepted at the first step waits for its second step.
MFA_PENDING_SECONDS = int(os.environ.get("ACCESSGOV_MFA_PENDING_SECONDS", "300"))
# Where tenants.access sends an administrator who must use MFA and has not (tenants cannot import
# accessgov.mfa: floor 0).
MFA_ENROL_URL = "mfa:manage_mfa"
OTP_TOTP_ISSUER = os.environ.get("ACCESSGOV_OTP_ISSUER", "accessgov")
# TOTP keys are never shown in the admin (case 49 of SECURITY.md).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# Passkeys (WebAuthn, accessgov.mfa.passkeys). The relying party ID is the request's host (port
# dropped) and the expected origin the request's own, unless a deployment behind a proxy names them:
# a passkey is bound to its RP ID, so changing it later makes every registered passkey useless.
PASSKEY_RP_ID = os.environ.get("ACCESSGOV_PASSKEY_RP_ID", "")
PASSKEY_ORIGINS = env_list("ACCESSGOV_PASSKEY_ORIGINS")
OTP_WEBAUTHN_RP_ID_CALLABLE = "accessgov.mfa.passkeys.relying_party_id"
OTP_WEBAUTHN_RP_NAME = os.environ.get("ACCESSGOV_OTP_ISSUER", "accessgov")
OTP_WEBAUTHN_HELPER_CLASS = "accessgov.mfa.passkeys.PasskeyHelper"
# A passkey is a second factor after the password, never a way to skip it.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_EXCEPTION_LOGGER_NAME = "accessgov.mfa.passkeys"

# Single sign-on through one OpenID Connect provider (accessgov.sso, docs/sso.md). Off while
# ACCESSGOV_OIDC_DISCOVERY_URL is empty.
OIDC_DISCOVERY_URL = os.environ.get("ACCESSGOV_OIDC_DISCOVERY_URL", "").strip()
OIDC_CLIENT_ID = os.environ.get("ACCESSGOV_OIDC_CLIENT_ID", "")
OIDC_CLIENT_SECRET = os.environ.get("ACCESSGOV_OIDC_CLIENT_SECRET", "")
OIDC_BUTTON_LABEL = os.environ.get("ACCESSGOV_OIDC_BUTTON_LABEL", "Sign in with single sign-on")
OIDC_SCOPES = os.environ.get("ACCESSGOV_OIDC_SCOPES", "openid email profile")
# How a first sign-in finds its account: "email" (a verified e-mail address) or "sub" (never an
# existing account: the provider's subject only). Later sign-ins always match the stored link.
OIDC_USER_CLAIM = os.environ.get("ACCESSGOV_OIDC_USER_CLAIM", "email").strip()
OIDC_EMAIL_CLAIM = os.environ.get("ACCESSGOV_OIDC_EMAIL_CLAIM", "email").strip()
# The claim that lists the person's tenants and roles; empty: memberships are managed in accessgov.
OIDC_TENANTS_CLAIM = os.environ.get("ACCESSGOV_OIDC_TENANTS_CLAIM", "").strip()
# What makes the provider's sign-in count as a second factor for "Administrators must use MFA".
OIDC_MFA_AMR = env_list("ACCESSGOV_OIDC_MFA_AMR", "mfa,otp,hwk")
OIDC_MFA_ACR = env_list("ACCESSGOV_OIDC_MFA_ACR")
# The discovery, key set and token requests happen inside the callback request: each connection
# and each read waits at most this long, and discovery and keys are reused for the cache time.
OIDC_TIMEOUT = float(os.environ.get("ACCESSGOV_OIDC_TIMEOUT", "3"))
OIDC_METADATA_CACHE_SECONDS = int(os.environ.get("ACCESSGOV_OIDC_METADATA_CACHE_SECONDS", "3600"))
# The sign-in page's form posts to accessgov, which redirects to the provider: the page's CSP
# form-action must name the provider's authorization endpoint origin (the discovery URL's own
# unless set; accessgov.sso refuses a provider whose endpoint is elsewhere, naming it).
OIDC_AUTHORIZATION_ORIGINS = env_list("ACCESSGOV_OIDC_AUTHORIZATION_ORIGINS") or (
    ["{0.scheme}://{0.netloc}".format(urlsplit(OIDC_DISCOVERY_URL))] if OIDC_DISCOVERY_URL else []
)
if OIDC_DISCOVERY_URL and (not OIDC_CLIENT_ID or not OIDC_CLIENT_SECRET):
    raise ImproperlyConfigured(
        "ACCESSGOV_OIDC_DISCOVERY_URL needs ACCESSGOV_OIDC_CLIENT_ID and ACCESSGOV_OIDC_CLIENT_SECRET."
    )
if OIDC_DISCOVERY_URL and not (
    OIDC_DISCOVERY_URL.startswith("https://")
    or urlsplit(OIDC_DISCOVERY_URL).hostname in {"127.0.0.1", "localhost", "::1"}
):
    # Keys and tokens over plain HTTP could be swapped on the way; loopback is a local provider.
    raise ImproperlyConfigured("ACCESSGOV_OIDC_DISCOVERY_URL must be an https:// URL.")
if OIDC_USER_CLAIM not in {"email", "sub"}:
    raise ImproperlyConfigured("ACCESSGOV_OIDC_USER_CLAIM is email or sub.")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "var" / "static"))

# Sessions end after an hour without a request, and at once when the browser closes.
SESSION_COOKIE_AGE = int(os.environ.get("ACCESSGOV_SESSION_IDLE_SECONDS", "3600"))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF, *OIDC_AUTHORIZATION_ORIGINS],
    "frame-ancestors": [CSP.NONE],
}

# Off by default: X-Forwarded-Proto is trusted only behind a TLS proxy that sets it itself.
if env_bool("SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # The API refuses plain HTTP with 403 instead of redirecting, so a client never learns to
    # send credentials over HTTP first.
    SECURE_REDIRECT_EXEMPT = [r"^api/"]
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)


def parse_tiers(name: str, default: str) -> list[tuple[int, ...]]:
    """Return 'A/B/C,A/B/C' from the environment variable NAME as a list of integer tuples."""
    raw = os.environ.get(name, default)
    try:
        return [tuple(int(part) for part in item.split("/")) for item in raw.split(",") if item.strip()]
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} must look like {default!r}") from error


# Product rules.
# REST API rate limits per credential: (requests, window seconds), every window at once. The key is
# the endpoint's permission from accessgov/catalogue.py; "default" applies to the others.
ACCESSGOV_API_RATE_LIMITS = {
    "default": parse_tiers("ACCESSGOV_API_DEFAULT_RATE", "3600/3600"),
    "Notify.Send": parse_tiers("ACCESSGOV_API_NOTIFY_RATE", "10/5,50/60,200/300,500/3600,2000/86400"),
}
# Budgets per tenant, shared by all its credentials, same form and keys; checked with the above.
ACCESSGOV_API_TENANT_RATE_LIMITS = {
    "Notify.Send": parse_tiers("ACCESSGOV_TENANT_NOTIFY_RATE", "60/60,1000/3600"),
}
# The largest request body /api/v1/ and /gateway/v1/ accept; a larger one gets 413 before it is read.
ACCESSGOV_API_MAX_BODY_BYTES = int(os.environ.get("ACCESSGOV_API_MAX_BODY_BYTES", str(64 * 1024)))
# Failed requests per client IP: (failures, window seconds, block seconds). The seed's older tiers
# are "30/60/60,100/300/300,300/3600/3600,1000/86400/86400".
ACCESSGOV_API_FAILURE_TIERS = parse_tiers("ACCESSGOV_API_FAILURE_TIERS", "100/60/60,2000/3600/3600")
# Live credentials per tenant (API keys plus tokens not revoked): creating or reinstating one past
# this is refused, so a tenant's total request budget is bounded too.
ACCESSGOV_MAX_CREDENTIALS_PER_TENANT = int(os.environ.get("ACCESSGOV_MAX_CREDENTIALS_PER_TENANT", "500"))
# How long an app server may reuse a verified credential without asking the database (Redis only;
# every change to a credential or to API access invalidates it at once through Redis).
ACCESSGOV_CREDENTIAL_CACHE_SECONDS = int(os.environ.get("ACCESSGOV_CREDENTIAL_CACHE_SECONDS", "10"))

# The platform's API (docs/catalogue.md, docs/gateway.md). ACCESSGOV_CATALOGUE names its endpoint
# catalogue (TOML); without it accessgov governs only its own /api/v1/. The decision endpoint
# answers only the operator's gateways: callers from ACCESSGOV_GATEWAY_NETWORKS (comma-separated
# CIDRs; empty: any address) that send a gateway key (`manage.py create_gateway_key`), unless
# ACCESSGOV_GATEWAY_REQUIRE_KEY is off, when the networks alone decide.
ACCESSGOV_CATALOGUE = os.environ.get("ACCESSGOV_CATALOGUE", "")
ACCESSGOV_GATEWAY_NETWORKS = os.environ.get("ACCESSGOV_GATEWAY_NETWORKS", "")
ACCESSGOV_GATEWAY_REQUIRE_KEY = env_bool("ACCESSGOV_GATEWAY_REQUIRE_KEY", default=True)
# Webhook sending (docs/webhooks.md). The loopback switch exists for the test suite and local demos
# only: its name says so, and it never opens private or link-local ranges.
ACCESSGOV_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS_ONLY = env_bool(
    "ACCESSGOV_WEBHOOKS_ALLOW_LOOPBACK_FOR_TESTS_ONLY"
)
ACCESSGOV_WEBHOOKS_EXTRA_CA_BUNDLE = os.environ.get("ACCESSGOV_WEBHOOKS_EXTRA_CA_BUNDLE", "")
ACCESSGOV_WEBHOOKS_CONNECT_TIMEOUT = float(os.environ.get("ACCESSGOV_WEBHOOKS_CONNECT_TIMEOUT", "5"))
ACCESSGOV_WEBHOOKS_TOTAL_TIMEOUT = float(os.environ.get("ACCESSGOV_WEBHOOKS_TOTAL_TIMEOUT", "10"))
ACCESSGOV_WEBHOOKS_MAX_RESPONSE_BYTES = int(os.environ.get("ACCESSGOV_WEBHOOKS_MAX_RESPONSE_BYTES", "16384"))
# Test events and redeliveries one tenant may queue from the console (django-ratelimit rate string).
ACCESSGOV_WEBHOOKS_MANUAL_SEND_RATE = os.environ.get("ACCESSGOV_WEBHOOKS_MANUAL_SEND_RATE", "10/m")
# Seconds a DNS lookup of a webhook host may take, counted in the delivery's total time; saving a
# destination checks its addresses within this bound too.
ACCESSGOV_WEBHOOKS_DNS_TIMEOUT = float(os.environ.get("ACCESSGOV_WEBHOOKS_DNS_TIMEOUT", "2"))
# What receivers' answers make accessgov do (docs/webhooks.md): up to this share of each retry
# delay added at random, the longest Retry-After honoured (seconds), days of failing before the
# administrators are warned and before the destination is disabled, and the per-destination
# throttle (each destination may override both numbers).
ACCESSGOV_WEBHOOKS_RETRY_JITTER = float(os.environ.get("ACCESSGOV_WEBHOOKS_RETRY_JITTER", "0.1"))
ACCESSGOV_WEBHOOKS_RETRY_AFTER_CAP = int(os.environ.get("ACCESSGOV_WEBHOOKS_RETRY_AFTER_CAP", "43200"))
ACCESSGOV_WEBHOOKS_WARN_AFTER_DAYS = float(os.environ.get("ACCESSGOV_WEBHOOKS_WARN_AFTER_DAYS", "3"))
ACCESSGOV_WEBHOOKS_DISABLE_AFTER_DAYS = float(os.environ.get("ACCESSGOV_WEBHOOKS_DISABLE_AFTER_DAYS", "5"))
ACCESSGOV_WEBHOOKS_MAX_CONCURRENCY = int(os.environ.get("ACCESSGOV_WEBHOOKS_MAX_CONCURRENCY", "4"))
ACCESSGOV_WEBHOOKS_MAX_PER_SECOND = int(os.environ.get("ACCESSGOV_WEBHOOKS_MAX_PER_SECOND", "20"))
# Days settled deliveries and their attempts are kept before `manage.py purge_deliveries` deletes them.
ACCESSGOV_WEBHOOKS_KEEP_DAYS = int(os.environ.get("ACCESSGOV_WEBHOOKS_KEEP_DAYS", "30"))
# Usage per credential (docs/usage.md): counted in the request's Redis round trip and rolled up
# into the database by `manage.py rollup_usage` (cron, every few minutes); without Redis, counted
# in the process and written every ACCESSGOV_USAGE_FLUSH_SECONDS. Days of counts kept: 30 shown,
# ACCESSGOV_USAGE_KEEP_DAYS kept.
ACCESSGOV_USAGE_COUNTING = env_bool("ACCESSGOV_USAGE_COUNTING", True)
ACCESSGOV_USAGE_FLUSH_SECONDS = float(os.environ.get("ACCESSGOV_USAGE_FLUSH_SECONDS", "60"))
ACCESSGOV_USAGE_KEEP_DAYS = int(os.environ.get("ACCESSGOV_USAGE_KEEP_DAYS", "35"))
# Outgoing mail (accessgov.core.mail: queued in the request, sent by the worker), as Django 6.1's
# MAILERS. EMAIL_URL is one address: smtp://user:password@host:25 (plain), smtp+tls://…:587
# (STARTTLS), smtps://…:465 (TLS), or console: (print mails to the terminal). Without it the usual
# variables apply (EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS,
# EMAIL_USE_SSL); with neither, `make run` (DEBUG) prints mails and a server uses SMTP on localhost.
# EMAIL_TIMEOUT bounds each SMTP connection and command (seconds).
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"


def mailer_settings(url: str, debug: bool, timeout: float = 10.0) -> dict:
    """Return the MAILERS["default"] entry for URL (EMAIL_URL), or from the EMAIL_* variables without it."""
    if url:
        parts = urlsplit(url)
        if parts.scheme == "console":
            return {"BACKEND": CONSOLE_BACKEND}
        schemes = {"smtp": (False, False, 25), "smtp+tls": (True, False, 587), "smtps": (False, True, 465)}
        if parts.scheme not in schemes or not parts.hostname:
            raise ImproperlyConfigured(
                "EMAIL_URL must look like smtp://host:25, smtp+tls://user:password@host:587, "
                f"smtps://user:password@host:465 or console:, not a {parts.scheme or 'schemeless'} URL."
            )
        use_tls, use_ssl, port = schemes[parts.scheme]
        options = {
            "host": parts.hostname,
            "port": parts.port or port,
            "username": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
            "use_tls": use_tls,
            "use_ssl": use_ssl,
        }
    elif debug and not os.environ.get("EMAIL_HOST"):
        return {"BACKEND": CONSOLE_BACKEND}
    else:
        options = {
            "host": os.environ.get("EMAIL_HOST", "localhost"),
            "port": int(os.environ.get("EMAIL_PORT", "25")),
            "username": os.environ.get("EMAIL_HOST_USER", ""),
            "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS"),
            "use_ssl": env_bool("EMAIL_USE_SSL"),
        }
    return {"BACKEND": SMTP_BACKEND, "OPTIONS": options | {"timeout": timeout}}


MAILERS = {
    "default": mailer_settings(
        os.environ.get("EMAIL_URL", ""), DEBUG, timeout=float(os.environ.get("EMAIL_TIMEOUT", "10"))
    )
}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "accessgov <accessgov@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The console's public address, for links in mails (no trailing slash).
ACCESSGOV_SITE_URL = os.environ.get(
    "ACCESSGOV_SITE_URL", "http://127.0.0.1:8000" if DEBUG else "https://localhost"
).rstrip("/")
# Governance-event deliveries per tenant, whatever its number of destinations: (deliveries,
# window seconds), every window at once; past it they wait for the next window (webhooks.budget).
ACCESSGOV_TENANT_WEBHOOK_RATE = parse_tiers("ACCESSGOV_TENANT_WEBHOOK_RATE", "300/60,3000/3600")
# How long an invitation link (accessgov.operator.invitations) works after it was sent.
ACCESSGOV_INVITATION_HOURS = int(os.environ.get("ACCESSGOV_INVITATION_HOURS", "72"))
# Leak reports one address may post (django-ratelimit rate string), and the pre-shared token GitLab's
# secret detection sends to /security/gitlab/v1/ (empty: that API answers 404). docs/secret-scanning.md.
ACCESSGOV_LEAK_REPORT_RATE = os.environ.get("ACCESSGOV_LEAK_REPORT_RATE", "10/m")
ACCESSGOV_GITLAB_REVOCATION_TOKEN = os.environ.get("ACCESSGOV_GITLAB_REVOCATION_TOKEN", "")
ACCESSGOV_REVOKE_GRACE_DAYS = int(os.environ.get("ACCESSGOV_REVOKE_GRACE_DAYS", "30"))
# manage.py send_reminders: a reminder this many days before a credential expires (each sent once),
# and one digest mail instead of single ones when a tenant has more than DIGEST_OVER in one run.
ACCESSGOV_REMINDER_DAYS = tuple(
    sorted(
        {int(days) for days in os.environ.get("ACCESSGOV_REMINDER_DAYS", "30,7,1").split(",")}, reverse=True
    )
)
ACCESSGOV_REMINDER_DIGEST_OVER = int(os.environ.get("ACCESSGOV_REMINDER_DIGEST_OVER", "5"))
# Settings > API shows a banner listing the credentials that expire within this many days.
ACCESSGOV_EXPIRY_BANNER_DAYS = int(os.environ.get("ACCESSGOV_EXPIRY_BANNER_DAYS", "7"))
ACCESSGOV_PAGE_SIZE = 25

# Trusted Applications (docs/trusted-apps.md): django-oauth-toolkit as the OAuth 2.0 provider.
# Authorization code with PKCE S256 only; every RFC 9700 gate on, so plain PKCE, the implicit and
# password grants and tokens in query strings are refused, and only SHA-256 checksums of access
# and refresh tokens are stored. Scopes are the endpoint catalogue's permissions.
OAUTH2_PROVIDER = {
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    # A replayed refresh token revokes its whole family (a stolen token is detected on reuse).
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ROTATE_REFRESH_TOKEN": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "ALLOWED_SCHEMES": ["https"],
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ACCESS_TOKEN_EXPIRE_SECONDS": int(os.environ.get("ACCESSGOV_OAUTH_ACCESS_TOKEN_SECONDS", "3600")),
    "REFRESH_TOKEN_EXPIRE_SECONDS": int(os.environ.get("ACCESSGOV_OAUTH_REFRESH_TOKEN_SECONDS", "2592000")),
    # Consent is asked every time: an administrator sees what is granted before each authorization.
    "REQUEST_APPROVAL_PROMPT": "force",
    # The scopes come from the endpoint catalogue through this backend (DOT's own "SCOPES" setting
    # is read only by its default backend, so it is not set).
    "SCOPES_BACKEND_CLASS": "accessgov.trusted.oauth.CatalogueScopes",
    "OAUTH2_VALIDATOR_CLASS": "accessgov.trusted.oauth.TenantOAuth2Validator",
    # Typed, checksummed tokens (agat_/agrt_), recognisable when leaked, like API keys.
    "ACCESS_TOKEN_GENERATOR": "accessgov.trusted.oauth.generate_access_token",
    "REFRESH_TOKEN_GENERATOR": "accessgov.trusted.oauth.generate_refresh_token",
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token"],
}
# DOT's stock models, named so that migrations pointing at them resolve (they are swappable).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in logging.getLevelNamesMapping():
    raise ImproperlyConfigured(
        f"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, not {LOG_LEVEL!r}."
    )
# oauthlib and django-oauth-toolkit log authorization codes, access and refresh tokens in their
# DEBUG records: their loggers never go below INFO, whatever LOG_LEVEL says.
OAUTH_LOG_LEVEL = max(logging.INFO, logging.getLevelNamesMapping()[LOG_LEVEL])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "oauthlib": {"level": OAUTH_LOG_LEVEL},
        "oauth2_provider": {"level": OAUTH_LOG_LEVEL},
        "django.db.backends": {"level": "WARNING"},
        # odata-query warns on every filter whose value type it cannot infer; the filter still works.
        "odata_query": {"level": "ERROR"},
    },
}
