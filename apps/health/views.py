"""Health for machines and for people, split.

``/livez`` and ``/readyz`` need no login and name no deployment; the status page, with each of
the user's teams' deployments probed, is for logged-in members.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.accounts.http import AuthenticatedHttpRequest
from apps.deployments.selectors import deployments_for
from apps.health.checks import deployment_checks, readiness_checks


@require_GET
@never_cache
def livez(request: HttpRequest) -> JsonResponse:
    """The process answers HTTP (restart it if not); checks nothing else."""
    return JsonResponse({"ok": True})


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when the console's database, Redis and a worker answer; 503 naming what does not."""
    checks = readiness_checks()
    ready = all(check.ok for check in checks)
    return JsonResponse(
        {"ok": ready, "checks": [check.as_dict() for check in checks]},
        status=200 if ready else 503,
    )


@require_GET
@never_cache
@login_required
def status(request: AuthenticatedHttpRequest) -> HttpResponse:
    console = readiness_checks()
    deployments = deployment_checks(deployments_for(request.user))
    return render(
        request,
        "health/status.html",
        {
            "console": console,
            "deployments": deployments,
            "healthy": all(check.ok for check in console),
        },
    )
