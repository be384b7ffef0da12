"""The inventory page for the operator's staff: every credential of every tenant, filters, CSV."""

import csv

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accessgov.inventory import credentials
from accessgov.inventory.forms import InventoryFilterForm
from accessgov.inventory.rows import Row, csv_cell
from tenants.access import staff_required


def _filtered(request: HttpRequest):
    form = InventoryFilterForm(request.GET)
    form.is_valid()  # an unknown choice is ignored (the form shows it as unset), never a 500
    data = form.cleaned_data
    rows = credentials.inventory(
        now=timezone.now(),
        saved_filter=data.get("filter") or "",
        kind=data.get("kind") or "",
        tenant_id=data["tenant"].pk if data.get("tenant") else None,
        search=data.get("q") or "",
    )
    return form, rows


@require_GET
@staff_required
def list_credentials(request: HttpRequest) -> HttpResponse:
    """Show one page of the inventory; with htmx, only the list."""
    form, rows = _filtered(request)
    page = Paginator(rows, settings.ACCESSGOV_PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = [Row.from_values(values) for values in page.object_list]
    context = {
        "form": form,
        "page": page,
        "saved_filters": credentials.SAVED_FILTERS,
        "query": form.query_string(),
    }
    template = "inventory/credentials.html#credential-list" if request.htmx else "inventory/credentials.html"
    return render(request, template, context)


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_GET
@staff_required
def export_credentials(request: HttpRequest) -> StreamingHttpResponse:
    """Stream exactly what the filter shows as CSV, every page of it; formula-looking cells neutralised."""
    _, rows = _filtered(request)
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(Row.CSV_HEADER)
        # Chunks keep memory flat whatever the number of credentials.
        for values in rows.iterator(chunk_size=2000):
            yield writer.writerow([csv_cell(cell) for cell in Row.from_values(values).csv()])

    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="accessgov-credentials-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
