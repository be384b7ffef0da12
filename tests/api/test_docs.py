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
