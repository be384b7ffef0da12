"""The operator's API under /api/operator/v1/: one router per resource, each operation declared with
accessgov.api.gate.operator_endpoint (operator keys only), all under the OpenAPI tag "Operator"."""
