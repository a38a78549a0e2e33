"""Inbox pages: the list, a thread's decision page (answer, continue, mark resolved), editing
state at a checkpoint, the per-deployment settings, and the navigation count.

Every write goes through ``services.do_*``, and so through the gate (``apps.gate.gate``); a
refusal (stale, already decided, a bad answer, a workflow rule) re-renders the page with the
sentence and the thread as it is now. Success goes to the live view of the run that carries the
resume.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.http import AuthenticatedHttpRequest, hx_redirect
from apps.accounts.permissions import can, teams_for
from apps.deployments.clients import read_client_for
from apps.deployments.models import Deployment
from apps.deployments.remote import fetch
from apps.deployments.selectors import deployments_for, get_deployment_for, is_writable
from apps.inbox import forms, hooks, presenters, records, selectors, services
from apps.inbox.edits import diff_values
from apps.inbox.models import Interrupt, Kind, Status
from apps.threads.ids import checkpoint_id_or_blank, thread_id_or_404
from dashboard.keyset import BadCursor
from switchboard import NotFoundError, SwitchboardError

LIST_PAGE_SIZE = 50


def _run_url(run: Any) -> str:
    return reverse("runs:detail", kwargs={"run_id": run.pk})


# --- the list -------------------------------------------------------------------------------


@dataclass
class ListRow:
    item: Interrupt
    actions: list[selectors.RowAction]
    controls: str


@require_GET
@login_required
def inbox_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    deployments = list(deployments_for(request.user).order_by("name"))
    form = forms.InboxFilterForm(request.GET, deployments=[(d.pk, d.name) for d in deployments])
    qs = selectors.pending_for(request.user)
    thread = request.GET.get("thread", "").strip()
    if thread:
        qs = qs.filter(thread_id=thread)
    filtered = selectors.filter_inbox(qs, form.to_filter())
    try:
        page = selectors.keyset_page(
            filtered,
            newest_first=form.to_filter().newest_first,
            after=request.GET.get("after", ""),
            size=LIST_PAGE_SIZE,
        )
    except BadCursor:
        page = selectors.keyset_page(
            filtered, newest_first=form.to_filter().newest_first, size=LIST_PAGE_SIZE
        )
    query = request.GET.copy()
    query.pop("after", None)
    controls = hooks.row_controls(request, page.rows)
    context = {
        "form": form,
        "page": page,
        "rows": [
            ListRow(item, selectors.summary_of(item), controls.get(item.pk, ""))
            for item in page.rows
        ],
        "has_controls": hooks.has_row_controls(),
        # A viewer gets no checkboxes: the page they lead to decides, which a viewer may not.
        "selection_action": hooks.selection_action()
        if teams_for(request.user, "decide").exists()
        else None,
        "current_query": request.GET.urlencode(),
        "total": filtered.count(),
        "graph_choices": selectors.graph_choices(qs),
        "next_query": f"{query.urlencode()}&after={page.next_cursor}" if page.next_cursor else "",
        "thread": thread,
    }
    if request.htmx and request.htmx.target == "inbox-results":
        return render(request, "inbox/list.html#results", context)
    return render(request, "inbox/list.html", context)


@require_GET
@login_required
def inbox_count(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(
        request, "inbox/list.html#count", {"inbox_count": selectors.inbox_count(request.user)}
    )


# --- a thread's decision page -----------------------------------------------------------------


def _get_deployment_for_user(request: AuthenticatedHttpRequest, deployment_id: int) -> Deployment:
    return get_deployment_for(request.user, deployment_id)


def _thread_page(
    request: AuthenticatedHttpRequest,
    deployment: Deployment,
    thread_id: str,
    *,
    data: QueryDict | None = None,
    error: str = "",
    stale: services.StaleDecision | None = None,
    preview: forms.ParsedDecision | None = None,
    status: int = 200,
) -> HttpResponse:
    """Read the thread now, bring its records up to date, and render the decision page."""
    client = read_client_for(deployment)
    # Both reads in parallel, and at most DEPLOYMENT_TIMEOUT for the pair: a hanging deployment
    # gets a sentence in the page, never a held request.
    reads = fetch(
        {
            "thread": lambda: client.get_thread(thread_id),
            "state": lambda: client.get_thread_state(thread_id),
        }
    )
    problem = ""
    thread: dict[str, Any] | None = None
    failed = reads["thread"].problem or reads["state"].problem
    if failed is None:
        thread = dict(reads["thread"].value)
    elif failed.kind == "missing":
        problem = "The deployment does not have this thread (any more)."
        records.apply_snapshot(deployment, thread_id, None)
    else:
        problem = f"Could not read the thread from the deployment: {failed}"
    sync = (
        records.sync_thread_interrupts(
            deployment, thread_id, thread=thread, state=reads["state"].value
        )
        if thread
        else None
    )
    snap = sync.snapshot if sync else None
    rows: list[Interrupt] = list(sync.pending) if sync else []
    busy = (thread or {}).get("status") == "busy"
    if not rows and (problem or busy):
        # Unreadable now, or a run is under way: show what the inbox last knew, undecidable.
        rows = list(
            selectors.thread_interrupts_for(request.user, deployment.pk, thread_id).filter(
                status=Status.PENDING
            )
        )
    pending = [r for r in rows if r.status == Status.PENDING]
    decided = [r for r in rows if r.status != Status.PENDING]
    standing = selectors.decisions_on(decided)
    answerable = [r for r in pending if r.kind != Kind.BREAKPOINT]
    breakpoint_row = next((r for r in pending if r.kind == Kind.BREAKPOINT), None)
    values = snap.values if snap else (thread or {}).get("values")
    chat, earlier = presenters.conversation(values)
    checkpoint_id = snap.checkpoint_id if snap else (pending[0].checkpoint_id if pending else "")
    may_decide = (
        can(request.user, "decide", deployment)
        and is_writable(deployment)
        and not busy
        and not problem
    )
    context = {
        "deployment": deployment,
        "thread_id": thread_id,
        "thread": thread,
        "thread_status": (thread or {}).get("status", ""),
        "busy": busy,
        "problem": problem,
        "error": error,
        "stale": stale,
        "preview": preview,
        "forms": forms.build_forms(answerable, data),
        "pending": pending,
        "breakpoint": breakpoint_row,
        "decided": [(r, standing.get(r.pk)) for r in decided],
        "checkpoint_id": checkpoint_id,
        "interrupt_ids": [r.interrupt_id for r in answerable],
        "next_nodes": snap.next_nodes if snap else [],
        "messages_shown": chat,
        "messages_earlier": earlier,
        "values_json": presenters.pretty(values) if values is not None else "",
        "comment": data.get("comment", "") if data is not None else "",
        "raw": data.get("raw", "") if data is not None else "",
        "comment_required": selectors.comment_required(deployment),
        "may_decide": may_decide,
        # Who holds each item (the workflow's claims), shown before anyone fills in the form.
        "claim_cells": hooks.row_controls(request, pending),
        "recent": selectors.recent_decisions(deployment.pk, thread_id),
        "fork_url": reverse("runs:start")
        + "?"
        + urlencode(
            {"deployment": str(deployment.pk), "thread": thread_id, "checkpoint": checkpoint_id}
        ),
    }
    return render(request, "inbox/thread.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def thread_decide(
    request: AuthenticatedHttpRequest, deployment_id: int, thread_id: str
) -> HttpResponse:
    deployment = _get_deployment_for_user(request, deployment_id)
    thread_id = thread_id_or_404(thread_id)
    if request.method == "GET":
        return _thread_page(request, deployment, thread_id)
    services.check_decision_allowed(request.user, deployment)
    post = request.POST
    checkpoint_id = post.get("checkpoint_id", "")
    interrupt_ids = post.getlist("interrupt_id")
    comment = post.get("comment", "")
    rows = list(
        selectors.thread_interrupts_for(request.user, deployment.pk, thread_id)
        .filter(checkpoint_id=checkpoint_id, interrupt_id__in=interrupt_ids)
        .order_by("position", "pk")
    )
    try:
        if post.get("mode") == "raw":
            outcome = services.do_decide(
                user=request.user,
                deployment=deployment,
                thread_id=thread_id,
                checkpoint_id=checkpoint_id,
                interrupt_ids=interrupt_ids,
                raw=forms.parse_raw(post.get("raw", "")),
                comment=comment,
                request=request,
            )
        else:
            parsed = forms.parse_decision(rows, post) if rows else forms.ParsedDecision([], [])
            confirmed = post.get("step") == "confirm" and post.get("preview_token") == parsed.token
            if parsed.diffs and not confirmed:
                # Edits are sent only after their diff has been shown (and not changed since).
                return _thread_page(request, deployment, thread_id, data=post, preview=parsed)
            outcome = services.do_decide(
                user=request.user,
                deployment=deployment,
                thread_id=thread_id,
                checkpoint_id=checkpoint_id,
                interrupt_ids=interrupt_ids,
                answers=parsed.answers,
                comment=comment,
                request=request,
            )
    except services.StaleDecision as stale:
        return _thread_page(
            request, deployment, thread_id, error=str(stale), stale=stale, status=409
        )
    except (services.InboxRefused, forms.FormProblem) as refused:
        return _thread_page(
            request, deployment, thread_id, data=post, error=str(refused), status=400
        )
    messages.success(request, f"Decision sent: the thread resumes in run {outcome.run.pk}.")
    return hx_redirect(request, _run_url(outcome.run))


@require_POST
@login_required
def thread_continue(
    request: AuthenticatedHttpRequest, deployment_id: int, thread_id: str
) -> HttpResponse:
    deployment = _get_deployment_for_user(request, deployment_id)
    thread_id = thread_id_or_404(thread_id)
    services.check_decision_allowed(request.user, deployment)
    try:
        outcome = services.do_continue(
            user=request.user,
            deployment=deployment,
            thread_id=thread_id,
            checkpoint_id=request.POST.get("checkpoint_id", ""),
            comment=request.POST.get("comment", ""),
            request=request,
        )
    except services.StaleDecision as stale:
        return _thread_page(
            request, deployment, thread_id, error=str(stale), stale=stale, status=409
        )
    except services.InboxRefused as refused:
        return _thread_page(
            request, deployment, thread_id, data=request.POST, error=str(refused), status=400
        )
    messages.success(request, f"Continued: run {outcome.run.pk}.")
    return hx_redirect(request, _run_url(outcome.run))


@require_POST
@login_required
def thread_resolve(
    request: AuthenticatedHttpRequest, deployment_id: int, thread_id: str
) -> HttpResponse:
    deployment = _get_deployment_for_user(request, deployment_id)
    thread_id = thread_id_or_404(thread_id)
    services.check_decision_allowed(request.user, deployment)
    try:
        services.do_mark_resolved(
            user=request.user,
            deployment=deployment,
            thread_id=thread_id,
            checkpoint_id=request.POST.get("checkpoint_id", ""),
            interrupt_ids=request.POST.getlist("interrupt_id"),
            comment=request.POST.get("comment", ""),
            request=request,
        )
    except services.StaleDecision as stale:
        return _thread_page(
            request, deployment, thread_id, error=str(stale), stale=stale, status=409
        )
    except services.InboxRefused as refused:
        return _thread_page(
            request, deployment, thread_id, data=request.POST, error=str(refused), status=400
        )
    messages.success(request, "Marked resolved: the thread was closed without resuming it.")
    return hx_redirect(request, reverse("inbox:list"))


# --- edit state at a checkpoint, then continue ------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def edit_state(
    request: AuthenticatedHttpRequest, deployment_id: int, thread_id: str
) -> HttpResponse:
    deployment = _get_deployment_for_user(request, deployment_id)
    thread_id = thread_id_or_404(thread_id)
    if request.method == "POST":
        services.check_decision_allowed(request.user, deployment)
    client = read_client_for(deployment)
    source = request.POST if request.method == "POST" else request.GET
    checkpoint_id = checkpoint_id_or_blank(
        source.get("checkpoint", "") or source.get("checkpoint_id", "")
    )
    problem = ""
    head: Any = None
    at: Any = None
    try:
        head = client.get_thread_state(thread_id)
        at = (
            client.get_thread_state(thread_id, checkpoint_id=checkpoint_id)
            if checkpoint_id
            else head
        )
    except NotFoundError:
        raise Http404("No such thread or checkpoint on the deployment.") from None
    except SwitchboardError as err:
        problem = f"Could not read the thread from the deployment: {err}"
    head_snap = records.snapshot_of(thread_id, head) if head else None
    at_id = records.snapshot_of(thread_id, at).checkpoint_id if at else checkpoint_id
    initial = {
        "checkpoint_id": at_id,
        "head_checkpoint_id": head_snap.checkpoint_id if head_snap else "",
        "values": "{}",
        "then_continue": True,
    }
    form = forms.EditStateForm(request.POST if request.method == "POST" else None, initial=initial)
    error = ""
    diff: list[dict[str, Any]] | None = None
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data["values"]
        current = (at or {}).get("values")
        before: dict[str, Any] = current if isinstance(current, dict) else {}
        diff = diff_values(before, values) if isinstance(values, dict) else []
        if request.POST.get("step") != "confirm":
            pass  # show the diff first
        else:
            head_id = form.cleaned_data["head_checkpoint_id"]
            try:
                outcome = services.do_edit_state(
                    user=request.user,
                    deployment=deployment,
                    thread_id=thread_id,
                    checkpoint_id=str(form.cleaned_data["checkpoint_id"]),
                    values=values,
                    as_node=form.cleaned_data["as_node"].strip(),
                    then_continue=form.cleaned_data["then_continue"],
                    head_checkpoint_id=head_id,
                    interrupt_ids=request.POST.getlist("interrupt_id"),
                    comment=form.cleaned_data["comment"],
                    request=request,
                )
            except services.InboxRefused as refused:
                error = str(refused)
            else:
                if outcome.run is not None:
                    messages.success(
                        request,
                        f"State written (checkpoint {outcome.checkpoint_id}); continuing in run {outcome.run.pk}.",
                    )
                    return hx_redirect(request, _run_url(outcome.run))
                records.sync_thread_interrupts(deployment, thread_id)
                messages.success(request, f"State written: new checkpoint {outcome.checkpoint_id}.")
                return hx_redirect(
                    request,
                    reverse(
                        "threads:detail",
                        kwargs={"deployment_id": deployment.pk, "thread_id": thread_id},
                    ),
                )
    nodes = sorted(
        {str(n) for n in (at or {}).get("next") or []}
        | {str(k) for k in ((at or {}).get("metadata") or {}).get("writes") or {}}
    )
    context = {
        "deployment": deployment,
        "thread_id": thread_id,
        "form": form,
        "problem": problem,
        "error": error,
        "diff": diff,
        "at_values": presenters.pretty((at or {}).get("values")) if at else "",
        "at_id": at_id,
        "is_head": head_snap is not None and at_id == head_snap.checkpoint_id,
        "head": head_snap,
        "interrupt_ids": (
            [""] if head_snap and head_snap.at_breakpoint else head_snap.interrupt_ids
        )
        if head_snap
        else [],
        "node_choices": nodes,
        "comment_required": selectors.comment_required(deployment),
        "may_operate": can(request.user, "operate", deployment) and is_writable(deployment),
    }
    return render(request, "inbox/state.html", context, status=400 if error or form.errors else 200)


# --- settings ---------------------------------------------------------------------------------


@require_GET
@login_required
def inbox_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    deployments = list(
        deployments_for(request.user, "administer").select_related("team").order_by("name")
    )
    policies = selectors.policies_for([d.pk for d in deployments])
    rows = [(d, policies.get(d.pk)) for d in deployments]
    return render(request, "inbox/settings.html", {"rows": rows})


@require_POST
@login_required
def policy_update(request: AuthenticatedHttpRequest, deployment_id: int) -> HttpResponse:
    deployment = get_deployment_for(request.user, deployment_id, "administer")
    form = forms.PolicyForm(request.POST)
    form.is_valid()
    services.do_set_policy(
        user=request.user,
        deployment=deployment,
        comment_required=bool(form.cleaned_data.get("comment_required")),
        request=request,
    )
    messages.success(request, f"Inbox settings of {deployment.name} saved.")
    return hx_redirect(request, reverse("inbox:settings"))
