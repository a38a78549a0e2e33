from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.permissions import can
from apps.deployments.clients import read_client_for
from apps.deployments.models import Deployment
from apps.deployments.remote import fetch
from apps.deployments.selectors import deployments_for, get_deployment_for
from apps.runs import live, selectors, services
from apps.runs.forms import MULTITASK_HELP, CancelRunForm, StartRunForm, example_input
from apps.runs.models import Run
from apps.threads.ids import thread_id_or_404

log = logging.getLogger(__name__)


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@dataclass(frozen=True)
class GraphDetails:
    """What the start form offers for one deployment: the graphs (and named assistants) it
    serves, the chosen one's input schema and example, or the problem reading them."""

    served: dict[str, str] = field(default_factory=dict)
    schema: dict[str, Any] | None = None
    example: str = ""
    problem: str = ""


def _served(assistants: list[dict[str, Any]]) -> dict[str, str]:
    """Value -> label of what may be run: each graph, then each assistant named apart from its
    graph (a graph's default assistant carries the graph's name, so the graph stands for it)."""
    graphs = sorted({str(a["graph_id"]) for a in assistants})
    served = {graph: graph for graph in graphs}
    for a in sorted(assistants, key=lambda a: str(a.get("name") or "")):
        if a.get("name") and a["name"] != a["graph_id"]:
            served[str(a["assistant_id"])] = f"{a['name']} (assistant of {a['graph_id']})"
    return served


def _graph_details(deployment: Deployment | None, assistant: str) -> GraphDetails:
    """Read from the deployment which graphs it serves and the chosen graph's input schema; a
    deployment that is down leaves nothing to choose, so nothing can be started on it. Both
    reads run in parallel under one overall deadline (``DEPLOYMENT_TIMEOUT``)."""
    if deployment is None:
        return GraphDetails()
    client = read_client_for(deployment)
    calls: dict[str, Callable[[], Any]] = {"assistants": lambda: client.list_assistants(limit=100)}
    if assistant:
        calls["schemas"] = lambda: client.get_schemas(assistant)
    got = fetch(calls)
    outcome = got["assistants"]
    if outcome.problem is not None:
        return GraphDetails(
            problem=f"Could not read the graphs of {deployment.name}: {outcome.problem}"
        )
    served = _served(outcome.value)
    if assistant not in served or "schemas" not in got or got["schemas"].problem:
        return GraphDetails(served=served)
    schemas = got["schemas"].value
    # A graph declaring no input type publishes its state as its input.
    schema = schemas.get("input_schema") or schemas.get("state_schema")
    if not isinstance(schema, dict):
        return GraphDetails(served=served)
    example = example_input(schema)
    return GraphDetails(
        served=served,
        schema=schema,
        example=json.dumps(example, indent=2) if example is not None else "",
    )


@require_http_methods(["GET", "POST"])
@login_required
def start_run(request: HttpRequest) -> HttpResponse:
    operable = deployments_for(request.user, "operate").filter(enabled=True, read_only=False)
    source = request.POST if request.method == "POST" else request.GET
    deployment_id = _int_or_none(source.get("deployment"))
    deployment = get_deployment_for(request.user, deployment_id) if deployment_id else None
    if deployment is None and request.method == "GET":
        only = list(operable[:2])
        deployment = only[0] if len(only) == 1 else None
    if request.method == "POST" and (
        not operable.exists()
        or (deployment is not None and not can(request.user, "operate", deployment))
    ):
        raise PermissionDenied("Starting runs needs the operator role (or higher) on this team.")
    assistant = (source.get("assistant_id") or source.get("assistant") or "").strip()
    details = _graph_details(deployment, assistant)

    if request.method == "POST":
        form = StartRunForm(
            request.POST, deployments=operable, served=details.served, input_schema=details.schema
        )
        if form.is_valid():
            data = form.cleaned_data
            try:
                run = services.do_start_run(
                    user=request.user,
                    deployment=data["deployment"],
                    thread_id=data["thread_id"] or None,
                    kind=form.kind,  # type: ignore[arg-type]
                    input=data["input"],
                    stream_mode=data["stream_mode"],
                    multitask_strategy=data["multitask_strategy"],
                    checkpoint_id=data["checkpoint_id"] or None,
                    interrupt_before=data["interrupt_before"],
                    interrupt_after=data["interrupt_after"],
                    assistant_id=data["assistant_id"],
                    request=request,
                )
            except services.RunRefused as refusal:
                form.add_error(None, str(refusal))
            else:
                return redirect("runs:detail", run_id=run.pk)
        status = 400
    else:
        form = StartRunForm(
            initial={
                "deployment": deployment,
                "thread_id": request.GET.get("thread", ""),
                "checkpoint_id": request.GET.get("checkpoint", ""),
                "assistant_id": assistant if assistant in details.served else "",
                "input": request.GET.get("input", ""),
            },
            deployments=operable,
            served=details.served,
            input_schema=details.schema,
        )
        status = 200
    context = {
        "form": form,
        "details": details,
        "can_operate": operable.exists(),
        "multitask_help": MULTITASK_HELP,
    }
    # Choosing a deployment or a graph reloads just the graph choice and the input fields.
    if request.method == "GET" and getattr(request, "htmx", False):
        return render(request, "runs/start_run.html#choices", context)
    return render(request, "runs/start_run.html", context, status=status)


def _view_context(run: Run) -> dict[str, Any]:
    events = list(run.events.order_by("seq").values_list("seq", "event", "data"))
    view = live.fold(events)
    upstream = f"upstream run {run.upstream_run_id}" if run.upstream_run_id else ""
    # The names the page's partials print, as a live frame fills them in.
    return {
        "run": run,
        "view": view,
        "status": run.status,
        "label": run.get_status_display(),
        "meta": view.meta or upstream,
        "values": view.values,
        "end_text": view.end_text,
        "seq": view.last_seq,
        "event": view.last_event,
    }


@require_GET
@login_required
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = selectors.get_run_for(request.user, run_id)
    context = {
        **_view_context(run),
        "graph_name": selectors.graph_names([run])[run.pk],
        "can_operate": can(request.user, "operate", run),
        "can_decide": can(request.user, "decide", run),
        "cancel_form": CancelRunForm(),
        "ws_path": f"/ws/runs/{run.pk}/",
    }
    if getattr(request, "htmx", False):
        return render(request, "runs/run_detail.html#status", context)
    return render(request, "runs/run_detail.html", context)


@require_POST
@login_required
def cancel_run(request: HttpRequest, run_id: int) -> HttpResponse:
    run = selectors.get_run_for(request.user, run_id)
    form = CancelRunForm(request.POST)
    if not can(request.user, "operate", run):
        raise PermissionDenied("Cancelling runs needs the operator role (or higher) on this team.")
    if not form.is_valid():
        messages.error(request, "Choose interrupt or rollback.")
        return redirect("runs:detail", run_id=run.pk)
    try:
        note = services.do_cancel_run(
            user=request.user, run=run, action=form.cleaned_data["action"], request=request
        )
    except services.RunRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, note)
    response = redirect("runs:detail", run_id=run.pk)
    response["HX-Trigger"] = "runCancelled"
    return response


@require_POST
@login_required
def watch_run(request: HttpRequest, deployment_id: int, thread_id: str) -> HttpResponse:
    """Watch live the run going on a thread: its run page, shared by everyone watching it."""
    deployment = get_deployment_for(request.user, deployment_id)
    thread_id = thread_id_or_404(thread_id)
    try:
        run = services.do_watch_run(
            user=request.user, deployment=deployment, thread_id=thread_id, request=request
        )
    except services.RunRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("threads:detail", deployment_id=deployment.pk, thread_id=thread_id)
    return redirect("runs:detail", run_id=run.pk)


@require_GET
@login_required
def run_list(request: HttpRequest) -> HttpResponse:
    runs = list(selectors.runs_for(request.user).select_related("deployment", "started_by")[:100])
    names = selectors.graph_names(runs)
    context = {
        "rows": [(run, names[run.pk]) for run in runs],
        "can_operate": deployments_for(request.user, "operate").exists(),
        "any_active": any(run.is_active for run in runs),
        "list_url": reverse("runs:list"),
    }
    if getattr(request, "htmx", False):
        return render(request, "runs/run_list.html#rows", context)
    return render(request, "runs/run_list.html", context)
