"""Team workflow pages: an item's claim panel, bulk decisions with their progress and report,
the team's notification / timeout / approval settings, and the metrics (charts and CSV).

Every write goes through ``services.do_*``; refusals are shown as sentences. Pages work
without htmx; with it, the claim panel and the bulk progress swap their own partials.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.http import AuthenticatedHttpRequest, hx_redirect
from apps.accounts.permissions import can, teams_for
from apps.deployments.selectors import deployments_for
from apps.inbox.events import InboxEvents
from apps.inbox.forms import InboxFilterForm
from apps.inbox.models import Interrupt
from apps.inbox.selectors import filter_inbox, pending_for
from apps.workflow import charts, forms, metrics, selectors, services
from apps.workflow.hooks import format_when
from apps.workflow.models import Approval, BulkItem, BulkJob, Deadline, Notification
from dashboard.csvsafe import csv_response

# --- overview ---------------------------------------------------------------------------------


@require_GET
@login_required
def overview(request: AuthenticatedHttpRequest) -> HttpResponse:
    now = timezone.now()
    pending = pending_for(request.user)
    mine = selectors.claims_held_by(request.user, now)
    approvals = (
        Approval.objects.filter(interrupt__in=pending, state=Approval.State.WAITING)
        .select_related("interrupt", "interrupt__deployment", "approved_by")
        .order_by("approved_at")[:50]
    )
    deadlines = (
        Deadline.objects.filter(interrupt__in=pending, state=Deadline.State.WAITING)
        .select_related("interrupt", "interrupt__deployment")
        .order_by("due_at")[:20]
    )
    context = {
        "claims": list(mine),
        "approvals": list(approvals),
        "deadlines": list(deadlines),
        "jobs": list(selectors.jobs_for(request.user)[:10]),
        "is_admin": teams_for(request.user, "administer").exists(),
        "may_decide": teams_for(request.user, "decide").exists(),
    }
    return render(request, "workflow/overview.html", context)


# --- one item: claims -------------------------------------------------------------------------


def _item_context(
    request: AuthenticatedHttpRequest, item: Interrupt, error: str = ""
) -> dict[str, Any]:
    status = selectors.item_status([item.pk])[item.pk]
    return {
        "item": item,
        "claim": status.claim,
        "deadline": status.deadline,
        "approval": status.approval,
        "mine": status.claim is not None and status.claim.claimed_by_id == request.user.pk,
        "may_decide": can(request.user, "decide", item),
        "may_break": can(request.user, "administer", item),
        "claim_form": forms.ClaimForm(),
        "notifications": Notification.objects.filter(interrupt=item).select_related("channel")[:20],
        "error": error,
    }


def _cell_context(
    request: HttpRequest,
    item: Interrupt,
    status: selectors.ItemStatus,
    *,
    may_decide: bool,
    error: str = "",
) -> dict[str, Any]:
    return {
        "item": item,
        "claim": status.claim,
        "mine": status.claim is not None and status.claim.claimed_by_id == request.user.pk,
        "may_decide": may_decide,
        "error": error,
    }


def claim_cells(request: HttpRequest, items: Sequence[Interrupt]) -> dict[int, SafeString]:
    """The inbox list's "Held by" cell of each item (registered on ``apps.inbox.hooks``): who
    holds it, and Claim / Release, swapped in place by htmx. Four queries for the page."""
    statuses = selectors.item_status([i.pk for i in items])
    deciding = set(teams_for(request.user, "decide").values_list("pk", flat=True))
    # Rendered without the request: its context processors (the nav's counts) would run again
    # for every row. The form's CSRF token is the one the page carries.
    token = get_token(request)
    return {
        i.pk: render_to_string(
            "workflow/_claim_cell.html",
            {
                **_cell_context(request, i, statuses[i.pk], may_decide=i.team_id in deciding),
                "csrf_token": token,
            },
        )
        for i in items
    }


def _item_response(
    request: AuthenticatedHttpRequest, item: Interrupt, error: str = "", status: int = 200
) -> HttpResponse:
    if request.htmx and (request.htmx.target or "").startswith("claim-cell-"):
        status_ = selectors.item_status([item.pk])[item.pk]
        may = can(request.user, "decide", item)
        cell = _cell_context(request, item, status_, may_decide=may, error=error)
        return render(request, "workflow/_claim_cell.html", cell, status=status)
    context = _item_context(request, item, error)
    if request.htmx:
        return render(request, "workflow/item.html#panel", context, status=status)
    return render(request, "workflow/item.html", context, status=status)


@require_GET
@login_required
def item_panel(request: AuthenticatedHttpRequest, item_id: int) -> HttpResponse:
    return _item_response(request, selectors.get_item_for(request.user, item_id))


def _after_item_write(
    request: AuthenticatedHttpRequest, item: Interrupt, message: str
) -> HttpResponse:
    # The team's open inbox pages refresh (the inbox socket): a second operator sees who holds
    # the item before filling in its form.
    team_id = item.team_id
    transaction.on_commit(lambda: InboxEvents.changed([team_id]))
    if request.htmx:
        response = _item_response(request, item)
        response["HX-Trigger"] = "workflow-item-changed"
        return response
    messages.success(request, message)
    return HttpResponseRedirect(reverse("workflow:item", kwargs={"item_id": item.pk}))


@require_POST
@login_required
def item_claim(request: AuthenticatedHttpRequest, item_id: int) -> HttpResponse:
    item = selectors.get_item_for(request.user, item_id)
    form = forms.ClaimForm(request.POST)
    minutes = form.cleaned_data["minutes"] if form.is_valid() else 30
    try:
        claim = services.do_claim(user=request.user, item=item, minutes=minutes, request=request)
    except services.WorkflowRefused as refused:
        return _item_response(request, item, str(refused), status=409)
    return _after_item_write(request, item, f"Claimed until {format_when(claim.expires_at)}.")


@require_POST
@login_required
def item_release(request: AuthenticatedHttpRequest, item_id: int) -> HttpResponse:
    item = selectors.get_item_for(request.user, item_id)
    try:
        services.do_release(user=request.user, item=item, request=request)
    except services.WorkflowRefused as refused:
        return _item_response(request, item, str(refused), status=409)
    return _after_item_write(request, item, "Claim released.")


@require_POST
@login_required
def item_break(request: AuthenticatedHttpRequest, item_id: int) -> HttpResponse:
    item = selectors.get_item_for(request.user, item_id)
    form = forms.BreakClaimForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.do_break_claim(user=request.user, item=item, reason=reason, request=request)
    except services.WorkflowRefused as refused:
        return _item_response(request, item, str(refused), status=409)
    return _after_item_write(request, item, "Claim broken.")


# --- bulk decisions ---------------------------------------------------------------------------


PICK_LIMIT = 100  # items listed one by one, each with its checkbox


def _picked_ids(data: QueryDict) -> list[int]:
    return sorted({int(v) for v in data.getlist("item") if v.isdigit()})


def _selection(
    request: AuthenticatedHttpRequest, data: QueryDict
) -> tuple[InboxFilterForm, Any, dict[str, Any], list[int] | None]:
    """The filter's items, narrowed to the ticked ones when the items were picked (ids from the
    inbox list's checkboxes, or this page's: ``pick`` marks a form whose unticked boxes count,
    so ticking none picks nothing rather than everything)."""
    deployments = list(deployments_for(request.user, "decide").order_by("name"))
    filter_form = InboxFilterForm(data, deployments=[(d.pk, d.name) for d in deployments])
    f = filter_form.to_filter()
    qs = filter_inbox(services.decidable_for(request.user), f).order_by("asked_at", "id")
    picked: list[int] | None = None
    if data.get("pick") or data.getlist("item"):
        picked = _picked_ids(data)
        qs = qs.filter(pk__in=picked)
    selection = {
        "deployment_ids": f.deployment_ids,
        "graph": f.graph,
        "action": f.action,
        "kind": f.kind,
        "age": f.age,
        "item_ids": picked,
    }
    return filter_form, qs, selection, picked


FILTER_KEYS = ("deployment", "graph", "action", "kind", "age")


@require_http_methods(["GET", "POST"])
@login_required
def bulk_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not teams_for(request.user, "decide").exists():
        raise PermissionDenied("Bulk decisions need the operator role (or higher) on a team.")
    data = request.POST if request.method == "POST" else request.GET
    filter_form, qs, selection, picked = _selection(request, data)
    form = forms.BulkForm(request.POST if request.method == "POST" else None)
    total = qs.count()
    error = ""
    if request.method == "POST" and form.is_valid():
        if picked is not None and not picked:
            error = "Tick at least one item."
        elif picked is not None and total != len(picked):
            error = f"{len(picked) - total} of the ticked items are no longer waiting for you: check the selection and confirm again."
        elif picked is None and form.cleaned_data["confirm_total"] != total:
            error = f"The selection changed since you looked ({total} items now): check it and confirm again."
        else:
            try:
                job = services.do_start_bulk(
                    user=request.user,
                    action=form.cleaned_data["decision"],
                    items=list(qs.select_related("deployment")),
                    comment=form.cleaned_data["comment"],
                    selection=selection,
                    request=request,
                )
            except services.WorkflowRefused as refused:
                error = str(refused)
            else:
                return hx_redirect(request, reverse("workflow:bulk_job", kwargs={"job_id": job.pk}))
    # Without a pick, what the filter matches; the rows listed with a checkbox each when few
    # enough to be read one by one.
    candidates = filter_inbox(
        services.decidable_for(request.user), filter_form.to_filter()
    ).order_by("asked_at", "id")
    listed = list(candidates.select_related("deployment")[: PICK_LIMIT + 1])
    pickable = len(listed) <= PICK_LIMIT
    ticked = set(picked) if picked is not None else {row.pk for row in listed}
    context = {
        "filter_form": filter_form,
        "form": form,
        "total": total,
        "preview": listed[:PICK_LIMIT] if pickable else list(qs.select_related("deployment")[:20]),
        "pickable": pickable,
        "ticked": ticked,
        # Too many to list with checkboxes: the items picked in the inbox list travel hidden.
        "picked": picked if picked is not None and not pickable else None,
        "error": error,
        # The filter travels with the confirmation, so the job acts on what was shown.
        "filter_pairs": [(k, v) for k in FILTER_KEYS for v in data.getlist(k)],
    }
    return render(request, "workflow/bulk.html", context, status=400 if error else 200)


def _job_context(job: BulkJob, request: AuthenticatedHttpRequest) -> dict[str, Any]:
    counts = selectors.job_counts(job)
    processed = job.total - counts[BulkItem.Outcome.QUEUED]
    show = request.GET.get("outcome", "")
    items = job.items.select_related("interrupt", "interrupt__deployment").order_by("position")
    if show in BulkItem.Outcome.values:
        items = items.filter(outcome=show)
    return {
        "job": job,
        "counts": counts,
        "processed": processed,
        "percent": round(100 * processed / job.total) if job.total else 100,
        "finished": job.status == BulkJob.Status.DONE,
        "items": items if job.status == BulkJob.Status.DONE else items.none(),
        "outcomes": BulkItem.Outcome,
        "show": show,
    }


@require_GET
@login_required
def bulk_job(request: AuthenticatedHttpRequest, job_id: int) -> HttpResponse:
    job = selectors.get_job_for(request.user, job_id)
    context = _job_context(job, request)
    if request.htmx and request.htmx.target == "bulk-progress":
        response = render(request, "workflow/bulk_job.html#progress", context)
        if context["finished"]:
            # The poll stops with the finished partial; the page reloads to show the report.
            response["HX-Refresh"] = "true"
        return response
    return render(request, "workflow/bulk_job.html", context)


@require_GET
@login_required
def bulk_job_csv(request: AuthenticatedHttpRequest, job_id: int) -> HttpResponse:
    job = selectors.get_job_for(request.user, job_id)
    header = [
        "position",
        "item",
        "deployment",
        "thread_id",
        "interrupt_id",
        "kind",
        "outcome",
        "reason",
        "run_id",
    ]
    rows = (
        [
            row.position,
            row.interrupt.pk,
            row.interrupt.deployment.name,
            row.interrupt.thread_id,
            row.interrupt.interrupt_id,
            row.interrupt.kind,
            row.outcome,
            row.reason,
            row.run_id,
        ]
        for row in job.items.select_related("interrupt", "interrupt__deployment").order_by(
            "position"
        )
    )
    return csv_response(f"bulk-{job.pk}.csv", header, rows)


# --- settings ---------------------------------------------------------------------------------


def _settings_context(request: AuthenticatedHttpRequest, **forms_: Any) -> dict[str, Any]:
    teams = teams_for(request.user, "administer")
    deployments = deployments_for(request.user, "administer").order_by("name")
    return {
        "channels": selectors.channels_for(request.user),
        "timeouts": selectors.timeout_rules_for(request.user),
        "rules": selectors.approval_rules_for(request.user),
        "channel_form": forms_.get("channel_form") or forms.ChannelForm(teams=teams),
        "timeout_form": forms_.get("timeout_form") or forms.TimeoutForm(deployments=deployments),
        "rule_form": forms_.get("rule_form")
        or forms.ApprovalRuleForm(teams=teams, deployments=deployments),
        "error": forms_.get("error", ""),
    }


def _require_some_admin(request: AuthenticatedHttpRequest) -> None:
    if not teams_for(request.user, "administer").exists():
        raise PermissionDenied("This needs the admin role (or higher) on a team.")


@require_GET
@login_required
def workflow_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require_some_admin(request)
    return render(request, "workflow/settings.html", _settings_context(request))


def _settings_done(request: AuthenticatedHttpRequest, message: str) -> HttpResponse:
    messages.success(request, message)
    return hx_redirect(request, reverse("workflow:settings"))


def _settings_error(request: AuthenticatedHttpRequest, error: str, **forms_: Any) -> HttpResponse:
    return render(
        request,
        "workflow/settings.html",
        _settings_context(request, error=error, **forms_),
        status=400,
    )


@require_POST
@login_required
def channel_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require_some_admin(request)
    form = forms.ChannelForm(request.POST, teams=teams_for(request.user, "administer"))
    if not form.is_valid():
        return _settings_error(request, "Check the channel's fields.", channel_form=form)
    try:
        services.do_create_channel(
            user=request.user,
            team=form.cleaned_data["team"],
            kind=form.cleaned_data["kind"],
            name=form.cleaned_data["name"],
            target=form.cleaned_data["target"],
            request=request,
        )
    except services.WorkflowRefused as refused:
        return _settings_error(request, str(refused), channel_form=form)
    return _settings_done(request, "Channel added: new items are announced there.")


@require_POST
@login_required
def channel_delete(request: AuthenticatedHttpRequest, channel_id: int) -> HttpResponse:
    channel = selectors.get_channel_for(request.user, channel_id)
    services.do_delete_channel(user=request.user, channel=channel, request=request)
    return _settings_done(request, "Channel removed.")


@require_POST
@login_required
def timeout_set(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require_some_admin(request)
    form = forms.TimeoutForm(request.POST, deployments=deployments_for(request.user, "administer"))
    if not form.is_valid():
        return _settings_error(request, "Check the timeout's fields.", timeout_form=form)
    try:
        services.do_set_timeout_rule(
            user=request.user,
            deployment=form.cleaned_data["deployment"],
            graph_id=form.cleaned_data["graph_id"],
            after_minutes=form.cleaned_data["after_minutes"],
            action=form.cleaned_data["action"],
            request=request,
        )
    except services.WorkflowRefused as refused:
        return _settings_error(request, str(refused), timeout_form=form)
    return _settings_done(request, "Timeout saved.")


@require_POST
@login_required
def timeout_delete(request: AuthenticatedHttpRequest, timeout_id: int) -> HttpResponse:
    rule = selectors.get_timeout_rule_for(request.user, timeout_id)
    services.do_delete_timeout_rule(user=request.user, rule=rule, request=request)
    return _settings_done(request, "Timeout removed.")


@require_POST
@login_required
def approval_rule_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require_some_admin(request)
    form = forms.ApprovalRuleForm(
        request.POST,
        teams=teams_for(request.user, "administer"),
        deployments=deployments_for(request.user, "administer"),
    )
    if not form.is_valid():
        return _settings_error(request, "Check the rule's fields.", rule_form=form)
    try:
        services.do_add_approval_rule(
            user=request.user,
            team=form.cleaned_data["team"],
            deployment=form.cleaned_data["deployment"],
            tool=form.cleaned_data["tool"],
            decision=form.cleaned_data["decision"],
            min_role=form.cleaned_data["min_role"],
            risky=form.cleaned_data["risky"],
            request=request,
        )
    except services.WorkflowRefused as refused:
        return _settings_error(request, str(refused), rule_form=form)
    return _settings_done(request, "Approval rule added.")


@require_POST
@login_required
def approval_rule_delete(request: AuthenticatedHttpRequest, rule_id: int) -> HttpResponse:
    rule = selectors.get_approval_rule_for(request.user, rule_id)
    services.do_delete_approval_rule(user=request.user, rule=rule, request=request)
    return _settings_done(request, "Approval rule removed.")


# --- metrics ----------------------------------------------------------------------------------


def _metrics_input(request: AuthenticatedHttpRequest) -> tuple[forms.MetricsForm, int, list[int]]:
    deployments = list(deployments_for(request.user).order_by("name"))
    form = forms.MetricsForm(request.GET)
    form.fields["deployment"].choices = [(d.pk, d.name) for d in deployments]  # type: ignore[attr-defined]
    data = form.cleaned_data if form.is_valid() else {}
    return form, int(data.get("days") or 30), list(data.get("deployment") or [])


@require_GET
@login_required
def metrics_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    form, days, deployment_ids = _metrics_input(request)
    now = timezone.now()
    today = timezone.localdate()
    facts = selectors.decision_facts(request.user, now - timedelta(days=days), deployment_ids)
    m = metrics.compute(
        facts,
        selectors.pending_asked_at(request.user, deployment_ids),
        now=now,
        first_day=today - timedelta(days=days - 1),
        last_day=today,
    )
    types = m.types
    context = {
        "form": form,
        "days": days,
        "m": m,
        "legend": charts.legend(types),
        "over_time": charts.vertical_bars(
            [(d.strftime("%m-%d"), c) for d, c in m.by_day], types, title="Decisions per day"
        ),
        "by_graph": charts.horizontal_bars(m.by_graph, types, title="Decisions by graph"),
        "by_tool": charts.horizontal_bars(m.by_tool, types, title="Decisions by tool or action"),
        "by_operator": charts.horizontal_bars(m.by_operator, types, title="Decisions by operator"),
        "csv_query": request.GET.urlencode(),
    }
    return render(request, "workflow/metrics.html", context)


@require_GET
@login_required
def metrics_csv(request: AuthenticatedHttpRequest) -> HttpResponse:
    """One row per action decided: what the charts count."""
    _, days, deployment_ids = _metrics_input(request)
    facts = selectors.decision_facts(
        request.user, timezone.now() - timedelta(days=days), deployment_ids
    )
    header = [
        "decided_at",
        "asked_at",
        "seconds_to_decision",
        "graph",
        "tool",
        "decision",
        "operator",
    ]
    rows = (
        [
            f.decided_at.isoformat(),
            f.asked_at.isoformat(),
            round(max(0.0, (f.decided_at - f.asked_at).total_seconds()), 3),
            f.graph,
            tool,
            kind,
            f.operator,
        ]
        for f in facts
        for tool, kind in f.choices
    )
    return csv_response(f"inbox-decisions-{days}d.csv", header, rows)
