"""Every credential of every tenant as one list: API keys, third-party tokens, trusted
applications' authorizations and webhook signing secrets.

One SQL query per page: each kind is a queryset with the same named columns (all annotations, in
the same order), filtered before the UNION ALL, then ordered and sliced as one. Nothing is copied
into a table of its own, so the list can never disagree with the credentials themselves, and a
new column of a kind's model needs no migration here.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    DateTimeField,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat

from accessgov.core import catalogue
from accessgov.policy.models import ApiKey
from accessgov.trusted.models import TrustedApplicationAuthorization
from tokens.models import ThirdPartyToken
from webhooks.models import DeliveryState, WebhookDelivery, WebhookDestination


class Kind:
    API_KEY = "api_key"
    TOKEN = "token"
    AUTHORIZATION = "authorization"
    WEBHOOK_SECRET = "webhook_secret"

    LABELS = {
        API_KEY: "API key",
        TOKEN: "Third-party token",
        AUTHORIZATION: "Trusted application",
        WEBHOOK_SECRET: "Webhook signing secret",
    }


class Status:
    ACTIVE = "active"
    SCHEDULED = "scheduled"
    EXPIRED = "expired"
    REVOKED = "revoked"
    # API access off, the tenant deactivated, the application or destination disabled.
    DISABLED = "disabled"

    LABELS = {
        ACTIVE: "Active",
        SCHEDULED: "Scheduled",
        EXPIRED: "Expired",
        REVOKED: "Revoked",
        DISABLED: "Disabled",
    }


class JsonArrayLength(Func):
    """The number of items of a JSON list column (0 for an empty list)."""

    output_field = IntegerField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, function="JSON_ARRAY_LENGTH", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, function="JSONB_ARRAY_LENGTH", **extra)


NONE_DATE = Value(None, output_field=DateTimeField())
COLUMNS = [
    "kind",
    "credential_id",
    "tenant_ref",
    "tenant_name",
    "tenant_slug",
    "label",
    "identifier",
    "creator",
    "permission_count",
    "ip_restricted",
    "every_organization",
    "organization_count",
    "valid_from",
    "valid_until",
    "last_used",
    "status",
]


def _text(value: str) -> Value:
    return Value(value, output_field=CharField())


def _columns(queryset: QuerySet, **columns) -> QuerySet:
    """Annotate QUERYSET with COLUMNS and select exactly them, in COLUMNS order."""
    return queryset.annotate(**columns).values(*COLUMNS)


def _api_keys(now: datetime) -> QuerySet:
    permission_count = len(catalogue.current().permissions)
    return _columns(
        ApiKey.objects.order_by(),
        kind=_text(Kind.API_KEY),
        credential_id=F("pk"),
        tenant_ref=F("tenant_id"),
        tenant_name=F("tenant__name"),
        tenant_slug=F("tenant__slug"),
        label=F("name"),
        identifier=Concat(F("prefix"), _text("…")),
        creator=Coalesce(F("created_by__username"), _text("")),
        # An API key acts as the tenant's API user: every permission, no allowlist, every organization.
        permission_count=Value(permission_count, output_field=IntegerField()),
        ip_restricted=Value(False, output_field=BooleanField()),
        every_organization=Value(True, output_field=BooleanField()),
        organization_count=Value(0, output_field=IntegerField()),
        valid_from=F("created_at"),
        valid_until=NONE_DATE,
        last_used=F("last_used_at"),
        status=Case(
            When(tenant__is_active=False, then=_text(Status.DISABLED)),
            When(tenant__api_user__is_active=True, then=_text(Status.ACTIVE)),
            default=_text(Status.DISABLED),
        ),
    )


def _tokens(now: datetime) -> QuerySet:
    return _columns(
        ThirdPartyToken.objects.order_by(),
        kind=_text(Kind.TOKEN),
        credential_id=F("pk"),
        tenant_ref=F("tenant_id"),
        tenant_name=F("tenant__name"),
        tenant_slug=F("tenant__slug"),
        label=F("name"),
        identifier=F("token_id"),
        creator=Coalesce(F("created_by__username"), _text("")),
        permission_count=JsonArrayLength("permissions"),
        ip_restricted=Case(
            When(allowed_ips=[], then=Value(False)), default=Value(True), output_field=BooleanField()
        ),
        every_organization=F("all_organizations"),
        organization_count=JsonArrayLength("organization_ids"),
        valid_from=F("starts_at"),
        valid_until=F("expires_at"),
        last_used=F("last_used_at"),
        status=Case(
            When(revoked_at__isnull=False, then=_text(Status.REVOKED)),
            When(tenant__is_active=False, then=_text(Status.DISABLED)),
            When(starts_at__gt=now, then=_text(Status.SCHEDULED)),
            When(expires_at__lte=now, then=_text(Status.EXPIRED)),
            default=_text(Status.ACTIVE),
        ),
    )


def _authorizations(now: datetime) -> QuerySet:
    return _columns(
        TrustedApplicationAuthorization.objects.order_by(),
        kind=_text(Kind.AUTHORIZATION),
        credential_id=F("pk"),
        tenant_ref=F("tenant_id"),
        tenant_name=F("tenant__name"),
        tenant_slug=F("tenant__slug"),
        label=F("application__name"),
        identifier=F("application__vendor"),
        creator=Coalesce(F("authorized_by__username"), _text("")),
        permission_count=JsonArrayLength("permissions"),
        ip_restricted=Value(False, output_field=BooleanField()),
        every_organization=F("all_organizations"),
        organization_count=JsonArrayLength("organization_ids"),
        valid_from=F("authorized_at"),
        valid_until=NONE_DATE,
        last_used=F("last_used_at"),
        status=Case(
            When(revoked_at__isnull=False, then=_text(Status.REVOKED)),
            When(tenant__is_active=False, then=_text(Status.DISABLED)),
            When(application__is_enabled=False, then=_text(Status.DISABLED)),
            default=_text(Status.ACTIVE),
        ),
    )


def _webhook_secrets(now: datetime) -> QuerySet:
    return _columns(
        WebhookDestination.objects.order_by(),
        kind=_text(Kind.WEBHOOK_SECRET),
        credential_id=F("pk"),
        tenant_ref=F("tenant_id"),
        tenant_name=F("tenant__name"),
        tenant_slug=F("tenant__slug"),
        label=Case(When(description="", then=F("host")), default=F("description")),
        identifier=F("host"),
        creator=Coalesce(F("created_by__username"), _text("")),
        # A signing secret signs what accessgov sends; it grants nothing on the API.
        permission_count=Value(0, output_field=IntegerField()),
        ip_restricted=Value(False, output_field=BooleanField()),
        every_organization=Value(False, output_field=BooleanField()),
        organization_count=Value(0, output_field=IntegerField()),
        valid_from=F("created_at"),
        valid_until=NONE_DATE,
        # A signing secret is "used" by each successful delivery.
        last_used=Subquery(
            WebhookDelivery.objects.filter(destination=OuterRef("pk"), state=DeliveryState.SUCCEEDED)
            .order_by("-completed_at")
            .values("completed_at")[:1]
        ),
        status=Case(
            When(tenant__is_active=True, is_enabled=True, then=_text(Status.ACTIVE)),
            default=_text(Status.DISABLED),
        ),
    )


KINDS = {
    Kind.API_KEY: _api_keys,
    Kind.TOKEN: _tokens,
    Kind.AUTHORIZATION: _authorizations,
    Kind.WEBHOOK_SECRET: _webhook_secrets,
}
# The kinds that reach the API (a webhook signing secret only signs what accessgov sends).
API_KINDS = (Kind.API_KEY, Kind.TOKEN, Kind.AUTHORIZATION)
ORDER = ["tenant_name", "label", "kind", "credential_id"]


@dataclass(frozen=True)
class SavedFilter:
    label: str
    kinds: tuple[str, ...]
    where: object  # a function of now returning a Q over the columns


def _not_revoked() -> Q:
    return ~Q(status=Status.REVOKED)


SAVED_FILTERS = {
    "expiring": SavedFilter(
        "Expires within 30 days",
        API_KINDS,
        lambda now: Q(status=Status.ACTIVE, valid_until__gt=now, valid_until__lte=now + timedelta(days=30)),
    ),
    "unused": SavedFilter(
        "Unused for 90 days",
        API_KINDS,
        lambda now: (
            _not_revoked()
            & (
                Q(last_used__lt=now - timedelta(days=90))
                | Q(last_used__isnull=True, valid_from__lt=now - timedelta(days=90))
            )
        ),
    ),
    "never_expires": SavedFilter(
        "Never expires", API_KINDS, lambda now: _not_revoked() & Q(valid_until__isnull=True)
    ),
    "no_allowlist": SavedFilter(
        "No IP allowlist", API_KINDS, lambda now: _not_revoked() & Q(ip_restricted=False)
    ),
    "all_permissions": SavedFilter(
        "All permissions",
        API_KINDS,
        lambda now: _not_revoked() & Q(permission_count__gte=len(catalogue.current().permissions)),
    ),
}


def inventory(
    *,
    now: datetime,
    saved_filter: str = "",
    kind: str = "",
    tenant_id: int | None = None,
    search: str = "",
    where: Q | None = None,
) -> QuerySet:
    """Return every credential matching the arguments as one UNION ALL queryset of COLUMNS dicts.

    The result can be ordered (by COLUMNS names), counted and sliced, not filtered further: every
    condition goes in here, applied to each kind before the union. WHERE is a Q over COLUMNS (the
    API's $filter).
    """
    chosen = SAVED_FILTERS.get(saved_filter)
    kinds = [k for k in KINDS if (not kind or k == kind) and (chosen is None or k in chosen.kinds)]
    condition = Q()
    if chosen is not None:
        condition &= chosen.where(now)
    if tenant_id is not None:
        condition &= Q(tenant_ref=tenant_id)
    if search.strip():
        term = search.strip()
        condition &= (
            Q(label__icontains=term) | Q(identifier__istartswith=term) | Q(tenant_name__icontains=term)
        )
    if where is not None:
        condition &= where
    parts = [KINDS[k](now).filter(condition) for k in kinds]
    if not parts:
        return ApiKey.objects.none().values()
    first, *rest = parts
    return first.union(*rest, all=True).order_by(*ORDER) if rest else first.order_by(*ORDER)
