from django import forms

from webhooks import domains, events
from webhooks.actions import DestinationTerms
from webhooks.delivery import loopback_allowed
from webhooks.destinations import MAX_URL_LENGTH, InvalidUrl, parse_destination_url


class DomainForm(forms.Form):
    domain = forms.CharField(
        label="Domain",
        max_length=domains.MAX_INPUT_LENGTH,
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
        help_text="The host of your webhook endpoint, e.g. partnerdatafeed.example.com, or *.example.com for any subdomain.",
        error_messages={"required": "Enter a domain name, e.g. hooks.example.com."},
    )

    def clean_domain(self) -> domains.DomainEntry:
        try:
            return domains.parse_domain(self.cleaned_data["domain"])
        except domains.InvalidDomain as error:
            raise forms.ValidationError(str(error)) from error


class DestinationForm(forms.Form):
    url = forms.CharField(
        label="Destination URL",
        max_length=MAX_URL_LENGTH,
        strip=False,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text="https only, on an approved domain, e.g. https://hooks.example.com/accessgov.",
        error_messages={"required": "Enter the https:// URL of your webhook receiver."},
    )
    description = forms.CharField(
        label="Description",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text="(optional)",
    )
    events = forms.MultipleChoiceField(
        label="Events",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event to send."},
    )
    is_enabled = forms.BooleanField(label="Enabled", required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["events"].choices = events.event_type_choices()

    def clean_url(self):
        try:
            return parse_destination_url(self.cleaned_data["url"], allow_any_port=loopback_allowed())
        except InvalidUrl as error:
            raise forms.ValidationError(str(error)) from error

    def clean_description(self) -> str:
        return " ".join(self.cleaned_data["description"].split())

    def terms(self) -> DestinationTerms:
        """Return the cleaned form as the terms the workflows take."""
        from_form = self.cleaned_data
        return DestinationTerms(
            url=from_form["url"],
            description=from_form["description"],
            event_types=from_form["events"],
            is_enabled=from_form["is_enabled"],
        )

    def clean_events(self) -> list[str]:
        chosen = set(self.cleaned_data["events"])
        # Stored in catalogue order, so an unchanged choice compares equal.
        return [value for value, _label in events.event_type_choices() if value in chosen]


class ReplayForm(forms.Form):
    """ "Replay failed deliveries since …": a range of creation times, in UTC like the delivery log."""

    since = forms.DateTimeField(
        label="Failed since (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        error_messages={
            "required": "Enter when the range starts, e.g. 2026-11-22 09:00.",
            "invalid": "Enter a date and time, e.g. 2026-11-22 09:00.",
        },
    )
    until = forms.DateTimeField(
        label="Until (UTC)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="(optional; empty means now)",
        error_messages={"invalid": "Enter a date and time, e.g. 2026-11-23 18:00."},
    )

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise forms.ValidationError("The start of the range is after its end.")
        return cleaned
