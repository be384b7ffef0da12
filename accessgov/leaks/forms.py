from django import forms


class LookupForm(forms.Form):
    value = forms.CharField(
        label="Key, token ID or prefix",
        max_length=200,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="Paste an API key or token secret, a token ID (agt_…) or an API key's prefix (agk_…). It is not kept or shown again.",
        error_messages={"required": "Paste the key, token ID or prefix to look up."},
    )
