"""The OpenAPI document is pinned: clients, generated SDKs and the stateful fuzzer's links depend on it.

tests/api/openapi.json is the document as it was before the code moved into floor packages (issue
10); a change to it must be made on purpose, by regenerating that file in the same commit.
"""

import json
from pathlib import Path

from accessgov.api.site import openapi_schema

PINNED = Path(__file__).with_name("openapi.json")


def _normalised(document: dict) -> dict:
    # Ninja keys responses by int; JSON has only string keys.
    return json.loads(json.dumps(document, sort_keys=True, default=str))


def test_the_openapi_document_is_the_pinned_one():
    assert _normalised(openapi_schema()) == json.loads(PINNED.read_text())


def test_every_operation_has_the_id_it_always_had():
    ids = {
        (path, method): operation["operationId"]
        for path, methods in openapi_schema()["paths"].items()
        for method, operation in methods.items()
    }
    assert ids == {
        ("/api/v1/Me", "get"): "accessgov_api_me",
        ("/api/v1/RateLimits", "get"): "accessgov_api_rate_limits",
        ("/api/v1/AuditEvents", "get"): "accessgov_api_audit_events",
        ("/api/v1/Organizations", "get"): "tenants_api_list_organizations",
        ("/api/v1/Organizations/{organization_id}", "get"): "tenants_api_get_organization",
        ("/api/v1/WebhookDomains", "get"): "webhooks_api_list_webhook_domains",
        ("/api/v1/Notify", "post"): "webhooks_api_notify",
        ("/api/v1/Usage", "get"): "accessgov_api_usage",
        ("/api/v1/Usage/Addresses", "get"): "accessgov_api_usage_addresses",
        ("/api/operator/v1/Tenants", "get"): "operator_list_tenants",
        ("/api/operator/v1/Tenants/{tenant_id}", "get"): "operator_get_tenant",
        ("/api/operator/v1/Tenants", "post"): "operator_upsert_tenant",
        ("/api/operator/v1/Organizations", "get"): "operator_list_organizations",
        ("/api/operator/v1/Organizations", "post"): "operator_upsert_organization",
        ("/api/operator/v1/Organizations/{org_id}", "delete"): "operator_delete_organization",
        ("/api/operator/v1/Memberships", "get"): "operator_list_memberships",
        ("/api/operator/v1/Memberships", "post"): "operator_upsert_membership",
        ("/api/operator/v1/Memberships/{membership_id}", "delete"): "operator_delete_membership",
        ("/api/operator/v1/Credentials", "get"): "operator_list_credentials",
    }


def test_every_link_names_an_operation_that_exists():
    document = openapi_schema()
    ids = {op["operationId"] for methods in document["paths"].values() for op in methods.values()}
    links = [
        link
        for methods in document["paths"].values()
        for operation in methods.values()
        for response in operation["responses"].values()
        for link in response.get("links", {}).values()
    ]
    assert links and all(link["operationId"] in ids for link in links)


def test_the_operator_upserts_declare_the_201_they_answer_when_they_create():
    paths = openapi_schema()["paths"]
    for path in (
        "/api/operator/v1/Tenants",
        "/api/operator/v1/Organizations",
        "/api/operator/v1/Memberships",
    ):
        answers = paths[path]["post"]["responses"]
        assert answers[201]["content"] == answers[200]["content"], path
