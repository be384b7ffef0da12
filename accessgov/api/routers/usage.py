"""GET /api/v1/Usage and Usage/Addresses: the tenant's calls per credential, the numbers of the console.

Rows are accessgov.usage's (CredentialUsage, CredentialAddress), named as the rest of the API names
credentials: the type as `Me` says it, the token ID, the API key's prefix, the trusted
application's OAuth client ID. Those names are correlated subqueries on the credential's own
table, matched on the tenant too, so $filter can use them and a row never borrows another
tenant's name. A trusted application authorized again after a revocation has two authorizations
and one client ID: its rows are added up under that ID, as one credential.
"""

from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace

from django.core.exceptions import FieldError, ValidationError
from django.db.models import Case, CharField, Max, Min, OuterRef, QuerySet, Subquery, Sum, Value, When
from django.http import HttpRequest
from ninja import Router, Schema

from accessgov.api import odata
from accessgov.api.envelope import ListMeta, list_response
from accessgov.api.gate import endpoint
from accessgov.api.resources import Field, Resource
from accessgov.core.credentials import Principal
from accessgov.policy.models import ApiKey
from accessgov.trusted.models import TrustedApplicationAuthorization
from accessgov.usage import reading, rollup
from accessgov.usage.models import CredentialAddress, CredentialType, CredentialUsage
from tokens.models import ThirdPartyToken

router = Router(tags=["Usage"])


@dataclass(frozen=True)
class Source:
    """Where the API's name of one kind of credential comes from."""

    api_type: str  # as GET Me says it (accessgov.core.credentials.Principal.kind)
    model: type
    identifier: str  # the column the API shows as the credential's Id
    name: str


SOURCES = {
    CredentialType.TOKEN: Source("ThirdPartyToken", ThirdPartyToken, "token_id", "name"),
    CredentialType.API_KEY: Source("ApiKey", ApiKey, "prefix", "name"),
    CredentialType.AUTHORIZATION: Source(
        "TrustedApplication",
        TrustedApplicationAuthorization,
        "application__oauth_application__client_id",
        "application__name",
    ),
}


def _of_credential(column: str) -> Case:
    """Return COLUMN of each row's credential (None if it was deleted), whatever its kind."""
    return Case(
        *(
            When(
                credential_type=kind,
                then=Subquery(
                    source.model.objects.filter(pk=OuterRef("credential_id"), tenant_id=OuterRef("tenant_id"))
                    .order_by()
                    .values(getattr(source, column))[:1]
                ),
            )
            for kind, source in SOURCES.items()
        ),
        output_field=CharField(),
    )


def _named(queryset: QuerySet, tenant_id: int) -> QuerySet:
    """Return the rows of QUERYSET of TENANT_ID with the API's names of their credentials.

    A deleted credential's rows are left out: nothing the API shows names it any more.
    """
    return (
        queryset.filter(tenant_id=tenant_id)
        .annotate(
            credential_kind=Case(
                *(When(credential_type=kind, then=Value(s.api_type)) for kind, s in SOURCES.items()),
                output_field=CharField(),
            ),
            credential_ref=_of_credential("identifier"),
            credential_name=_of_credential("name"),
        )
        .filter(credential_ref__isnull=False)
    )


def _filtered(queryset: QuerySet, params, fields: dict[str, str], kinds: dict[str, str]):
    """Return QUERYSET narrowed by the $filter of PARAMS, and the columns that filter compares."""
    if "$filter" not in params:
        return queryset, set()
    condition = odata.parse_filter(params["$filter"], fields, None, kinds)
    try:
        return queryset.filter(condition), odata.columns_of(condition)
    except (FieldError, TypeError, ValueError, OverflowError, ValidationError, RecursionError) as error:
        raise odata.ODataError(
            "$filter cannot be applied: a value does not fit its field, or it is nested too deeply."
        ) from error


def _ordered(queryset: QuerySet, params, fields: dict[str, str], default: list[str], tiebreak: list[str]):
    ordering = odata.parse_orderby(params["$orderby"], fields) if params.get("$orderby") else default
    # Then the row's whole key, so pages never overlap or skip rows with equal sort values.
    sorted_by = {column.lstrip("-") for column in ordering}
    return queryset.order_by(*ordering, *(column for column in tiebreak if column not in sorted_by))


# --- GET Usage ---------------------------------------------------------------------------------

USAGE = Resource(
    Field("CredentialType", "credential_kind", "credential_kind"),
    Field("CredentialId", "credential_ref", "credential_ref"),
    Field("CredentialName", "credential_name", "credential_name"),
    Field("Day", "day", "day"),
    Field("Endpoint", "endpoint", "endpoint"),
    Field("Permission", "permission", "permission"),
    Field("Outcome", "outcome", "outcome"),
    Field("Calls", "calls"),
)
# What $filter may compare each column with (annotations, not one model's fields).
USAGE_KINDS = {
    "credential_kind": "text",
    "credential_ref": "text",
    "credential_name": "text",
    "day": "date",
    "endpoint": "text",
    "permission": "text",
    "outcome": "text",
}
USAGE_KEY = ["credential_kind", "credential_ref", "endpoint", "permission", "outcome"]


class UsageOut(Schema):
    CredentialType: str
    CredentialId: str
    CredentialName: str
    Day: date
    Endpoint: str
    Permission: str
    Outcome: str
    Calls: int


class UsageList(Schema):
    Data: list[UsageOut]
    Meta: ListMeta


@endpoint(router, "GET", "Usage", schema=UsageList, operation_id="accessgov_api_usage")
def list_usage(request: HttpRequest):
    """List the calls of the tenant's tokens, API keys and trusted applications per day (UTC), endpoint
    and outcome: allowed, rate_limited, tenant_rate_limited or the refusal's error code. Without a
    Day condition in $filter, the last 30 days. Newest day first. OData: $top, $skip, $orderby,
    $count, $filter (e.g. `CredentialId eq 'agt_…' and Day ge 2026-11-01`, `Outcome ne 'allowed'`)."""
    principal: Principal = request.auth
    top, skip = odata.parse_paging(request.GET)
    # Bounded like every Redis call of a request; on a Redis failure, the last rollup's numbers.
    rollup.refresh_tenant(principal.tenant_id)
    rows, compared = _filtered(
        _named(CredentialUsage.objects.all(), principal.tenant_id), request.GET, USAGE.queryable, USAGE_KINDS
    )
    if "day" not in compared:
        rows = rows.filter(day__gte=reading.window()[0])
    grouped = rows.values("day", *USAGE_KEY, "credential_name").annotate(calls=Sum("calls"))
    query = odata.ListQuery(
        top=top, skip=skip, queryset=_ordered(grouped, request.GET, USAGE.queryable, ["-day"], USAGE_KEY)
    )
    return list_response(request, query, lambda values: USAGE.serialize(SimpleNamespace(**values)))


# --- GET Usage/Addresses -----------------------------------------------------------------------

ADDRESS = Resource(
    Field("CredentialType", "credential_kind", "credential_kind"),
    Field("CredentialId", "credential_ref", "credential_ref"),
    Field("CredentialName", "credential_name", "credential_name"),
    # Client addresses are personal data of the integrations' people: shown only with the widening
    # permission (like the administrators' addresses in AuditEvents).
    Field("Address", "address", permission="Usage.ReadAddresses"),
    Field("FirstSeen", "first", "first_seen"),
    Field("LastSeen", "last", "last_seen"),
    Field("LastEndpoint", "last_endpoint"),
)
ADDRESS_KINDS = {
    "credential_kind": "text",
    "credential_ref": "text",
    "credential_name": "text",
    "address": "text",
    "first_seen": "datetime",
    "last_seen": "datetime",
}
# $orderby sorts the rows as shown: a credential's address seen under two authorizations is one row.
ADDRESS_ORDER = {**ADDRESS.queryable, "FirstSeen": "first", "LastSeen": "last"}
ADDRESS_KEY = ["credential_kind", "credential_ref", "address"]


class AddressOut(Schema):
    CredentialType: str
    CredentialId: str
    CredentialName: str
    Address: str
    FirstSeen: datetime
    LastSeen: datetime
    LastEndpoint: str


class AddressList(Schema):
    Data: list[AddressOut]
    Meta: ListMeta


def _with_last_endpoints(rows: list[dict], named: QuerySet) -> list[dict]:
    """Return ROWS (one page) with the endpoint each address last called: one query for the page."""
    if not rows:
        return rows
    latest = named.filter(
        address__in={row["address"] for row in rows}, last_seen__in={row["last"] for row in rows}
    ).values_list("credential_kind", "credential_ref", "address", "last_seen", "last_endpoint")
    endpoints = {tuple(found[:4]): found[4] for found in latest}
    return [
        {**row, "last_endpoint": endpoints.get((*(row[c] for c in ADDRESS_KEY), row["last"]), "")}
        for row in rows
    ]


@endpoint(router, "GET", "Usage/Addresses", schema=AddressList, operation_id="accessgov_api_usage_addresses")
def list_usage_addresses(request: HttpRequest):
    """List the client addresses the tenant's credentials called from, last seen first, with when each was
    first and last seen and the endpoint it last called (a credential's last five: `$filter=CredentialId
    eq '…'&$top=5`). OData: $top, $skip, $orderby, $count, $filter."""
    principal: Principal = request.auth
    top, skip = odata.parse_paging(request.GET)
    rollup.refresh_tenant(principal.tenant_id)
    named = _named(CredentialAddress.objects.all(), principal.tenant_id)
    rows, _ = _filtered(named, request.GET, ADDRESS.queryable, ADDRESS_KINDS)
    grouped = rows.values(*ADDRESS_KEY, "credential_name").annotate(
        first=Min("first_seen"), last=Max("last_seen")
    )
    query = odata.ListQuery(
        top=top, skip=skip, queryset=_ordered(grouped, request.GET, ADDRESS_ORDER, ["-last"], ADDRESS_KEY)
    )
    return list_response(
        request,
        query,
        lambda values: ADDRESS.serialize(SimpleNamespace(**values), principal.permissions),
        page=lambda rows: _with_last_endpoints(rows, named),
    )
