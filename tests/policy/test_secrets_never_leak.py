"""A revealed API key appears in its one response and nowhere else: database, logs, later pages."""

import logging
import re

import pytest
from django.core.cache import cache
from django.db import connection

from accessgov.policy.models import ApiKey

pytestmark = pytest.mark.django_db

KEY_PATTERN = re.compile(r"agk_[0-9A-Za-z]{61}")


def dump_database() -> str:
    """Return every row of every table as text."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names come from introspection
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_a_revealed_key_is_never_stored_logged_or_shown_again(admin_client, tenant, enabled_tenant, caplog):
    """Attack catalogue case 46: a revealed secret is kept nowhere else."""
    caplog.set_level(logging.DEBUG)
    response = admin_client.post("/t/acme/settings/api/keys/", {"name": "PSA sync"})
    raw = KEY_PATTERN.search(response.text).group(0)
    secret_part = raw[16:]

    assert secret_part not in dump_database()
    assert secret_part not in caplog.text
    assert cache.get(raw) is None
    session = admin_client.session
    assert all(secret_part not in repr(value) for value in session.values())
    api_key = ApiKey.objects.get()
    assert secret_part not in str(api_key) and secret_part not in repr(api_key)
    for path in ["/t/acme/settings/api/", "/t/acme/settings/api/activity/", "/t/acme/"]:
        assert secret_part not in admin_client.get(path).text
    # A failed second attempt with the same name does not reveal anything either.
    again = admin_client.post("/t/acme/settings/api/keys/", {"name": "PSA sync"})
    assert secret_part not in again.text
    assert not KEY_PATTERN.search(again.text)


def test_an_error_report_made_after_the_key_exists_does_not_carry_it(admin_user, enabled_tenant, monkeypatch):
    """Attack catalogue case 46: a revealed secret is kept nowhere else.

    A crash after the key was committed (here: rendering) reports no local holding the key."""
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.test import RequestFactory
    from django.views.debug import ExceptionReporter

    from accessgov.policy import views

    def fail_to_render(*args, **kwargs):
        raise RuntimeError("the page could not be rendered")

    monkeypatch.setattr(views, "render", fail_to_render)
    request = RequestFactory().post("/t/acme/settings/api/keys/", {"name": "PSA sync"})
    request.user = admin_user
    request.session = {}
    request._messages = FallbackStorage(request)
    request.htmx = False
    request._dont_enforce_csrf_checks = True
    with pytest.raises(RuntimeError) as failure:
        views.create_api_key(request, tenant_slug="acme")
    assert ApiKey.objects.count() == 1
    report = ExceptionReporter(request, failure.type, failure.value, failure.tb).get_traceback_html()
    assert "fail_to_render" in report
    assert not KEY_PATTERN.search(report)
