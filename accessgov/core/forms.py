"""Forms every console area shares."""

from django import forms


class ConfirmForm(forms.Form):
    """The tick box of every confirmation page (delete, revoke, turn off, rotate)."""

    confirm = forms.BooleanField(
        label="I understand", error_messages={"required": "Tick the box to confirm."}
    )
