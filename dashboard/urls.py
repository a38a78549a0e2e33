from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from apps.home.views import home

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("apps.accounts.urls")),
    path("deployments/", include("apps.deployments.urls")),
    path("deployments/<int:deployment_id>/", include("apps.memory.urls")),
    path("audit/", include("apps.audit.urls")),
    path("threads/", include("apps.threads.urls")),
    path("runs/", include("apps.runs.urls")),
    path("inbox/", include("apps.inbox.urls")),
    path("workflow/", include("apps.workflow.urls")),
    path("", include("apps.health.urls")),
    path("", include("apps.metrics.urls")),
    path("", home, name="home"),
]
