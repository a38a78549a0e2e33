from __future__ import annotations

from django.urls import path

from apps.health import views

app_name = "health"
urlpatterns = [
    path("livez", views.livez, name="livez"),
    path("readyz", views.readyz, name="readyz"),
    path("status/", views.status, name="status"),
]
