"""schemathesis over /api/openapi.json: whatever it sends, the API never answers 5xx or HTML."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, settings

from tests.api.conftest import ALL_READ
from tests.conftest import basic_auth, bearer_auth
from tests.factories import ThirdPartyTokenFactory

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())


@pytest.fixture
def keep_test_connection():
    """Keep Django from closing the test's database connection at the end of each WSGI request.

    schemathesis calls the real WSGI application, which fires request_finished; as Django's own
    test client does, the handler that closes connections is detached for the test.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def credential(enabled_tenant, contoso, keep_test_connection):
    """Return the Authorization value of a token that may call every operation of the tenant."""
    token = ThirdPartyTokenFactory(tenant=enabled_tenant, permissions=[*ALL_READ, "Notify.Send"])
    return basic_auth(token.token_id, token.secret)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@override_settings(
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    ACCESSGOV_API_RATE_LIMITS={"default": [(1_000_000, 3600)], "Notify.Send": [(1_000_000, 3600)]},
    ACCESSGOV_API_FAILURE_TIERS=[(1_000_000, 60, 60)],
)
def test_no_input_makes_the_api_fail_or_answer_outside_its_envelope(case, credential, operator_key):
    # The operator's API is fuzzed with an operator key (a tenant's credential is refused there).
    if case.path.startswith("/api/operator/"):
        credential = bearer_auth(operator_key.raw)
    for headers in ({"Authorization": credential}, {}):
        response = case.call(headers={**headers, "X-Forwarded-Proto": "https"})
        assert response.status_code < 500, response.text
        headers_seen = {name.lower(): value for name, value in response.headers.items()}
        content_type = headers_seen["content-type"]
        assert (content_type[0] if isinstance(content_type, list) else content_type).startswith(
            "application/json"
        )
        body = response.json()
        assert body["Meta"]["ResponseCode"] == response.status_code
        if response.status_code >= 400:
            assert body["Error"]["Code"] and body["Error"]["Message"]


class StatefulWorkflow(schema.as_state_machine()):
    """Sequences of calls that follow the schema's links, with a credential of a real tenant."""

    credential = ""
    calls: list[str] = []

    def after_call(self, response, case):
        StatefulWorkflow.calls.append(f"{case.operation.label} {response.status_code}")

    def get_call_kwargs(self, case):
        return {"headers": {"Authorization": self.credential, "X-Forwarded-Proto": "https"}}

    def validate_response(self, response, case, **kwargs):
        assert response.status_code < 500, response.text
        assert response.json()["Meta"]["ResponseCode"] == response.status_code


@pytest.mark.django_db
@override_settings(
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    ACCESSGOV_API_RATE_LIMITS={"default": [(1_000_000, 3600)], "Notify.Send": [(1_000_000, 3600)]},
    ACCESSGOV_API_FAILURE_TIERS=[(1_000_000, 60, 60)],
)
def test_linked_sequences_of_calls_never_fail(credential):
    StatefulWorkflow.credential = credential
    StatefulWorkflow.calls = []
    StatefulWorkflow.run(
        settings=settings(
            max_examples=25, stateful_step_count=5, deadline=None, suppress_health_check=list(HealthCheck)
        )
    )
    # The link was followed: an organization was fetched by an Id a list had just returned.
    assert any("Organizations/{organization_id} 200" in call for call in StatefulWorkflow.calls)
