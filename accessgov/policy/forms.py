"""The forms of Manage API: agree to the policy, name a new key."""

from django import forms


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
