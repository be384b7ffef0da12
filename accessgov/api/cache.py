"""A per-process cache of the credential rows the API verified, kept fresh through Redis.

A warm API request needs no SQL: the app server still holds the token (or key) row it loaded, and
the one Redis round trip that counts the rate limits (accessgov.api.limits) also returns two version numbers, one for
that credential and one for everything. Any change to a credential (revoke, regenerate, edit,
delete) bumps the credential's version and any switch of API access bumps the global one, on
commit, so the very next request on every app server sees a different version, drops its copy
and asks the database again.

The cache is used only with Redis (the embedded default has no shared versions to compare) and
an entry is at most ACCESSGOV_CREDENTIAL_CACHE_SECONDS old, which bounds staleness if a bump is
ever lost (Redis down at that moment).
"""

import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from accessgov.api import limits
from accessgov.core import credentials
from accessgov.core.credentials import Kind, credential_changed

MAX_ENTRIES = 10_000


@dataclass
class CachedCredential:
    record: object  # the ThirdPartyToken or ApiKey row, with tenant and API user loaded
    versions: tuple[str, str]
    stored_at: float


_entries: dict[str, CachedCredential] = {}


def get(cache_key: str) -> CachedCredential | None:
    """Return the cached row of CACHE_KEY if it is young enough; versions are checked by the caller."""
    entry = _entries.get(cache_key)
    if entry is None:
        return None
    if time.monotonic() - entry.stored_at > settings.ACCESSGOV_CREDENTIAL_CACHE_SECONDS:
        _entries.pop(cache_key, None)
        return None
    return entry


def put(cache_key: str, record: object, versions: tuple[str, str] | None) -> None:
    """Remember RECORD as verified under VERSIONS (nothing is kept without versions)."""
    if versions is None:
        return
    if len(_entries) >= MAX_ENTRIES:
        _entries.clear()
    _entries[cache_key] = CachedCredential(record=record, versions=versions, stored_at=time.monotonic())


def drop(cache_key: str) -> None:
    _entries.pop(cache_key, None)


def clear() -> None:
    _entries.clear()


def _publish(*cache_keys: str, everything: bool = False) -> None:
    """Drop our copies now and bump the versions once the change is committed (a rolled-back
    change changes nothing), so every other app server drops its copy on its next request."""
    for cache_key in cache_keys:
        drop(cache_key)
    if everything:
        clear()
    transaction.on_commit(lambda: limits.bump_versions(*cache_keys, everything=everything), robust=True)


# Signals rather than calls in every action: whatever saves these rows (an action, the admin, a
# shell session), every app server must stop trusting its copy. A change made without save()
# (ThirdPartyToken.revoke() is a conditional UPDATE) announces itself through
# accessgov.core.credentials.announce_change. Purged tokens need nothing: they were revoked first,
# and a cached revoked token is refused anyway, so purge_revoked deletes with one DELETE
# (tests/tokens/test_purge.py captures its SQL). Trusted applications' OAuth access tokens are
# never cached (PresentedCredential.cacheable), so revoking an authorization or a token, or an
# expiry, needs no receiver here: each request asks the database.


def _credential_changed(sender, *, cache_keys: tuple[str, ...], everything: bool, **kwargs) -> None:
    _publish(*cache_keys, everything=everything)


def _token_saved(sender, instance, **kwargs) -> None:
    _publish(credentials.cache_key(Kind.TOKEN, instance.token_id))


def _api_key_changed(sender, instance, **kwargs) -> None:
    _publish(credentials.cache_key(Kind.API_KEY, instance.prefix))


def _operator_key_changed(sender, instance, **kwargs) -> None:
    _publish(credentials.cache_key(Kind.OPERATOR, instance.prefix))


def _api_access_changed(sender, instance, **kwargs) -> None:
    _publish(everything=True)


def connect_signals() -> None:
    """Wire the invalidation to every change a cached decision depends on."""
    credential_changed.connect(_credential_changed, dispatch_uid="credentials-announced")
    post_save.connect(_token_saved, sender="tokens.ThirdPartyToken", dispatch_uid="credentials-token-save")
    post_save.connect(_api_key_changed, sender="accessgov.ApiKey", dispatch_uid="credentials-key-save")
    post_delete.connect(_api_key_changed, sender="accessgov.ApiKey", dispatch_uid="credentials-key-delete")
    post_save.connect(
        _operator_key_changed, sender="accessgov.OperatorKey", dispatch_uid="credentials-operator-key-save"
    )
    post_delete.connect(
        _operator_key_changed, sender="accessgov.OperatorKey", dispatch_uid="credentials-operator-key-delete"
    )
    post_save.connect(
        _api_access_changed, sender="accessgov.ApiUser", dispatch_uid="credentials-apiuser-save"
    )
    post_delete.connect(
        _api_access_changed, sender="accessgov.ApiUser", dispatch_uid="credentials-apiuser-delete"
    )
    post_save.connect(_api_access_changed, sender="tenants.Tenant", dispatch_uid="credentials-tenant-save")
