from __future__ import annotations

from django.urls import path

from apps.health import views

app_name = "health"
urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("status/", views.status, name="status"),
]
