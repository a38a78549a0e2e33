"""The Django admin's site, whose login is the console's own throttled login.

Django's admin login checks passwords without any rate limit, so the well-known demo superuser
could be guessed there at any speed. Every login path goes through ``views.login_view`` instead:
one throttle (``throttle.py``), one answer whether or not the username exists. Installed as the
default admin site by ``apps.ConsoleAdminConfig``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from apps.accounts.views import login_view


class ConsoleLoginAdminSite(admin.AdminSite):
    def login(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        return login_view(request)
