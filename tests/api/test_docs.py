"""/api/ (the rendered documentation) and /api/openapi.json (the schema), through HTTPS."""

from django.test import Client


def test_the_docs_and_the_schema_are_served(db):
    client = Client()
    docs = client.get("/api/", secure=True)
    assert docs.status_code == 200
    assert "Invoke-RestMethod" in docs.text and "curl -sS -u" in docs.text and "requests.get(" in docs.text
    schema = client.get("/api/openapi.json", secure=True).json()
    assert set(schema["paths"]) >= {"/api/v1/Me", "/api/v1/Organizations", "/api/v1/Notify"}
    assert schema["components"]["securitySchemes"]["basicAuth"]["scheme"] == "basic"


def test_the_operators_api_has_its_own_section_in_the_docs_and_the_schema(db):
    client = Client()
    docs = client.get("/api/", secure=True).text
    assert "The operator's API" in docs and "POST /api/operator/v1/Memberships" in docs
    assert "Bearer $OPERATOR_KEY" in docs and "Permission: <code>Memberships.Write</code>" in docs
    schema = client.get("/api/openapi.json", secure=True).json()
    operation = schema["paths"]["/api/operator/v1/Tenants"]["post"]
    assert operation["tags"] == ["Operator"] and operation["security"] == [{"operatorKey": []}]
    assert schema["paths"]["/api/v1/Me"]["get"]["security"] == [{"basicAuth": []}, {"bearerAuth": []}]
    assert [tag["name"] for tag in schema["tags"]] == ["Operator"]
