"""Each API resource's field table, its Schema and its OData field map spell the same fields."""

import pytest
from ninja import Schema

from accessgov.api.resources import Field, Resource
from accessgov.api.routers.audit_events import AUDIT_EVENT, AuditEventOut
from accessgov.api.routers.organizations import ORGANIZATION, OrganizationOut
from accessgov.api.routers.webhooks import WEBHOOK_DOMAIN, WebhookDomainOut
from tests.factories import ApprovedWebhookDomainFactory, AuditEventFactory, OrganizationFactory

RESOURCES = [
    pytest.param(ORGANIZATION, OrganizationOut, OrganizationFactory, id="Organizations"),
    pytest.param(WEBHOOK_DOMAIN, WebhookDomainOut, ApprovedWebhookDomainFactory, id="WebhookDomains"),
    pytest.param(AUDIT_EVENT, AuditEventOut, AuditEventFactory, id="AuditEvents"),
]


@pytest.mark.parametrize(("resource", "schema", "factory"), RESOURCES)
def test_the_field_table_names_exactly_the_schemas_fields_in_order(resource: Resource, schema, factory):
    assert resource.names == tuple(schema.model_fields)


@pytest.mark.parametrize(("resource", "schema", "factory"), RESOURCES)
def test_every_queryable_field_is_a_field_of_the_model(resource: Resource, schema, factory):
    model = factory._meta.model
    for column in resource.queryable.values():
        model._meta.get_field(column)  # raises FieldDoesNotExist for a typo


@pytest.mark.django_db
@pytest.mark.parametrize(("resource", "schema", "factory"), RESOURCES)
def test_a_serialized_row_validates_against_the_schema(resource: Resource, schema: type[Schema], factory):
    data = resource.serialize(factory())
    assert schema.model_validate(data).model_dump() == data


def test_a_field_without_a_column_is_shown_but_not_queryable():
    resource = Resource(Field("Name", "name", "name"), Field("Shown", "name", convert=str.upper))
    assert resource.queryable == {"Name": "name"}
    assert resource.serialize(type("Row", (), {"name": "x"})()) == {"Name": "x", "Shown": "X"}


def test_a_field_that_needs_a_permission_is_null_without_it_and_never_queryable():
    resource = Resource(
        Field("Name", "name", "name"), Field("Secret", "name", permission="Things.ReadSecret")
    )

    class Row:
        name = "x"

    assert resource.serialize(Row()) == {"Name": "x", "Secret": None}
    assert resource.serialize(Row(), frozenset({"Things.ReadSecret"})) == {"Name": "x", "Secret": "x"}
    assert resource.queryable == {"Name": "name"}
    with pytest.raises(ValueError, match="cannot be queryable"):
        Resource(Field("Secret", "name", "name", permission="Things.ReadSecret"))
