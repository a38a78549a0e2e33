"""Thread pages: the list, open-by-id, refresh, the thread detail, a diff, and the export.

Reads of a deployment go through ``remote.fetch`` (parallel, bounded by DEPLOYMENT_TIMEOUT, SDK
errors turned into sentences); nothing a deployment does can make these views raise or hang.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.http import AuthenticatedHttpRequest
from apps.accounts.permissions import can
from apps.deployments.clients import sync_client_for
from apps.deployments.models import Deployment
from apps.deployments.remote import Outcome, Problem, fetch, fetch_one
from apps.deployments.selectors import deployments_for, get_deployment_for, watchable_for
from apps.threads import hooks, presenters, selectors, services
from apps.threads.diff import diff_values
from apps.threads.forms import OpenThreadForm, ThreadFilterForm
from apps.threads.graphdraw import render_graph_svg
from apps.threads.ids import checkpoint_id_or_blank, thread_id_or_404
from apps.threads.models import ThreadIndex, ThreadStatus

LIST_PAGE_SIZE = 50
# The first screen of the timeline; older checkpoints come a page at a time (?before=). Every
# checkpoint shown is a full state the deployment sends and we parse, so the page stays short.
TIMELINE_PAGE_SIZE = 20
RUNS_SHOWN = 20
REFRESH_MAX_PAGES = 5
GRAPH_CACHE_SECONDS = 600
EXPORT_PAGE = 1000  # the server's maximum history page
EXPORT_MAX_CHECKPOINTS = 20000


# --- the list -------------------------------------------------------------------------------


def _list_query(request: HttpRequest, **changes: str) -> str:
    """The current filter as a query string with ``changes`` applied (cursors reset)."""
    query: QueryDict = request.GET.copy()
    for key in ("after", "before"):
        query.pop(key, None)
    for key, value in changes.items():
        if value:
            query[key] = value
        else:
            query.pop(key, None)
    return query.urlencode()


@require_GET
@login_required
def thread_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    deployments = list(deployments_for(request.user).select_related("team"))
    form = ThreadFilterForm(request.GET, deployments=deployments)
    context: dict[str, Any] = {
        "form": form,
        "deployments": deployments,
        "statuses": ThreadStatus.choices,
        "meta_filters": request.GET.getlist("meta") or [],
        "page": None,
        "counts": {},
        "total": 0,
        "columns": [],
        "rows": [],
    }
    ids = [d.pk for d in deployments]
    context["sync_states"] = selectors.sync_states(ids)
    context["graph_choices"] = sorted(
        {g for s in context["sync_states"].values() for g in (s.graph_ids or [])}
    )
    if form.is_valid():
        f = form.to_filter()
        scope = ThreadIndex.objects.filter(deployment_id__in=f.deployment_ids or ids)
        counted = selectors.filter_threads(scope, f, with_status=False, counting=True)
        counts = selectors.status_counts(counted)
        page = selectors.keyset_page(
            selectors.filter_threads(scope, f),
            f.sort,
            after=form.cleaned_data["after"],
            before=form.cleaned_data["before"],
            size=LIST_PAGE_SIZE,
        )
        context.update(
            page=page,
            counts=counts,
            total=counts.get(f.status, 0) if f.status else sum(counts.values()),
            all_count=sum(counts.values()),
            first_query=_list_query(request),
            columns=form.cleaned_data["cols"],
            rows=presenters.list_rows(
                page.rows,
                detail_prefix=reverse("threads:list"),
                live=selectors.live_keys({row.deployment_id for row in page.rows}),
                columns=form.cleaned_data["cols"],
            ),
            status=f.status,
            next_query=_list_query(request, after=page.next_cursor) if page.next_cursor else "",
            prev_query=_list_query(request, before=page.prev_cursor) if page.prev_cursor else "",
            status_queries={
                value: _list_query(request, status=value) for value in ["", *ThreadStatus.values]
            },
        )
    status = 200 if form.is_valid() else 400
    if request.htmx and not request.htmx.boosted and request.htmx.target == "results":
        # htmx does not swap 4xx responses: filter errors must arrive as a 200 to be shown.
        return render(request, "threads/list.html#results", context)
    return render(request, "threads/list.html", context, status=200 if request.htmx else status)


@require_GET
@login_required
def open_thread(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Open a thread by its pasted id, wherever (among the user's deployments) it lives."""
    form = OpenThreadForm(request.GET or None)
    if not form.is_valid():
        return render(
            request, "threads/open.html", {"form": form}, status=400 if request.GET else 200
        )
    thread_id = form.cleaned_data["id"]
    found = selectors.find_thread_ids(request.user, thread_id)
    problems: list[tuple[Deployment, Problem]] = []
    if not found:
        # Not indexed (yet): ask every deployment the user can see, in parallel, once.
        deployments = list(deployments_for(request.user).filter(enabled=True)[:50])
        outcomes = fetch(
            {
                str(d.pk): (lambda d=d: sync_client_for(d).get_thread(thread_id))  # type: ignore[misc]
                for d in deployments
            }
        )
        for d in deployments:
            outcome = outcomes[str(d.pk)]
            if outcome.ok:
                found.append(services.upsert_thread(d, outcome.value))
            elif outcome.problem and outcome.problem.kind not in ("missing", "invalid"):
                problems.append((d, outcome.problem))
    if len(found) == 1:
        row = found[0]
        return HttpResponseRedirect(
            reverse("threads:detail", args=[row.deployment_id, row.thread_id])
        )
    return render(
        request,
        "threads/open.html",
        {"form": form, "found": found, "problems": problems, "thread_id": thread_id},
        status=200 if found else 404,
    )


@require_POST
@login_required
def refresh(request: AuthenticatedHttpRequest, deployment_id: int) -> HttpResponse:
    """Sync one deployment now. Viewing is enough: it only re-reads the deployment."""
    deployment = get_deployment_for(request.user, deployment_id)
    report = services.sync_deployment(
        deployment.pk,
        max_pages=REFRESH_MAX_PAGES,
        deadline=float(settings.DEPLOYMENT_TIMEOUT),
    )
    text = f"{deployment.name}: {report.summary()}"
    if request.htmx:
        response = render(
            request,
            "threads/list.html#sync-result",
            {"ok": report.ok, "text": text},
        )
        response["HX-Trigger"] = "threads-synced"
        return response
    (messages.success if report.ok else messages.error)(request, text)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, {request.get_host()}, require_https=request.is_secure()
    ):
        back = reverse("threads:list")
    return HttpResponseRedirect(back or reverse("threads:list"))


# --- the thread -----------------------------------------------------------------------------


def _get_deployment_for_user(request: AuthenticatedHttpRequest, deployment_id: int) -> Deployment:
    return get_deployment_for(request.user, deployment_id)


def _graph_drawing(deployment: Deployment, graph: str) -> Any:
    """The graph drawing, cached: it only changes when the deployment is redeployed."""
    key = f"threads:graph:{deployment.pk}:{deployment.updated_at.timestamp()}:{graph}"
    drawing = cache.get(key)
    if drawing is None:
        drawing = sync_client_for(deployment).get_graph(graph)
        cache.set(key, drawing, GRAPH_CACHE_SECONDS)
    return drawing


def _read_thread(
    deployment: Deployment,
    thread_id: str,
    *,
    row: ThreadIndex | None,
    before: str,
    checkpoint: str,
) -> dict[str, Outcome]:
    client = sync_client_for(deployment)
    calls: dict[str, Any] = {
        "thread": lambda: client.get_thread(thread_id),
        "history": lambda: client.get_state_history(
            thread_id, limit=TIMELINE_PAGE_SIZE + 1, before=before or None
        ),
        "runs": lambda: client.list_runs(thread_id, limit=RUNS_SHOWN),
    }
    if before or checkpoint:
        # The current state is the newest checkpoint, i.e. history's first item on page one;
        # on later pages, or when another checkpoint is shown, it takes its own call.
        calls["head"] = lambda: client.get_thread_state(thread_id)
    if checkpoint:
        calls["at"] = lambda: client.get_thread_state(thread_id, checkpoint_id=checkpoint)
    graph = row.graph_id if row is not None else ""
    if graph:
        calls["graph"] = lambda: _graph_drawing(deployment, graph)
    return fetch(calls)


@require_GET
@login_required
def thread_detail(
    request: AuthenticatedHttpRequest, deployment_id: int, thread_id: str
) -> HttpResponse:
    deployment = _get_deployment_for_user(request, deployment_id)
    thread_id = thread_id_or_404(thread_id)
    row = ThreadIndex.objects.filter(deployment=deployment, thread_id=thread_id).first()
    before = checkpoint_id_or_blank(request.GET.get("before", ""))
    checkpoint = checkpoint_id_or_blank(request.GET.get("checkpoint", ""))
    results = _read_thread(deployment, thread_id, row=row, before=before, checkpoint=checkpoint)

    thread_outcome = results["thread"]
    problem = thread_outcome.problem
    if problem is not None and problem.kind == "missing":
        if row is not None:
            services.forget_thread(deployment, thread_id)
        return render(
            request,
            "threads/missing.html",
            {
                "deployment": deployment,
                "thread_id": thread_id,
                "problem": problem,
                "was_indexed": row is not None,
            },
            status=404,
        )
    if problem is None:
        thread = thread_outcome.value
        row = services.refresh_thread(deployment, thread, row)
    elif row is None:
        # Unknown to the index and unreadable now: say why, and offer nothing stale.
        return render(
            request,
            "threads/missing.html",
            {
                "deployment": deployment,
                "thread_id": thread_id,
                "problem": problem,
                "was_indexed": False,
            },
            status=503,
        )
    else:
        thread = None

    history_outcome = results["history"]
    history: list[dict[str, Any]] = list(history_outcome.value or []) if history_outcome.ok else []
    shown = history[:TIMELINE_PAGE_SIZE]
    extra = {presenters.checkpoint_id_of(s): s for s in history[TIMELINE_PAGE_SIZE:]}
    head_state: Any = None
    if "head" in results:
        head_state = results["head"].value if results["head"].ok else None
    elif history:
        head_state = history[0]
    head_id = presenters.checkpoint_id_of(head_state) if head_state else ""
    rows = presenters.timeline(shown, head_id=head_id, parents=extra)
    _add_input_writes(rows, shown)

    at_state: Any = None
    at_problem: Problem | None = None
    if checkpoint:
        at = results["at"]
        at_state, at_problem = (at.value, None) if at.ok else (None, at.problem)
        if at_problem is None and presenters.is_unknown_checkpoint(at_state):
            at_state, at_problem = None, _no_checkpoint(checkpoint)
    shown_state = at_state if checkpoint else head_state
    values = (
        shown_state.get("values")
        if isinstance(shown_state, dict)
        else (thread.get("values") if thread else None)
    )

    if "graph" not in results and row is not None and row.graph_id and problem is None:
        # First visit of a thread the index did not know: its graph is known only now.
        graph_id = row.graph_id
        results["graph"] = fetch_one(lambda: _graph_drawing(deployment, graph_id))
    graph_svg = None
    graph_problem = None
    if "graph" in results:
        if results["graph"].ok and results["graph"].value:
            waiting = {
                str(t.get("name"))
                for t in (head_state or {}).get("tasks") or []
                if t.get("interrupts")
            }
            next_nodes = list((shown_state or {}).get("next") or [])
            graph_svg = render_graph_svg(
                results["graph"].value,
                current=next_nodes,
                interrupted=waiting if not checkpoint else (),
                finished=bool(shown_state) and not next_nodes,
                title=f"Graph {row.graph_id}" if row else "Graph",
            )
        else:
            graph_problem = results["graph"].problem

    live = selectors.live_keys([deployment.pk])
    # The console's own runs of this thread, to link each upstream run to its live page.
    console_runs = hooks.console_runs(request.user, deployment.pk, thread_id)
    may_operate = can(request.user, "operate", deployment) and not deployment.read_only
    # Busy on the deployment, whoever started the run: what "Watch live" follows.
    is_busy = (thread.get("status") if thread else getattr(row, "status", "")) == "busy"
    detail_url = reverse("threads:detail", args=[deployment.pk, thread_id])
    # Large states send their big top-level branches on demand, read back at the checkpoint
    # shown (never "the current state", which may have moved on by the time a branch opens).
    shown_id = presenters.checkpoint_id_of(shown_state) if isinstance(shown_state, dict) else ""
    branch_href = _branch_href(deployment, thread_id, shown_id) if shown_id else None
    context = {
        "deployment": deployment,
        "row": row,
        "thread": thread,
        "thread_id": thread_id,
        "problem": problem,
        "interrupts": presenters.interrupts_of(thread or {}),
        "values": values,
        "values_tree": (
            presenters.json_tree(values, branch_href=branch_href) if values is not None else None
        ),
        "conversations": presenters.conversations_in(values),
        "shown_state": shown_state,
        "checkpoint": checkpoint,
        "at_problem": at_problem,
        "timeline": rows,
        "history_problem": history_outcome.problem,
        "before": before,
        "next_before": rows[-1].checkpoint_id if len(history) > TIMELINE_PAGE_SIZE and rows else "",
        "head_id": head_id,
        "runs": [
            (run, console_runs.get(str(run.get("run_id"))))
            for run in (results["runs"].value if results["runs"].ok else [])
        ],
        "runs_problem": results["runs"].problem,
        "graph_svg": graph_svg,
        "graph_problem": graph_problem,
        "is_live": is_busy or (deployment.pk, thread_id) in live,
        "is_busy": is_busy,
        "may_watch": watchable_for(request.user).filter(pk=deployment.pk).exists(),
        "may_operate": may_operate,
        "error": (thread or {}).get("error") if thread else None,
        # Reversed once here rather than several times in each timeline row.
        "detail_url": detail_url,
        "diff_url": reverse("threads:diff", args=[deployment.pk, thread_id]),
    }
    if request.htmx and not request.htmx.boosted:
        target = request.htmx.target or ""
        if target == "timeline":
            return render(request, "threads/detail.html#timeline", context)
        if target == "checkpoint-state":
            return render(request, "threads/detail.html#state", context)
    return render(request, "threads/detail.html", context)


def _add_input_writes(rows: list[presenters.TimelineRow], history: list[dict[str, Any]]) -> None:
    # The first checkpoint of a run (source "input") has no parent that wrote it: the run's
    # input did, and it sits in that checkpoint's own __start__ task.
    by_id = {presenters.checkpoint_id_of(s): s for s in history}
    for row in rows:
        if row.writes or row.parent_id or row.source != "input":
            continue
        state = by_id.get(row.checkpoint_id) or {}
        for task in state.get("tasks") or []:
            if task.get("name") == "__start__":
                result = task.get("result")
                row.writes.append(
                    presenters.Write("input", result, result in (None, {}, []), "", False)
                )


def _no_checkpoint(checkpoint_id: str) -> Problem:
    return Problem("missing", f"This thread has no checkpoint {checkpoint_id}.")


def _branch_href(
    deployment: Deployment, thread_id: str, checkpoint_id: str
) -> Callable[[str], str]:
    base = reverse("threads:branch", args=[deployment.pk, thread_id])

    def href(key: str) -> str:
        return f"{base}?{urlencode({'checkpoint': checkpoint_id, 'key': key})}"

    return href


@require_GET
@login_required
def state_branch(
    request: AuthenticatedHttpRequest, deployment_id: int, thread_id: str
) -> HttpResponse:
    """One top-level key of the state at a checkpoint: what a large state's tree loads when a
    branch is opened (htmx), or a page of its own without JS."""
    deployment = _get_deployment_for_user(request, deployment_id)
    thread_id = thread_id_or_404(thread_id)
    checkpoint = checkpoint_id_or_blank(request.GET.get("checkpoint", ""))
    key = request.GET.get("key", "")
    context: dict[str, Any] = {
        "deployment": deployment,
        "thread_id": thread_id,
        "checkpoint": checkpoint,
        "key": key,
        "tree": None,
        "problem": None,
    }
    status = 200
    if not checkpoint:
        context["problem"] = Problem("invalid", "This link does not say which checkpoint to read.")
        status = 400
    else:
        client = sync_client_for(deployment)
        outcome = fetch_one(lambda: client.get_thread_state(thread_id, checkpoint_id=checkpoint))
        values = outcome.value.get("values") if isinstance(outcome.value, dict) else None
        if not outcome.ok:
            context["problem"] = outcome.problem
        elif presenters.is_unknown_checkpoint(outcome.value):
            context["problem"] = _no_checkpoint(checkpoint)
        elif not isinstance(values, dict) or key not in values:
            context["problem"] = Problem(
                "missing", f"The state at checkpoint {checkpoint} has no key “{key}”."
            )
        else:
            context["tree"] = presenters.json_branch(values[key])
        problem = context["problem"]
        if problem is not None:
            status = {"missing": 404, "invalid": 400}.get(problem.kind, 503)
    if request.htmx:
        # htmx does not swap 4xx/5xx responses: the problem must arrive as a 200 to be shown.
        return render(request, "threads/branch.html#branch", context)
    return render(request, "threads/branch.html", context, status=status)


@require_GET
@login_required
def checkpoint_diff(
    request: AuthenticatedHttpRequest, deployment_id: int, thread_id: str
) -> HttpResponse:
    deployment = _get_deployment_for_user(request, deployment_id)
    thread_id = thread_id_or_404(thread_id)
    raw_from, raw_to = request.GET.get("from", "").strip(), request.GET.get("to", "").strip()
    errors = []
    for label, raw in (("from", raw_from), ("to", raw_to)):
        if raw and not checkpoint_id_or_blank(raw):
            errors.append(f"“{raw[:80]}” ({label}) is not a checkpoint id.")
    context: dict[str, Any] = {
        "deployment": deployment,
        "thread_id": thread_id,
        "raw_from": raw_from,
        "raw_to": raw_to,
        "errors": errors,
    }
    if errors:
        return render(request, "threads/diff.html", context, status=400)
    client = sync_client_for(deployment)
    to_id = checkpoint_id_or_blank(raw_to)
    outcome_to = fetch(
        {"to": lambda: client.get_thread_state(thread_id, checkpoint_id=to_id or None)}
    )["to"]
    if not outcome_to.ok:
        context["problem"] = outcome_to.problem
        return render(request, "threads/diff.html", context)
    to_state = outcome_to.value
    if to_id and presenters.is_unknown_checkpoint(to_state):
        context["problem"] = _no_checkpoint(to_id)
        return render(request, "threads/diff.html", context)
    from_id = checkpoint_id_or_blank(raw_from) or presenters.parent_id_of(to_state)
    if not from_id:
        context.update(to_state=to_state, to_id=presenters.checkpoint_id_of(to_state), first=True)
        return render(request, "threads/diff.html", context)
    outcome_from = fetch(
        {"from": lambda: client.get_thread_state(thread_id, checkpoint_id=from_id)}
    )["from"]
    if not outcome_from.ok:
        context["problem"] = outcome_from.problem
        return render(request, "threads/diff.html", context)
    from_state = outcome_from.value
    if presenters.is_unknown_checkpoint(from_state):
        context["problem"] = _no_checkpoint(from_id)
        return render(request, "threads/diff.html", context)
    result = diff_values(from_state.get("values"), to_state.get("values"))
    context.update(
        from_state=from_state,
        to_state=to_state,
        from_id=presenters.checkpoint_id_of(from_state),
        to_id=presenters.checkpoint_id_of(to_state),
        diff=result,
        compared=True,
        appended=[
            (a, presenters.conversation(a.items) if a.is_messages else None)
            for a in result.appended
        ],
        changes=[
            (c, presenters.short_json(c.before, 400), presenters.short_json(c.after, 400))
            for c in result.changes
        ],
    )
    return render(request, "threads/diff.html", context)


@require_GET
@login_required
def export_thread(
    request: AuthenticatedHttpRequest, deployment_id: int, thread_id: str
) -> HttpResponse:
    """The thread, its whole checkpoint history and its runs, as one JSON download."""
    deployment = _get_deployment_for_user(request, deployment_id)
    thread_id = thread_id_or_404(thread_id)
    client = sync_client_for(deployment)
    deadline = time.monotonic() + float(settings.DEPLOYMENT_TIMEOUT)
    first = fetch(
        {
            "thread": lambda: client.get_thread(thread_id),
            "history": lambda: client.get_state_history(thread_id, limit=EXPORT_PAGE),
            "runs": lambda: client.list_runs(thread_id, limit=1000),
        }
    )
    problem = next((o.problem for o in first.values() if o.problem), None)
    history: list[Any] = list(first["history"].value or []) if problem is None else []
    page = history
    while problem is None and len(page) == EXPORT_PAGE and len(history) < EXPORT_MAX_CHECKPOINTS:
        left = deadline - time.monotonic()
        if left <= 0:
            problem = Problem("slow", "The deployment did not send the whole history in time.")
            break
        before = presenters.checkpoint_id_of(page[-1])
        outcome = fetch(
            {
                "page": lambda before=before: client.get_state_history(  # type: ignore[misc]
                    thread_id, limit=EXPORT_PAGE, before=before
                )
            },
            timeout=left,
        )["page"]
        if not outcome.ok:
            problem = outcome.problem
            break
        page = list(outcome.value or [])
        history.extend(page)
    if problem is not None:
        return render(
            request,
            "threads/missing.html",
            {"deployment": deployment, "thread_id": thread_id, "problem": problem, "export": True},
            status=404 if problem.kind == "missing" else 503,
        )
    document = {
        "exported_at": timezone.now().isoformat(),
        "deployment": {"id": deployment.pk, "name": deployment.name},
        "thread": first["thread"].value,
        "history": history,
        "runs": first["runs"].value,
    }
    response = HttpResponse(
        json.dumps(document, ensure_ascii=False, indent=1, default=str),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="thread-{thread_id}.json"'
    return response
