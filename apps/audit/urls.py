from __future__ import annotations

from django.urls import path

from apps.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.audit_list, name="list"),
    path("export.csv", views.audit_export_csv, name="export_csv"),
    path("export.json", views.audit_export_json, name="export_json"),
]
