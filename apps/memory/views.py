"""A deployment's Store, crons and assistants: thin views over ``reads`` (what is asked of
the deployment) and ``services`` (the changes, each through the gate)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.http import AuthenticatedHttpRequest
from apps.accounts.permissions import can
from apps.deployments.models import Deployment
from apps.deployments.selectors import get_deployment_for, is_writable
from apps.memory import reads, services
from apps.threads.presenters import pretty_json, preview_json
from dashboard.strict import StrictInputError, parse_json
from switchboard import SwitchboardError

PREVIEW_CHARS = 160


def _base(request: AuthenticatedHttpRequest, deployment: Deployment) -> dict[str, Any]:
    return {
        "deployment": deployment,
        "can_write": can(request.user, "administer", deployment) and is_writable(deployment),
        "is_admin": can(request.user, "administer", deployment),
    }


def _store_url(deployment: Deployment, **query: str) -> str:
    base = reverse("memory:store", args=[deployment.pk])
    query = {k: v for k, v in query.items() if v}
    return f"{base}?{urlencode(query)}" if query else base


def _item_url(deployment: Deployment, namespace: str, key: str) -> str:
    base = reverse("memory:store_item", args=[deployment.pk])
    return f"{base}?{urlencode({'ns': namespace, 'key': key})}"


# --- the Store ------------------------------------------------------------------------------


@require_GET
@login_required
def store(request: AuthenticatedHttpRequest, deployment_id: int) -> HttpResponse:
    deployment = get_deployment_for(request.user, deployment_id)
    raw_prefix = request.GET.get("prefix", "")
    raw_ns = request.GET.get("ns", "")
    query = request.GET.get("q", "").strip()
    errors: list[str] = []
    try:
        prefix = reads.parse_namespace(raw_prefix, allow_empty=True)
        namespace = reads.parse_namespace(raw_ns, allow_empty=True)
    except StrictInputError as error:
        errors.append(str(error))
        prefix, namespace = [], []
    got = reads.store_page(deployment, prefix, namespace, query)
    items = [
        {
            "key": str(item.get("key", "")),
            "preview": preview_json(item.get("value"), PREVIEW_CHARS),
            "updated_at": item.get("updated_at", ""),
            "url": _item_url(deployment, raw_ns, str(item.get("key", ""))),
        }
        for item in (got["items"].value or [] if "items" in got else [])
        if isinstance(item, dict)
    ]
    namespaces = [
        (name, _store_url(deployment, prefix=raw_prefix, ns=name))
        for name in (reads.dotted(ns) for ns in got["namespaces"].value or [])
        if name
    ]
    return render(
        request,
        "memory/store.html",
        {
            **_base(request, deployment),
            "raw_prefix": raw_prefix,
            "raw_ns": raw_ns,
            "query": query,
            "errors": errors,
            "namespaces": namespaces,
            "namespaces_problem": got["namespaces"].problem,
            "items": items,
            "items_problem": got["items"].problem if "items" in got else None,
            "limits": {"namespaces": reads.NAMESPACES_SHOWN, "items": reads.ITEMS_SHOWN},
        },
        status=400 if errors else 200,
    )


def _item_context(
    request: AuthenticatedHttpRequest, deployment: Deployment, raw_ns: str, key: str
) -> dict[str, Any]:
    context: dict[str, Any] = {
        **_base(request, deployment),
        "raw_ns": raw_ns,
        "key": key,
        "back": _store_url(deployment, ns=raw_ns),
    }
    try:
        namespace = reads.parse_namespace(raw_ns)
    except StrictInputError as error:
        context["problem"] = str(error)
        return context
    outcome = reads.store_item(deployment, namespace, key)
    if not outcome.ok:
        context["problem"] = outcome.problem
        return context
    item = outcome.value
    if item is None:
        context["missing"] = True
        return context
    value = item.get("value")
    text = json.dumps(value, ensure_ascii=False, indent=2, default=str)
    context.update(
        item=item,
        shown=pretty_json(value),
        editable=len(text) <= reads.EDITABLE_CHARS,
        value_text=text if len(text) <= reads.EDITABLE_CHARS else "",
    )
    return context


@require_GET
@login_required
def store_item(request: AuthenticatedHttpRequest, deployment_id: int) -> HttpResponse:
    deployment = get_deployment_for(request.user, deployment_id)
    raw_ns, key = request.GET.get("ns", ""), request.GET.get("key", "")
    context = _item_context(request, deployment, raw_ns, key)
    return render(request, "memory/item.html", context)


def _refused(
    request: AuthenticatedHttpRequest,
    template: str,
    context: dict[str, Any],
    message: str,
    status: int,
) -> HttpResponse:
    context["errors"] = [message]
    return render(request, template, context, status=status)


@require_POST
@login_required
def store_put(request: AuthenticatedHttpRequest, deployment_id: int) -> HttpResponse:
    deployment = get_deployment_for(request.user, deployment_id, "administer")
    raw_ns = request.POST.get("ns", "").strip()
    key = request.POST.get("key", "").strip()
    value_text = request.POST.get("value", "")
    context = {
        **_base(request, deployment),
        "raw_ns": raw_ns,
        "key": key,
        "value_text": value_text,
        "editable": True,
        "back": _store_url(deployment, ns=raw_ns),
    }
    try:
        namespace = reads.parse_namespace(raw_ns)
        if not key:
            raise StrictInputError("Give the item a key.")
        value = parse_json(value_text)
        if not isinstance(value, dict):
            raise StrictInputError("A Store item's value is a JSON object ({...}).")
    except StrictInputError as error:
        return _refused(request, "memory/item.html", context, str(error), 400)
    try:
        services.do_put_item(
            actor=request.user,
            deployment=deployment,
            namespace=namespace,
            key=key,
            value=value,
            request=request,
        )
    except services.MemoryRefused as refusal:
        return _refused(request, "memory/item.html", context, str(refusal), 400)
    except SwitchboardError as error:
        return _refused(
            request, "memory/item.html", context, f"The deployment refused it: {error}", 502
        )
    messages.success(request, f"Saved {key!r} in {raw_ns}.")
    return HttpResponseRedirect(_item_url(deployment, raw_ns, key))


@require_POST
@login_required
def store_delete(request: AuthenticatedHttpRequest, deployment_id: int) -> HttpResponse:
    deployment = get_deployment_for(request.user, deployment_id, "administer")
    raw_ns = request.POST.get("ns", "").strip()
    key = request.POST.get("key", "").strip()
    try:
        namespace = reads.parse_namespace(raw_ns)
        if not key:
            raise StrictInputError("Name the item's key.")
        services.do_delete_item(
            actor=request.user, deployment=deployment, namespace=namespace, key=key, request=request
        )
    except (StrictInputError, services.MemoryRefused) as error:
        messages.error(request, str(error))
        return HttpResponseRedirect(_item_url(deployment, raw_ns, key))
    except SwitchboardError as error:
        messages.error(request, f"The deployment refused it: {error}")
        return HttpResponseRedirect(_item_url(deployment, raw_ns, key))
    messages.success(request, f"Deleted {key!r} from {raw_ns}.")
    return HttpResponseRedirect(_store_url(deployment, ns=raw_ns))


# --- crons ----------------------------------------------------------------------------------


@require_GET
@login_required
def crons(request: AuthenticatedHttpRequest, deployment_id: int) -> HttpResponse:
    deployment = get_deployment_for(request.user, deployment_id)
    rows, outcome = reads.crons_page(deployment)
    return render(
        request,
        "memory/crons.html",
        {
            **_base(request, deployment),
            "rows": rows,
            "problem": outcome.problem,
            "limit": reads.CRONS_SHOWN,
        },
    )


@require_GET
@login_required
def cron_threads(
    request: AuthenticatedHttpRequest, deployment_id: int, cron_id: str
) -> HttpResponse:
    deployment = get_deployment_for(request.user, deployment_id)
    cron, threads, outcome = reads.cron_threads(deployment, cron_id)
    return render(
        request,
        "memory/cron_threads.html",
        {
            **_base(request, deployment),
            "cron_id": cron_id,
            "cron": cron,
            "threads": threads,
            "problem": outcome.problem,
            "limit": reads.CRON_THREADS_SHOWN,
        },
        status=404 if cron is None and outcome.ok else 200,
    )


def _cron_change(
    request: AuthenticatedHttpRequest, deployment_id: int, cron_id: str, change: str
) -> HttpResponse:
    deployment = get_deployment_for(request.user, deployment_id, "administer")
    try:
        if change == "delete":
            services.do_delete_cron(
                actor=request.user, deployment=deployment, cron_id=cron_id, request=request
            )
        else:
            services.do_set_cron_enabled(
                actor=request.user,
                deployment=deployment,
                cron_id=cron_id,
                enabled=change == "resume",
                request=request,
            )
    except services.MemoryRefused as refusal:
        messages.error(request, str(refusal))
    except SwitchboardError as error:
        messages.error(request, f"The deployment refused it: {error}")
    else:
        messages.success(request, f"Cron {cron_id}: {change}d.")
    return HttpResponseRedirect(reverse("memory:crons", args=[deployment.pk]))


@require_POST
@login_required
def cron_pause(request: AuthenticatedHttpRequest, deployment_id: int, cron_id: str) -> HttpResponse:
    change = "resume" if request.POST.get("enabled") == "1" else "pause"
    return _cron_change(request, deployment_id, cron_id, change)


@require_POST
@login_required
def cron_delete(
    request: AuthenticatedHttpRequest, deployment_id: int, cron_id: str
) -> HttpResponse:
    return _cron_change(request, deployment_id, cron_id, "delete")


# --- assistants -----------------------------------------------------------------------------


@require_GET
@login_required
def assistants(request: AuthenticatedHttpRequest, deployment_id: int) -> HttpResponse:
    deployment = get_deployment_for(request.user, deployment_id)
    outcome = reads.assistants_page(deployment)
    rows = [
        {**a, "config_shown": preview_json(a.get("config"), PREVIEW_CHARS)}
        for a in outcome.value or []
        if isinstance(a, dict)
    ]
    return render(
        request,
        "memory/assistants.html",
        {
            **_base(request, deployment),
            "rows": rows,
            "problem": outcome.problem,
            "limit": reads.ASSISTANTS_SHOWN,
        },
    )


def _version(
    versions: list[dict[str, Any]], raw: str, default: dict[str, Any] | None
) -> dict[str, Any] | None:
    if not raw:
        return default
    return next((v for v in versions if str(v.get("version")) == raw), None)


@require_GET
@login_required
def assistant(
    request: AuthenticatedHttpRequest, deployment_id: int, assistant_id: str
) -> HttpResponse:
    deployment = get_deployment_for(request.user, deployment_id)
    got = reads.assistant_page(deployment, assistant_id)
    versions = [v for v in got["versions"].value or [] if isinstance(v, dict)]
    raw_from, raw_to = request.GET.get("from", ""), request.GET.get("to", "")
    newest = versions[0] if versions else None
    to = _version(versions, raw_to, newest)
    before = _version(versions, raw_from, versions[1] if len(versions) > 1 else None)
    errors = [
        f"This assistant has no version {raw!r}."
        for raw, found in ((raw_from, before), (raw_to, to))
        if raw and found is None
    ]
    diff = reads.diff_versions(before, to) if before is not None and to is not None else None
    changes = [
        (
            c.kind,
            c.path,
            preview_json(c.before, PREVIEW_CHARS),
            preview_json(c.after, PREVIEW_CHARS),
        )
        for c in (diff.changes if diff else [])
    ] + [
        ("appended", a.path, "", preview_json(a.items, PREVIEW_CHARS))
        for a in (diff.appended if diff else [])
    ]
    return render(
        request,
        "memory/assistant.html",
        {
            **_base(request, deployment),
            "assistant_id": assistant_id,
            "assistant": got["assistant"].value,
            "problem": got["versions"].problem or got["assistant"].problem,
            "versions": [
                {**v, "config_shown": pretty_json(version_view_config(v))} for v in versions
            ],
            "before": before,
            "to": to,
            "raw_from": raw_from,
            "raw_to": raw_to,
            "errors": errors,
            "diff": diff,
            "changes": changes,
        },
        status=400 if errors else 200,
    )


def version_view_config(version: dict[str, Any]) -> Any:
    return {"config": version.get("config"), "context": version.get("context")}
