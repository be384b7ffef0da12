"""The REST edge's pages beside /api/v1/ (Django Ninja's own namespace "api"): OAuth 2.0 and the docs."""

from django.urls import path

from accessgov.api import docs, oauth
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
