"""The forms of Manage API: agree to the policy, name a new key."""

from django import forms
from django.core.validators import EmailValidator

MAX_SECURITY_CONTACTS = 10


class AgreePolicyForm(forms.Form):
    agree = forms.BooleanField(label="Agree to the API Policy")
    # The version the administrator read; agreeing to a version that was replaced meanwhile is refused.
    version = forms.CharField(widget=forms.HiddenInput, max_length=32)


class ApiKeyForm(forms.Form):
    id_stem_prefix = "key-"  # its help and errors are key-name-help and key-name-error
    name = forms.CharField(
        label="Key name",
        max_length=100,
        help_text="One key per integration, e.g. “PSA sync”, so you can delete one without breaking the others.",
        error_messages={
            "required": "Give the key a name, e.g. the integration that will use it.",
            "max_length": "Key names are at most %(limit_value)d characters (this one has %(show_value)d).",
        },
    )

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Give the key a name, e.g. the integration that will use it.")
        return name


class SecurityContactForm(forms.Form):
    id_stem_prefix = "contact-"
    security_contacts = forms.CharField(
        label="Security contact",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=(
            "E-mail addresses, one per line or separated by commas, told when credentials expire or leak and "
            "when a webhook destination is disabled. Leave empty to tell the tenant's administrators."
        ),
    )

    def clean_security_contacts(self) -> list[str]:
        raw = self.cleaned_data["security_contacts"].replace(",", "\n").replace(";", "\n")
        addresses = []
        validate = EmailValidator()
        for item in raw.split():
            address = item.strip().lower()
            try:
                validate(address)
            except forms.ValidationError:
                raise forms.ValidationError(f"“{item[:100]}” is not an e-mail address.") from None
            if address not in addresses:
                addresses.append(address)
        if len(addresses) > MAX_SECURITY_CONTACTS:
            raise forms.ValidationError(
                f"Name at most {MAX_SECURITY_CONTACTS} addresses (this has {len(addresses)})."
            )
        return addresses


MAX_LIFETIME_DAYS = 3650


class LifetimePolicyForm(forms.Form):
    id_stem_prefix = "lifetime-"
    max_lifetime_days = forms.IntegerField(
        label="Maximum lifetime (days)",
        required=False,
        min_value=1,
        max_value=MAX_LIFETIME_DAYS,
        help_text="From a token's start date to its expiration date, e.g. 90. Empty: no maximum.",
        error_messages={
            "invalid": "Enter a whole number of days, e.g. 90.",
            "min_value": "A maximum lifetime is at least %(limit_value)s day.",
            "max_value": "A maximum lifetime is at most %(limit_value)s days (ten years).",
        },
    )
    expiry_required = forms.BooleanField(label="An expiry date is required", required=False)
    allowlist_required_for_write = forms.BooleanField(
        label="An IP allowlist is required for tokens with write permissions", required=False
    )
    suspend_unused_after_days = forms.IntegerField(
        label="Suspend credentials unused for (days)",
        required=False,
        min_value=7,
        max_value=MAX_LIFETIME_DAYS,
        help_text="Tokens not used (nor changed) for this many days are suspended by the nightly "
        "send_reminders run, and the security contact is told. Empty: never.",
        error_messages={
            "invalid": "Enter a whole number of days, e.g. 90.",
            "min_value": "Suspend after at least %(limit_value)s days, so a weekly job is not cut off.",
            "max_value": "At most %(limit_value)s days.",
        },
    )


class LeakResponseForm(forms.Form):
    leak_response = forms.ChoiceField(
        label="When a secret of this tenant is reported leaked",
        widget=forms.RadioSelect,
        choices=[
            ("revoke", "Revoke it at once and tell the security contact (recommended)"),
            ("notify", "Only tell the security contact"),
        ],
        error_messages={"invalid_choice": "Choose what happens to a leaked secret."},
    )
