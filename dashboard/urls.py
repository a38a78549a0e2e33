from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("apps.accounts.urls")),
    path("deployments/", include("apps.deployments.urls")),
    path("audit/", include("apps.audit.urls")),
    path("threads/", include("apps.threads.urls")),
    path("runs/", include("apps.runs.urls")),
    path("inbox/", include("apps.inbox.urls")),
    path("", include("apps.health.urls")),
]
