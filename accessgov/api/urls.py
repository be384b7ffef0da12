"""The REST edge's pages beside /api/v1/ (Django Ninja's own namespace "api"): OAuth 2.0, the docs,
and the platform's gateway (its decisions, refusals for nginx, and token introspection)."""

from django.urls import path

from accessgov.api import decisions, docs, oauth
from accessgov.trusted import views as trusted_views

# OAuth 2.0 for trusted applications: only what the flow needs, none of DOT's management pages.
oauth_urls = (
    [
        path("authorize/", trusted_views.choose_tenant, name="choose_tenant"),
        path("token/", oauth.issue_token, name="issue_token"),
        path("revoke_token/", oauth.revoke_token, name="revoke_token"),
    ],
    "oauth",
)

docs_urls = (
    [
        path("", docs.show_documentation, name="show_documentation"),
        path("openapi.json", docs.show_schema, name="show_schema"),
    ],
    "docs",
)

gateway_urls = (
    [
        path("decide", decisions.decide, name="decide"),
        path("refusal", decisions.refusal, name="render_refusal"),
        path("introspect", decisions.introspect, name="introspect_token"),
    ],
    "gateway",
)
