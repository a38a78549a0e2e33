from __future__ import annotations

from django.urls import path

from apps.workflow import views

app_name = "workflow"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("items/<int:item_id>/", views.item_panel, name="item"),
    path("items/<int:item_id>/claim/", views.item_claim, name="claim"),
    path("items/<int:item_id>/release/", views.item_release, name="release"),
    path("items/<int:item_id>/break/", views.item_break, name="break_claim"),
    path("bulk/", views.bulk_new, name="bulk"),
    path("bulk/<int:job_id>/", views.bulk_job, name="bulk_job"),
    path("bulk/<int:job_id>/report.csv", views.bulk_job_csv, name="bulk_job_csv"),
    path("settings/", views.workflow_settings, name="settings"),
    path("settings/channels/", views.channel_create, name="channel_create"),
    path("settings/channels/<int:channel_id>/delete/", views.channel_delete, name="channel_delete"),
    path("settings/timeouts/", views.timeout_set, name="timeout_set"),
    path("settings/timeouts/<int:timeout_id>/delete/", views.timeout_delete, name="timeout_delete"),
    path("settings/rules/", views.approval_rule_create, name="rule_create"),
    path("settings/rules/<int:rule_id>/delete/", views.approval_rule_delete, name="rule_delete"),
    path("metrics/", views.metrics_page, name="metrics"),
    path("metrics.csv", views.metrics_csv, name="metrics_csv"),
]
