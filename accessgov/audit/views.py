"""Settings > API › Activity: the tenant's audit log, newest first."""

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accessgov.audit.forms import EventFilterForm
from accessgov.audit.models import AuditEvent
from tenants.access import administrator_required


@require_GET
@administrator_required
def list_events(request: HttpRequest) -> HttpResponse:
    """List the tenant's audit events, newest first, optionally of one action."""
    events = AuditEvent.objects.for_tenant(request.tenant).order_by("-created_at", "-pk")
    filters = EventFilterForm(request.GET)
    action = filters.cleaned_data["action"] if filters.is_valid() else ""
    if action:
        events = events.filter(action=action)
    page = Paginator(events, settings.ACCESSGOV_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "tab": "activity",
        "events": page,
        # The field shows what the list is filtered by; a value not understood is ignored, not shown.
        "filters": EventFilterForm(initial={"action": action}),
        "selected_action": action,
    }
    if request.htmx:
        return render(request, "audit/activity.html#event-list", context)
    return render(request, "audit/activity.html", context)
