"""Forms every console area shares, and how the console renders a form field."""

from django import forms
from django.forms.renderers import TemplatesSetting


class ConsoleBoundField(forms.BoundField):
    """A field whose help text and errors have the console's ids: `domain-help`, `domain-error`."""

    @property
    def help_id(self) -> str:
        """Return the id of the field's help text."""
        return f"{self._id_stem}-help"

    @property
    def error_id(self) -> str:
        """Return the id of the field's list of errors."""
        return f"{self._id_stem}-error"

    @property
    def _id_stem(self) -> str:
        # A form may prefix the stem (`key-name-help`) where a bare field name would say too little.
        return getattr(self.form, "id_stem_prefix", "") + self.html_name.replace("_", "-")

    @property
    def aria_describedby(self) -> str | None:
        """Return the ids of the help text and errors that describe the field (screen readers read them)."""
        if self.field.widget.attrs.get("aria-describedby"):
            return None
        described_by = []
        if not self.is_hidden:
            if self.help_text:
                described_by.append(self.help_id)
            if self.errors:
                described_by.append(self.error_id)
        return " ".join(described_by)


class ConsoleFormRenderer(TemplatesSetting):
    """Render every `{{ form.field.as_field_group }}` with core/field.html: label, control, help, errors."""

    field_template_name = "core/field.html"
    bound_field_class = ConsoleBoundField


class ConfirmForm(forms.Form):
    """The tick box of every confirmation page (delete, revoke, turn off, rotate)."""

    confirm = forms.BooleanField(
        label="I understand", error_messages={"required": "Tick the box to confirm."}
    )
