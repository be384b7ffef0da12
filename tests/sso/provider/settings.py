"""A tiny OpenID Connect provider for the SSO tests: django-oauth-toolkit with OIDC on, run by
gunicorn on loopback in its own process, its RS256 key made at test time (tests/sso/conftest.py).

SSO_PROVIDER_DIR holds its SQLite database, its private key and claims.json, which the tests edit
to give a user extra ID token claims (tenants, amr...) or to make the provider misbehave.
"""

import os
from pathlib import Path

STATE_DIR = Path(os.environ["SSO_PROVIDER_DIR"])

SECRET_KEY = "test-provider-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "oauth2_provider",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "tests.sso.provider.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [Path(__file__).parent / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": STATE_DIR / "provider.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
USE_TZ = True
LOGIN_URL = "/login/"
# The provider's own session cookie must not collide with accessgov's on the same host (127.0.0.1).
SESSION_COOKIE_NAME = "provider_sessionid"
CSRF_COOKIE_NAME = "provider_csrftoken"
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": (STATE_DIR / "key.pem").read_text() if (STATE_DIR / "key.pem").exists() else "",
    "OIDC_ISS_ENDPOINT": os.environ.get("SSO_PROVIDER_ISSUER", ""),
    "OAUTH2_VALIDATOR_CLASS": "tests.sso.provider.validator.ClaimsValidator",
    "SCOPES": {"openid": "OpenID Connect", "email": "Your e-mail address", "profile": "Your profile"},
    "PKCE_REQUIRED": True,
    # The live server may be http://localhost:PORT: any port, as for 127.0.0.1 (RFC 8252).
    "ALLOW_LOCALHOST_LOOPBACK": True,
}
