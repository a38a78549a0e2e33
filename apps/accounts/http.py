"""Request types for views, so mypy knows what the decorators guarantee."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class AuthenticatedHttpRequest(HtmxHttpRequest):
    """A request behind ``login_required``: ``user`` is a real user."""

    user: User


def hx_redirect(request: HtmxHttpRequest, url: str) -> HttpResponse:
    """Redirect after a mutation: htmx follows ``HX-Redirect`` (a 3xx would be swapped in place)."""
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)
