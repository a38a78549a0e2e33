from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.http import AuthenticatedHttpRequest
from apps.accounts.permissions import REQUIRED_ROLE, can, teams_for
from apps.accounts.selectors import current_team
from apps.deployments import services
from apps.deployments.crypto import decrypt
from apps.deployments.forms import DeploymentForm
from apps.deployments.models import Deployment
from apps.deployments.probe import probe_deployment
from apps.deployments.selectors import deployments_for, get_deployment_for


def _secrets_summary(deployment: Deployment) -> dict[str, Any]:
    # Whether secrets are set, and the headers' names: never a key or a header value.
    raw = decrypt(deployment.headers_encrypted)
    return {
        "api_key_set": bool(deployment.api_key_encrypted),
        "header_names": sorted(json.loads(raw)) if raw else [],
    }


def _secrets_stay_message(deployment: Deployment, carried: list[str]) -> str:
    what = " and ".join(
        "the API key" if name == "api_key" else "the extra headers" for name in carried
    )
    return (
        f"{what[0].upper()}{what[1:]} stored for {deployment.secrets_url} stay with that URL. Enter "
        "them again for the new URL, remove them, or confirm below that they go to the new host."
    )


def _changes(form: DeploymentForm) -> services.DeploymentChanges:
    data = form.cleaned_data
    return services.DeploymentChanges(
        name=data["name"],
        url=data["url"],
        read_only=data["read_only"],
        enabled=data["enabled"],
        api_key=data["api_key"] or None,
        headers=data["headers"],
        clear_api_key=data.get("clear_api_key", False),
        clear_headers=data.get("clear_headers", False),
        move_secrets=data.get("move_secrets", False),
    )


@require_GET
@login_required
def deployment_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    deployments = (
        deployments_for(request.user).select_related("team").order_by("team__name", "name")
    )
    admin_team_ids = set(teams_for(request.user, "administer").values_list("pk", flat=True))
    rows = [(d, d.team_id in admin_team_ids) for d in deployments]
    return render(
        request,
        "deployments/list.html",
        {"rows": rows, "can_create": bool(admin_team_ids)},
    )


@require_http_methods(["GET", "POST"])
@login_required
def deployment_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    teams = teams_for(request.user, "administer")
    if not teams.exists():
        needed = REQUIRED_ROLE["administer"].label.lower()
        raise PermissionDenied(f"Adding a deployment needs the {needed} role on a team.")
    team = current_team(request)
    initial = {"team": team.pk} if team is not None and teams.filter(pk=team.pk).exists() else {}
    form = DeploymentForm(
        request.POST if request.method == "POST" else None,
        teams=teams,
        initial={"enabled": True, **initial},
    )
    if request.method == "POST":
        if form.is_valid():
            deployment = services.do_create_deployment(
                actor=request.user,
                team=form.cleaned_data["team"],
                changes=_changes(form),
                request=request,
            )
            messages.success(request, f"Added {deployment.name}. Test its connection below.")
            return HttpResponseRedirect(f"/deployments/{deployment.pk}/")
        return render(
            request, "deployments/form.html", {"form": form, "deployment": None}, status=400
        )
    return render(request, "deployments/form.html", {"form": form, "deployment": None})


@require_GET
@login_required
def deployment_detail(request: AuthenticatedHttpRequest, deployment_id: int) -> HttpResponse:
    deployment = get_deployment_for(request.user, deployment_id)
    return render(
        request,
        "deployments/detail.html",
        {
            "deployment": deployment,
            "is_admin": can(request.user, "administer", deployment),
            **_secrets_summary(deployment),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def deployment_edit(request: AuthenticatedHttpRequest, deployment_id: int) -> HttpResponse:
    deployment = get_deployment_for(request.user, deployment_id, "administer")
    initial = {
        "name": deployment.name,
        "url": deployment.url,
        "read_only": deployment.read_only,
        "enabled": deployment.enabled,
    }
    form = DeploymentForm(
        request.POST if request.method == "POST" else None, deployment=deployment, initial=initial
    )
    context = {"form": form, "deployment": deployment, **_secrets_summary(deployment)}
    if request.method == "POST":
        if form.is_valid():
            try:
                services.do_update_deployment(
                    actor=request.user,
                    deployment=deployment,
                    changes=_changes(form),
                    request=request,
                )
            except services.SecretsWouldMove as refused:
                form.add_error("url", _secrets_stay_message(deployment, refused.carried))
            else:
                messages.success(request, f"Saved {form.cleaned_data['name']}.")
                return HttpResponseRedirect(f"/deployments/{deployment.pk}/")
        return render(request, "deployments/form.html", context, status=400)
    return render(request, "deployments/form.html", context)


@require_POST
@login_required
def deployment_test(request: AuthenticatedHttpRequest, deployment_id: int) -> HttpResponse:
    deployment = get_deployment_for(request.user, deployment_id, "administer")
    result = probe_deployment(deployment)
    context = {
        "deployment": deployment,
        "is_admin": True,
        "probe": result,
        **_secrets_summary(deployment),
    }
    template = "deployments/detail.html#probe" if request.htmx else "deployments/detail.html"
    return render(request, template, context)
