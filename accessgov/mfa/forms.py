"""The one field every second-factor step asks for."""

from django import forms


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
        help_text="The six digits your authenticator app shows, or one of your recovery codes.",
    )


class ConfirmDeviceForm(CodeForm):
    device = forms.IntegerField(widget=forms.HiddenInput)


class RemovePasskeyForm(forms.Form):
    passkey = forms.IntegerField(widget=forms.HiddenInput)
