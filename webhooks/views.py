"""Settings > API › Webhook API: approved domains, destinations, signing secrets and delivery logs."""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_ratelimit.core import is_ratelimited

from accessgov.core.clientip import get_client_ip
from accessgov.core.confirm import render_confirmation
from accessgov.core.forms import ConfirmForm
from accessgov.core.rotation import RollForm
from accessgov.policy.access import access_on
from tenants.access import administrator_required
from webhooks import actions, events, health, retention, schedule, throttle
from webhooks.forms import DestinationForm, DomainForm, ReplayForm
from webhooks.models import (
    ApprovedWebhookDomain,
    DeliveryState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDestination,
)

INDEX = "webhooks/webhooks.html"
DETAIL = "webhooks/destination.html"


def _index_url(request: HttpRequest) -> str:
    return reverse("webhooks:show_webhooks", args=[request.tenant.slug])


def _destination_url(request: HttpRequest, destination: WebhookDestination) -> str:
    return reverse("webhooks:show_destination", args=[request.tenant.slug, destination.pk])


def _refuse(request: HttpRequest, message: str, to: str | None = None) -> HttpResponse:
    messages.error(request, message)
    target = to or _index_url(request)
    # htmx would swap a followed redirect's whole page into the fragment: ask it to navigate.
    return HttpResponseClientRedirect(target) if request.htmx else redirect(target)


def _index_context(request: HttpRequest, **extra) -> dict:
    tenant = request.tenant
    now = timezone.now()
    approved = ApprovedWebhookDomain.objects.for_tenant(tenant)
    domain_page = Paginator(
        approved.select_related("added_by").order_by("domain", "pk"), settings.ACCESSGOV_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    for entry in domain_page:
        entry.review = entry.needs_review(now)
    names = approved.domain_names()
    last_attempt = WebhookAttempt.objects.filter(destination=OuterRef("pk")).order_by("-started_at", "-pk")
    destination_page = Paginator(
        WebhookDestination.objects.for_tenant(tenant)
        .annotate(
            last_attempt_at=Subquery(last_attempt.values("started_at")[:1]),
            last_attempt_ok=Subquery(last_attempt.values("succeeded")[:1]),
        )
        .order_by("url", "pk"),
        settings.ACCESSGOV_PAGE_SIZE,
    ).get_page(request.GET.get("destinations_page"))
    for destination in destination_page:
        destination.approved_entry = destination.approved_by(names)
        destination.disables_at = (
            health.disables_at(destination) if health.warning_due(destination, now) else None
        )
    context = {
        "keep_days": retention.keep_days(),
        "tab": "webhooks",
        "api_enabled": access_on(tenant),
        "domains": domain_page,
        "destinations": destination_page,
        "domain_form": DomainForm(),
        "show_domain_form": False,
    }
    context.update(extra)
    return context


@require_GET
@administrator_required
def show_webhooks(request: HttpRequest) -> HttpResponse:
    """Show the Webhook API tab: approved domains and destinations (one part of it for htmx)."""
    context = _index_context(request)
    if request.htmx and request.htmx.target in {"domains", "destinations"}:
        return render(request, f"{INDEX}#{request.htmx.target}", context)
    return render(request, INDEX, context)


@require_http_methods(["GET", "POST"])
@administrator_required
def add_domain(request: HttpRequest) -> HttpResponse:
    """Show the "+ Add new domain" field, and approve the domain entered in it."""
    if not access_on(request.tenant):
        return _refuse(request, actions.API_OFF)
    form = DomainForm(request.POST or None)
    template = f"{INDEX}#domains" if request.htmx else INDEX
    if request.method == "GET":
        return render(request, template, _index_context(request, show_domain_form=True))
    if form.is_valid():
        entry = form.cleaned_data["domain"]
        try:
            actions.add_domain(tenant=request.tenant, entry=entry, by=request.user, ip=get_client_ip(request))
        except actions.ActionRefused as refusal:
            form.add_error("domain", str(refusal))
        else:
            note = f"{entry.unicode} is approved for webhook destinations."
            if entry.taken_from_url:
                note = f"Took the host {entry.unicode} from the URL you pasted. " + note
            if not request.htmx:
                messages.success(request, note)
                return redirect(_index_url(request))
            return render(request, template, _index_context(request, added_note=note))
    # 400 with or without htmx: base.html's htmx-config swaps a 400 answer in like a 200.
    context = _index_context(request, domain_form=form, show_domain_form=True)
    return render(request, template, context, status=400)


@require_http_methods(["GET", "POST"])
@administrator_required
def remove_domain(request: HttpRequest, domain_id: int) -> HttpResponse:
    """Ask for confirmation, then remove an approved domain; its destinations are blocked at once."""
    # Allowed while API access is off (clean-up during an incident).
    approved = get_object_or_404(ApprovedWebhookDomain.objects.for_tenant(request.tenant), pk=domain_id)
    names = [approved.domain]
    affected = [
        d
        for d in WebhookDestination.objects.for_tenant(request.tenant).order_by("url")
        if d.approved_by(names)
    ]
    form = ConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            blocked = actions.remove_domain(approved=approved, by=request.user, ip=get_client_ip(request))
        except actions.ActionRefused as refusal:
            return _refuse(request, str(refusal))
        message = f"{approved.unicode_domain} is no longer approved."
        if blocked:
            message += f" {blocked} destination(s) on it are blocked and receive nothing."
        messages.success(request, message)
        return redirect(_index_url(request))
    return render_confirmation(
        request,
        form,
        text=f"{INDEX}#remove-domain",
        title="Remove approved domain",
        button="Remove",
        cancel_url=_index_url(request),
        tab="webhooks",
        approved=approved,
        affected=affected,
    )


def _destination(request: HttpRequest, destination_id: int) -> WebhookDestination:
    """Return the tenant's destination DESTINATION_ID, or 404 (another tenant's is not found)."""
    return get_object_or_404(WebhookDestination.objects.for_tenant(request.tenant), pk=destination_id)


def _destination_to_change(
    request: HttpRequest, destination_id: int
) -> tuple[WebhookDestination, HttpResponse | None]:
    """Return the destination and, while API access is off, the answer refusing any change to it."""
    destination = _destination(request, destination_id)
    if access_on(request.tenant):
        return destination, None
    return destination, _refuse(request, actions.API_OFF, to=_destination_url(request, destination))


def _destination_form_page(request, form, destination=None, status=200) -> HttpResponse:
    context = {"tab": "webhooks", "form": form, "destination": destination}
    return render(request, "webhooks/destination_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@administrator_required
def add_destination(request: HttpRequest) -> HttpResponse:
    """Add a webhook destination on an approved domain."""
    if not access_on(request.tenant):
        return _refuse(request, actions.API_OFF)
    if request.method == "GET":
        initial = {"events": [events.NOTIFY, events.TEST], "is_enabled": True}
        return _destination_form_page(request, DestinationForm(initial=initial))
    form = DestinationForm(request.POST)
    if form.is_valid():
        try:
            destination = actions.create_destination(
                tenant=request.tenant, terms=form.terms(), by=request.user, ip=get_client_ip(request)
            )
        except actions.ActionRefused as refusal:
            form.add_error("url", str(refusal))
        else:
            messages.success(
                request,
                f"Destination {destination.url} added. Reveal its signing secret to configure your receiver.",
            )
            return redirect(_destination_url(request, destination))
    return _destination_form_page(request, form, status=400)


@require_http_methods(["GET", "POST"])
@administrator_required
def edit_destination(request: HttpRequest, destination_id: int) -> HttpResponse:
    """Change a destination's URL, description, events, or whether it is enabled."""
    destination, refused = _destination_to_change(request, destination_id)
    if refused:
        return refused
    if request.method == "GET":
        initial = {
            "url": destination.url,
            "description": destination.description,
            "events": destination.events,
            "is_enabled": destination.is_enabled,
        }
        return _destination_form_page(request, DestinationForm(initial=initial), destination)
    form = DestinationForm(request.POST)
    if form.is_valid():
        try:
            actions.update_destination(
                destination=destination, terms=form.terms(), by=request.user, ip=get_client_ip(request)
            )
        except actions.ActionRefused as refusal:
            form.add_error("url", str(refusal))
        else:
            messages.success(request, "Destination saved.")
            return redirect(_destination_url(request, destination))
    return _destination_form_page(request, form, destination, status=400)


@require_http_methods(["GET", "POST"])
@administrator_required
def delete_destination(request: HttpRequest, destination_id: int) -> HttpResponse:
    """Ask for confirmation, then delete a destination and its delivery log (also while API access is off)."""
    destination = _destination(request, destination_id)
    form = ConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.delete_destination(destination=destination, by=request.user, ip=get_client_ip(request))
        except actions.ActionRefused as refusal:
            return _refuse(request, str(refusal))
        messages.success(request, f"Destination {destination.url} deleted; nothing more is sent to it.")
        return redirect(_index_url(request))
    return render_confirmation(
        request,
        form,
        text=f"{DETAIL}#delete-destination",
        title="Delete webhook destination",
        button="Delete",
        cancel_url=_destination_url(request, destination),
        tab="webhooks",
        destination=destination,
    )


def _destination_context(request: HttpRequest, destination: WebhookDestination, **extra) -> dict:
    tenant = request.tenant
    names = ApprovedWebhookDomain.objects.for_tenant(tenant).domain_names()
    log = Paginator(
        WebhookAttempt.objects.for_tenant(tenant)
        .filter(destination=destination)
        .select_related("delivery")
        .order_by("-started_at", "-pk"),
        settings.ACCESSGOV_PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    waiting = WebhookDelivery.objects.for_tenant(tenant).filter(
        destination=destination, state=DeliveryState.PENDING
    )
    now = timezone.now()
    context = {
        "tab": "webhooks",
        "api_enabled": access_on(tenant),
        "destination": destination,
        "approved_entry": destination.approved_by(names),
        "event_labels": [events.event_label(e) for e in destination.events],
        "receives_tests": destination.subscribes_to(events.TEST),
        "log": log,
        "waiting": waiting.count(),
        "next_attempt": waiting.order_by("next_attempt_at", "pk")
        .values("next_attempt_at", "next_attempt_reason", "attempts", "webhook_id")
        .first(),
        "schedule": schedule.describe_schedule(),
        "retry_after_cap": schedule.describe_delay(schedule.retry_after_cap()),
        "max_concurrency": destination.max_concurrency or throttle.default_concurrency(),
        "max_per_second": destination.max_per_second or throttle.default_per_second(),
        "disables_at": health.disables_at(destination),
        "disable_warning": health.warning_due(destination, now),
        "disable_after_days": health.disable_after().days,
        "keep_days": retention.keep_days(),
        "replay_form": ReplayForm(),
        "secret": None,
        "old_secret_live": len(destination.secrets_in_use()) > 1,
        "test_attempt": None,
        "test_delivery": None,  # a queued test event not yet sent: the result part polls for it
        "sending": None,  # a queued redelivery not yet sent: the delivery log polls for it
    }
    context.update(extra)
    return context


@require_GET
@administrator_required
def show_destination(request: HttpRequest, destination_id: int) -> HttpResponse:
    """Show a destination, its signing secret controls, "Send test event" and its delivery log."""
    found = _destination(request, destination_id)
    context = _destination_context(request, found)
    if request.htmx and request.htmx.target == "delivery-log":
        return render(request, f"{DETAIL}#delivery-log", context)
    return render(request, DETAIL, context)


@never_cache
@sensitive_variables("secret")
@require_POST
@administrator_required
def reveal_secret(request: HttpRequest, destination_id: int) -> HttpResponse:
    """Show the signing secret in this response only (audited); it is never put in a URL."""
    found = _destination(request, destination_id)
    try:
        secret = actions.reveal_secret(destination=found, by=request.user, ip=get_client_ip(request))
    except actions.ActionRefused as refusal:
        return _refuse(request, str(refusal), to=_destination_url(request, found))
    context = _destination_context(request, found, secret=secret)
    template = f"{DETAIL}#signing-secret" if request.htmx else DETAIL
    return render(request, template, context)


@never_cache
@sensitive_variables("secret")
@require_http_methods(["GET", "POST"])
@administrator_required
def rotate_secret(request: HttpRequest, destination_id: int) -> HttpResponse:
    """Ask for the overlap, then replace the signing secret and show the new one once here."""
    found, refused = _destination_to_change(request, destination_id)
    if refused:
        return refused
    form = RollForm(request.POST or None, timed_only=True)
    if request.method == "POST" and form.is_valid():
        try:
            secret = actions.rotate_secret(
                destination=found,
                by=request.user,
                ip=get_client_ip(request),
                overlap=form.cleaned_data["overlap"],
            )
        except actions.ActionRefused as refusal:
            return _refuse(request, str(refusal), to=_destination_url(request, found))
        found.refresh_from_db()
        return render(request, DETAIL, _destination_context(request, found, secret=secret, rotated=True))
    return render_confirmation(
        request,
        form,
        text=f"{DETAIL}#rotate-secret",
        title="Regenerate signing secret",
        button="Regenerate signing secret",
        primary=True,
        cancel_url=_destination_url(request, found),
        tab="webhooks",
        destination=found,
        old_secret_live=len(found.secrets_in_use()) > 1,
    )


@require_http_methods(["GET", "POST"])
@administrator_required
def retire_old_secret(request: HttpRequest, destination_id: int) -> HttpResponse:
    """Ask for confirmation, then stop signing with the old secret at once."""
    found = _destination(request, destination_id)
    form = ConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if actions.retire_old_secret(destination=found, by=request.user, ip=get_client_ip(request)):
            messages.success(
                request, "The old signing secret is retired: deliveries carry only the new signature."
            )
        else:
            messages.info(request, "No old signing secret was still signing.")
        return redirect(_destination_url(request, found))
    live = len(found.secrets_in_use()) > 1
    return render_confirmation(
        request,
        form if live else None,
        text=f"{DETAIL}#retire-old-secret",
        title="Retire old secret now",
        button="Retire old secret now",
        cancel_url=_destination_url(request, found),
        cancel_label="Cancel" if live else "Back to the destination",
        tab="webhooks",
        destination=found,
        old_secret_live=live,
    )


def _manual_sends_exhausted(request: HttpRequest) -> bool:
    """Count one manual send (test event or redelivery) against the tenant's budget; True when over it."""

    def tenant_key(group: str, request: HttpRequest) -> str:
        # Per tenant, not per user: several administrators of one tenant share one budget.
        return str(request.tenant.pk)

    return is_ratelimited(
        request,
        group="webhooks-manual-send",
        key=tenant_key,
        rate=settings.ACCESSGOV_WEBHOOKS_MANUAL_SEND_RATE,
        method="POST",
        increment=True,
    )


MANUAL_SENDS_EXHAUSTED = (
    "This tenant has sent too many test events, redeliveries and replays in the last minute "
    "(at most {rate}). Wait a minute and try again."
)


def _sending_context(
    request: HttpRequest, destination: WebhookDestination, delivery: WebhookDelivery
) -> dict:
    """Return the page context for DELIVERY: still sending, or the attempt that settled it."""
    settled = delivery.state != DeliveryState.PENDING
    attempt = delivery.attempt_log.order_by("-number", "-pk").first() if settled else None
    if delivery.event_type == events.TEST:
        return _destination_context(
            request, destination, test_attempt=attempt, test_delivery=None if settled else delivery
        )
    return _destination_context(request, destination, sending=None if settled else delivery)


@require_POST
@administrator_required
def send_test(request: HttpRequest, destination_id: int) -> HttpResponse:
    """Queue a test event for the worker and answer at once; the result appears in place (htmx polls)."""
    found = _destination(request, destination_id)
    if _manual_sends_exhausted(request):
        message = MANUAL_SENDS_EXHAUSTED.format(rate=settings.ACCESSGOV_WEBHOOKS_MANUAL_SEND_RATE)
        return _refuse(request, message, to=_destination_url(request, found))
    try:
        delivery = actions.send_test_event(destination=found, by=request.user, ip=get_client_ip(request))
    except actions.ActionRefused as refusal:
        return _refuse(request, str(refusal), to=_destination_url(request, found))
    if request.htmx:
        return render(
            request, f"{DETAIL}#test-result", _destination_context(request, found, test_delivery=delivery)
        )
    messages.success(
        request,
        f"Test event {delivery.webhook_id} queued; the delivery worker sends it within seconds. "
        "Reload this page to see the result in the delivery log.",
    )
    return redirect(_delivery_url(request, found, delivery))


def _delivery_url(request: HttpRequest, destination: WebhookDestination, delivery: WebhookDelivery) -> str:
    return reverse("webhooks:show_delivery", args=[request.tenant.slug, destination.pk, delivery.pk])


@require_GET
@administrator_required
def show_delivery(request: HttpRequest, destination_id: int, delivery_id: int) -> HttpResponse:
    """Show the destination with one queued delivery: "sending…" until its attempt is recorded.

    htmx polls this every 2 seconds for the part being updated; without JavaScript it is the page.
    """
    found = _destination(request, destination_id)
    delivery = get_object_or_404(
        WebhookDelivery.objects.for_tenant(request.tenant).filter(destination=found), pk=delivery_id
    )
    context = _sending_context(request, found, delivery)
    if request.htmx and request.htmx.target in {"test-result", "delivery-log"}:
        if request.htmx.target == "test-result" and context["test_delivery"] is None:
            context["oob_log"] = True  # settled: refresh the log beside the result
        return render(request, f"{DETAIL}#{request.htmx.target}", context)
    return render(request, DETAIL, context)


@require_POST
@administrator_required
def redeliver_delivery(request: HttpRequest, destination_id: int, delivery_id: int) -> HttpResponse:
    """Queue a failed delivery for one more attempt, with the same webhook-id, and answer at once."""
    found = _destination(request, destination_id)
    delivery = get_object_or_404(
        WebhookDelivery.objects.for_tenant(request.tenant).filter(destination=found), pk=delivery_id
    )
    if _manual_sends_exhausted(request):
        message = MANUAL_SENDS_EXHAUSTED.format(rate=settings.ACCESSGOV_WEBHOOKS_MANUAL_SEND_RATE)
        return _refuse(request, message, to=_destination_url(request, found))
    try:
        queued = actions.redeliver(delivery=delivery, by=request.user, ip=get_client_ip(request))
    except actions.ActionRefused as refusal:
        return _refuse(request, str(refusal), to=_destination_url(request, found))
    message = f"{queued.webhook_id} is queued to be sent again; the delivery log shows the result."
    if request.htmx:
        context = _destination_context(request, found, log_note=message, sending=queued)
        return render(request, f"{DETAIL}#delivery-log", context)
    messages.success(request, message + " Reload this page to see it.")
    return redirect(_delivery_url(request, found, queued))


@require_POST
@administrator_required
def enable_destination(request: HttpRequest, destination_id: int) -> HttpResponse:
    """Enable a disabled destination again with one click (audited)."""
    found, refused = _destination_to_change(request, destination_id)
    if refused:
        return refused
    try:
        actions.enable_destination(destination=found, by=request.user, ip=get_client_ip(request))
    except actions.ActionRefused as refusal:
        return _refuse(request, str(refusal), to=_destination_url(request, found))
    messages.success(
        request,
        "Destination enabled: new deliveries are sent to it again. "
        "Replay the deliveries that failed meanwhile with the form below.",
    )
    return redirect(_destination_url(request, found))


def _replay_refused(request: HttpRequest, destination: WebhookDestination, form: ReplayForm) -> HttpResponse:
    """Return the destination page with the replay form and what is wrong with it (nothing queued)."""
    return render(request, DETAIL, _destination_context(request, destination, replay_form=form), status=400)


@require_POST
@administrator_required
def replay_deliveries(request: HttpRequest, destination_id: int) -> HttpResponse:
    """Queue every failed delivery of a range again, oldest first, with their original webhook-ids."""
    found, refused = _destination_to_change(request, destination_id)
    if refused:
        return refused
    form = ReplayForm(request.POST)
    if not form.is_valid():
        return _replay_refused(request, found, form)
    if _manual_sends_exhausted(request):
        message = MANUAL_SENDS_EXHAUSTED.format(rate=settings.ACCESSGOV_WEBHOOKS_MANUAL_SEND_RATE)
        return _refuse(request, message, to=_destination_url(request, found))
    try:
        queued = actions.replay_failed_deliveries(
            destination=found,
            since=form.cleaned_data["since"],
            until=form.cleaned_data["until"],
            by=request.user,
            ip=get_client_ip(request),
        )
    except actions.ActionRefused as refusal:
        form.add_error(None, str(refusal))
        return _replay_refused(request, found, form)
    messages.success(
        request,
        f"{queued} failed deliver{'y' if queued == 1 else 'ies'} queued again, oldest first, each with its "
        "original webhook-id; the delivery log shows the results.",
    )
    return redirect(_destination_url(request, found))
