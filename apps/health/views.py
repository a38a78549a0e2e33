from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.deployments.models import Deployment
from apps.deployments.selectors import deployments_for
from apps.health.checks import run_checks


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers and probes: 200 when everything answers, 503 naming what does not."""
    checks = run_checks(Deployment.objects.filter(enabled=True))
    healthy = all(check.ok for check in checks)
    return JsonResponse(
        {"ok": healthy, "checks": [check.as_dict() for check in checks]},
        status=200 if healthy else 503,
    )


@require_GET
@never_cache
@login_required
def status(request: HttpRequest) -> HttpResponse:
    checks = run_checks(deployments_for(request.user))
    return render(
        request, "health/status.html", {"checks": checks, "healthy": all(c.ok for c in checks)}
    )
