"""The inventory's filters: a saved filter, a kind, a tenant and a search term."""

from urllib.parse import urlencode

from django import forms

from accessgov.inventory.credentials import SAVED_FILTERS, Kind
from tenants.models import Tenant


class InventoryFilterForm(forms.Form):
    filter = forms.ChoiceField(
        label="Show",
        required=False,
        choices=[("", "All credentials"), *((key, f.label) for key, f in SAVED_FILTERS.items())],
    )
    kind = forms.ChoiceField(label="Type", required=False, choices=[("", "Any type"), *Kind.LABELS.items()])
    tenant = forms.ModelChoiceField(
        label="Tenant", required=False, queryset=Tenant.objects.order_by("name"), empty_label="Any tenant"
    )
    q = forms.CharField(label="Search", required=False, max_length=100)

    def query_string(self) -> str:
        """Return the valid filters as a query string (for pagination and the CSV link)."""
        data = getattr(self, "cleaned_data", {})
        pairs = {
            "filter": data.get("filter") or "",
            "kind": data.get("kind") or "",
            "tenant": data["tenant"].pk if data.get("tenant") else "",
            "q": data.get("q") or "",
        }
        return urlencode({key: value for key, value in pairs.items() if value})
