"""The token form (Details and Authorization), the list filter, and the IP allowlist parser."""

import ipaddress

from django import forms
from django.utils import timezone

from accessgov.core import catalogue
from accessgov.policy import lifetime
from accessgov.policy.models import LifetimePolicy
from tenants.models import Organization, Tenant
from tokens.actions import TokenTerms
from tokens.models import ThirdPartyToken, TokenStatus

MAX_ALLOWLIST_ENTRIES = 100
MAX_ALLOWLIST_LINE = 64  # longer than any IPv6 network in its longest spelling
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]
ALL, SELECTED = "all", "selected"
IPV4_MAPPED = ipaddress.ip_network("::ffff:0:0/96")


def parse_allowlist(text: str) -> list[str]:
    """Return the networks of TEXT, one address or CIDR range a line, normalised; raise ValidationError.

    Host bits set (10.0.0.1/24) are refused rather than silently widened or narrowed, and so are
    ranges that allow everyone, zones and IPv4-mapped spellings: each with the line that is wrong.
    """
    text = text.strip()
    if not text:
        return []
    lines = text.splitlines()
    if len(lines) > MAX_ALLOWLIST_ENTRIES:
        raise forms.ValidationError(f"At most {MAX_ALLOWLIST_ENTRIES} entries (this list has {len(lines)}).")
    networks: list[str] = []
    errors: list[str] = []
    for number, raw in enumerate(lines, start=1):
        entry = raw.strip()
        problem = None
        if not entry:
            problem = "is empty. Put one address or range on each line, with no blank lines."
        elif len(entry) > MAX_ALLOWLIST_LINE:
            problem = "is too long to be an IP address or range."
        elif "%" in entry:
            problem = f"“{entry}” has a zone (%…); zones name local interfaces. Leave it out."
        else:
            try:
                network = ipaddress.ip_network(entry, strict=True)
            except ValueError:
                try:
                    loose = ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    problem = f"“{entry}” is not a valid IPv4 or IPv6 address or CIDR range."
                else:
                    problem = (
                        f"“{entry}” has host bits set. Did you mean the range {loose} "
                        f"or the single address {entry.split('/', 1)[0]}?"
                    )
            else:
                if network.prefixlen == 0:
                    problem = (
                        f"“{entry}” would allow every address. Leave the list empty to allow any address."
                    )
                elif network.version == 6 and network.subnet_of(IPV4_MAPPED):
                    problem = f"“{entry}” is an IPv4-mapped IPv6 address; write it as IPv4."
                elif str(network) not in networks:
                    networks.append(str(network))
        if problem:
            errors.append(
                f"Line {number} {problem}" if problem.startswith("is ") else f"Line {number}: {problem}"
            )
    if errors:
        raise forms.ValidationError(errors)
    return networks


def format_allowlist(networks: list[str]) -> str:
    """Return NETWORKS one a line, single addresses without their /32 or /128."""
    lines = []
    for value in networks:
        network = ipaddress.ip_network(value)
        single = network.prefixlen == network.max_prefixlen
        lines.append(str(network.network_address) if single else str(network))
    return "\n".join(lines)


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


def _shown(endpoint: catalogue.Endpoint) -> str:
    """Return how the form names ENDPOINT: its method and its full path."""
    return endpoint.key if endpoint.governs_platform else f"{endpoint.method} /api/v1/{endpoint.path}"


def _slug_words(service: str, group: str) -> list[str]:
    words = group.lower().split()
    return words if service == catalogue.OWN_SERVICE else [*service.lower().split(), *words]


class PermissionCheckboxes(forms.CheckboxSelectMultiple):
    """The permission tick boxes as the catalogue groups them, each group with a "Select all" box."""

    template_name = "tokens/permission_checkboxes.html"

    def get_context(self, name, value, attrs) -> dict:
        context = super().get_context(name, value, attrs)
        selected = set(self.format_value(value))
        current = catalogue.current()
        # accessgov's own API first, then the platform's, whose groups carry its service name.
        context["widget"]["groups"] = [
            {
                "name": group,
                "service": service,
                "slug": "perm-" + "-".join(_slug_words(service, group)),
                "permissions": [
                    {
                        "value": p.name,
                        "label": p.label,
                        "endpoints": [_shown(e) for e in current.endpoints_of(p.name)],
                        "checked": p.name in selected,
                    }
                    for p in permissions
                ],
                "all_checked": all(p.name in selected for p in permissions),
            }
            for service, by_group in current.grouped().items()
            for group, permissions in by_group.items()
        ]
        return context


class TokenForm(forms.Form):
    """Create Token and Edit: Details (name, description, dates) and Authorization."""

    name = forms.CharField(
        max_length=100,
        error_messages={
            "required": "Give the token a name, e.g. the script or integration that will use it.",
            "max_length": "Names are at most %(limit_value)d characters (this one has %(show_value)d).",
        },
    )
    description = forms.CharField(
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "max_length": "Descriptions are at most %(limit_value)d characters (this one has %(show_value)d)."
        },
    )
    starts_at = forms.DateTimeField(
        label="Start date (UTC)",
        required=False,
        input_formats=DATETIME_FORMATS,
        widget=DateTimeLocalInput(),
        help_text="Empty: valid from now.",
        error_messages={"invalid": "Enter the start date as YYYY-MM-DD HH:MM."},
    )
    expires_at = forms.DateTimeField(
        label="Expiration date (UTC)",
        required=False,
        input_formats=DATETIME_FORMATS,
        widget=DateTimeLocalInput(),
        help_text="Empty: the token does not expire (revoke it when it is no longer needed).",
        error_messages={"invalid": "Enter the expiration date as YYYY-MM-DD HH:MM."},
    )
    allowed_ips = forms.CharField(
        label="Whitelisted IP addresses",
        required=False,
        max_length=MAX_ALLOWLIST_ENTRIES * (MAX_ALLOWLIST_LINE + 2),
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text="IPv4 or IPv6 addresses and CIDR ranges, one per line, e.g. 192.0.2.10 or 2001:db8::/48. Empty: any address.",
        error_messages={"max_length": "The list is too long: at most %(limit_value)d characters."},
    )
    organization_access = forms.ChoiceField(
        label="Organizations",
        choices=[(ALL, "All organizations"), (SELECTED, "Selected organizations")],
        widget=forms.RadioSelect,
        initial=ALL,
        error_messages={
            "required": "Choose all organizations or selected organizations.",
            "invalid_choice": "Choose all organizations or selected organizations.",
        },
    )
    organizations = forms.ModelMultipleChoiceField(
        label="",  # the choices of "Selected organizations", under its legend
        queryset=Organization.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Ticked organizations count only with “Selected organizations”.",
        error_messages={
            "invalid_choice": "Organization %(value)s is not an organization of this tenant.",
            "invalid_pk_value": "“%(pk)s” is not an organization.",
        },
    )
    permissions = forms.MultipleChoiceField(
        label="",  # under the "Edit Permissions" summary
        # A callable: the catalogue in force when the form is made.
        choices=lambda: [(p.name, p.label) for p in catalogue.current().all_permissions],
        widget=PermissionCheckboxes,
        error_messages={
            "required": "Select at least one permission under “Edit Permissions”.",
            "invalid_choice": "“%(value)s” is not a permission of the API.",
        },
    )

    def __init__(self, *args, tenant: Tenant, instance: ThirdPartyToken | None = None, **kwargs):
        self.tenant = tenant
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": instance.name,
                "description": instance.description,
                "starts_at": instance.starts_at,
                "expires_at": instance.expires_at,
                "allowed_ips": format_allowlist(instance.allowed_ips),
                "organization_access": ALL if instance.all_organizations else SELECTED,
                "organizations": instance.organization_ids,
                "permissions": instance.permissions,
            }
        super().__init__(*args, **kwargs)
        self.lifetime_policy = LifetimePolicy.of(tenant)
        if self.lifetime_policy.expiry_required or self.lifetime_policy.max_lifetime_days:
            maximum = self.lifetime_policy.max_lifetime_days
            self.fields["expires_at"].help_text = "Required by the lifetime policy" + (
                f": at most {maximum} days after the start date." if maximum else "."
            )
        # Only this tenant's organizations are choices: a forged id of another tenant is invalid.
        self.fields["organizations"].queryset = Organization.objects.for_tenant(tenant).order_by("name", "pk")

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError(
                "Give the token a name, e.g. the script or integration that will use it."
            )
        tokens = ThirdPartyToken.objects.for_tenant(self.tenant).filter(name__iexact=name)
        if self.instance is not None:
            tokens = tokens.exclude(pk=self.instance.pk)
        if tokens.exists():
            raise forms.ValidationError(f"A token named “{name}” already exists. Choose another name.")
        return name

    def clean_description(self) -> str:
        return self.cleaned_data["description"].strip()

    def _keep_seconds(self, name: str):
        # The inputs show minutes: an unchanged date keeps the seconds it has, so it is no change.
        value = self.cleaned_data[name]
        current = getattr(self.instance, name, None)
        if value is not None and current is not None and value == current.replace(second=0, microsecond=0):
            return current
        return value

    def clean_starts_at(self):
        return self._keep_seconds("starts_at")

    def clean_expires_at(self):
        return self._keep_seconds("expires_at")

    def clean_allowed_ips(self) -> list[str]:
        return parse_allowlist(self.cleaned_data["allowed_ips"])

    def clean(self) -> dict:
        data = super().clean()
        now = timezone.now()
        starts_at, expires_at = data.get("starts_at"), data.get("expires_at")
        if expires_at is not None:
            expiry_changed = self.instance is None or expires_at != self.instance.expires_at
            if expiry_changed and expires_at <= now:
                self.add_error(
                    "expires_at", "The expiration date is in the past. Choose a date in the future."
                )
            elif starts_at is not None and starts_at >= expires_at:
                self.add_error("expires_at", "The expiration date must be after the start date.")
        if (
            data.get("organization_access") == SELECTED
            and not data.get("organizations")
            and not self.has_error("organizations")
        ):
            self.add_error("organizations", "Select at least one organization, or choose all organizations.")
        self._check_lifetime_policy(data, now)
        return data

    def _check_lifetime_policy(self, data: dict, now) -> None:
        """Put each way these terms break the tenant's lifetime policy on the field it concerns."""
        if any(self.has_error(name) for name in ("starts_at", "expires_at", "allowed_ips", "permissions")):
            return
        starts_at = data.get("starts_at") or now
        for breach in lifetime.breaches(
            self.lifetime_policy,
            starts_at=starts_at,
            expires_at=data.get("expires_at"),
            permissions=data.get("permissions") or [],
            allowed_ips=data.get("allowed_ips") or [],
        ):
            self.add_error(breach.field, breach.message)

    def terms(self) -> TokenTerms:
        """Return the validated terms for tokens.actions."""
        data = self.cleaned_data
        selected = data["organization_access"] == SELECTED
        return TokenTerms(
            name=data["name"],
            description=data["description"],
            starts_at=data["starts_at"],
            expires_at=data["expires_at"],
            allowed_ips=tuple(data["allowed_ips"]),
            organization_ids=tuple(org.pk for org in data["organizations"]) if selected else None,
            permissions=tuple(data["permissions"]),
        )

    def with_read_only_preset(self) -> "TokenForm":
        """Return an unbound form showing what was typed, with exactly the read-only permissions ticked."""
        data = self.data
        initial = {
            name: data.get(name, "")
            for name in (
                "name",
                "description",
                "starts_at",
                "expires_at",
                "allowed_ips",
                "organization_access",
            )
        }
        initial["organization_access"] = initial["organization_access"] or ALL
        initial["organizations"] = data.getlist("organizations")
        initial["permissions"] = sorted(catalogue.current().read_only_permissions)
        return TokenForm(tenant=self.tenant, instance=self.instance, initial=initial)


class TokenFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *TokenStatus.choices], required=False)
    breaks_policy = forms.BooleanField(label="Breaks the policy", required=False)
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        widget=forms.SearchInput(attrs={"placeholder": "Name or token ID"}),
    )

    def clean_q(self) -> str:
        return self.cleaned_data["q"].strip()


class NarrowForm(forms.Form):
    """The review of a narrowing (tokens.narrowing): the permissions shown as unused, posted back.

    The action removes them only if exactly these are unused when it runs.
    """

    remove = forms.MultipleChoiceField(
        widget=forms.MultipleHiddenInput,
        error_messages={
            "required": "No permission to remove was reviewed.",
            "invalid_choice": "The permissions of this token changed since you reviewed them: review them again.",
        },
    )

    def __init__(self, *args, token: ThirdPartyToken, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["remove"].choices = [(p, p) for p in token.permissions]
