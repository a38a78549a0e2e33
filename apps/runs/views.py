from __future__ import annotations

import logging
from collections.abc import Callable
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
from apps.runs import selectors, services
from apps.runs.events import fold
from apps.runs.forms import MULTITASK_HELP, CancelRunForm, StartRunForm
from apps.runs.models import Run

log = logging.getLogger(__name__)


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _graph_details(
    deployment: Deployment | None, assistant: str
) -> tuple[list[str], dict[str, Any] | None, str]:
    """(graph names to offer, the assistant's input schema, a problem to show) from the
    deployment; a deployment that is down only costs the conveniences. Both reads run in
    parallel under one overall deadline (``DEPLOYMENT_TIMEOUT``), whatever the SDK's retries."""
    if deployment is None:
        return [], None, ""
    client = read_client_for(deployment)
    calls: dict[str, Callable[[], Any]] = {"assistants": lambda: client.list_assistants(limit=100)}
    if assistant:
        calls["schemas"] = lambda: client.get_schemas(assistant)
    got = fetch(calls)
    problem = next((outcome.problem for outcome in got.values() if outcome.problem), None)
    if problem is not None:
        return [], None, f"Could not read the graphs of {deployment.name}: {problem}"
    graphs = sorted({a["graph_id"] for a in got["assistants"].value})
    schema = None
    if "schemas" in got:
        schemas = got["schemas"].value
        # The in-memory server publishes no input schema for graphs declaring an input
        # TypedDict; their state schema still names the fields.
        schema = schemas.get("input_schema") or schemas.get("state_schema")
    return graphs, schema if isinstance(schema, dict) else None, ""


@require_http_methods(["GET", "POST"])
@login_required
def start_run(request: HttpRequest) -> HttpResponse:
    operable = deployments_for(request.user, "operate").filter(enabled=True, read_only=False)
    source = request.POST if request.method == "POST" else request.GET
    deployment_id = _int_or_none(source.get("deployment"))
    deployment = get_deployment_for(request.user, deployment_id) if deployment_id else None
    if request.method == "POST" and (
        not operable.exists()
        or (deployment is not None and not can(request.user, "operate", deployment))
    ):
        raise PermissionDenied("Starting runs needs the operator role (or higher) on this team.")
    assistant = (source.get("assistant_id") or source.get("assistant") or "").strip()
    graphs, schema, problem = _graph_details(deployment, assistant)

    if request.method == "POST":
        form = StartRunForm(request.POST, deployments=operable, input_schema=schema)
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
                "assistant_id": assistant,
            },
            deployments=operable,
            input_schema=schema,
        )
        status = 200
    context = {
        "form": form,
        "graphs": graphs,
        "problem": problem,
        "can_operate": operable.exists(),
        "multitask_help": MULTITASK_HELP,
    }
    return render(request, "runs/start_run.html", context, status=status)


def _view_context(run: Run) -> dict[str, Any]:
    events = list(run.events.order_by("seq").values_list("seq", "event", "data"))
    return {"run": run, "view": fold(events)}


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
