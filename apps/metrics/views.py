"""``GET /metrics``: the Prometheus exposition of ``ConsoleCollector``, for the console's operators.

Console-wide figures are for the people who run the console, not for team members: a scraper
sends ``Authorization: Bearer <METRICS_TOKEN>``, or a superuser opens it in a browser. A wrong
token or a signed-in user who is not a superuser gets 403; anyone else 404, so the endpoint does
not announce itself. With ``METRICS_TOKEN`` unset, tokens are refused altogether.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from apps.metrics.collector import ConsoleCollector

registry = CollectorRegistry(auto_describe=False)
registry.register(ConsoleCollector())


def _bearer(request: HttpRequest) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token = _bearer(request)
    if token is not None:
        expected = settings.METRICS_TOKEN
        if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
            return HttpResponse("Invalid metrics token.\n", status=403, content_type="text/plain")
    elif not request.user.is_authenticated:
        raise Http404
    elif not request.user.is_superuser:
        return HttpResponse("Metrics are for superusers.\n", status=403, content_type="text/plain")
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
