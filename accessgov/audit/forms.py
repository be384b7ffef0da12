"""The filter of Settings > API › Activity."""

from django import forms

from accessgov.audit.models import Action


class EventFilterForm(forms.Form):
    """Which action the list shows; anything else shows every action."""

    action = forms.ChoiceField(label="Action", choices=[("", "All actions"), *Action.choices], required=False)
