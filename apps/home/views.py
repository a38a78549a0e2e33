from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.accounts.http import AuthenticatedHttpRequest
from apps.home.selectors import SHOWN, home_for


@require_GET
@login_required
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    """What needs me now: items waiting, runs live, threads busy that nobody watches,
    deployments in trouble."""
    return render(request, "home/home.html", {"home": home_for(request.user), "shown": SHOWN})
