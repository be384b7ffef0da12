"""The one confirmation page of the console: what will happen, "I understand", one button, Cancel."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accessgov.core.forms import ConfirmForm


def render_confirmation(
    request: HttpRequest,
    form: ConfirmForm | None,
    *,
    text: str,
    title: str,
    button: str,
    cancel_url: str,
    cancel_label: str = "Cancel",
    primary: bool = False,
    **context: Any,
) -> HttpResponse:
    """Render core/confirm.html: the partial TEXT (question and consequences), FORM, BUTTON, Cancel.

    Without FORM there is nothing left to confirm (already revoked, past its grace): the page says
    so through TEXT and links back with CANCEL_LABEL. CONTEXT is what TEXT needs. A POST that gets
    here was not confirmed, so it is answered 400.
    """
    context.update(
        text=text,
        title=title,
        form=form,
        button=button,
        primary=primary,
        cancel_url=cancel_url,
        cancel_label=cancel_label,
    )
    status = 400 if request.method == "POST" else 200
    return render(request, "core/confirm.html", context, status=status)
