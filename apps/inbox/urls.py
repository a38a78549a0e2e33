from __future__ import annotations

from django.urls import path

from apps.inbox import views

app_name = "inbox"
urlpatterns = [
    path("", views.inbox_list, name="list"),
    path("count/", views.inbox_count, name="count"),
    path("settings/", views.inbox_settings, name="settings"),
    path("settings/<int:deployment_id>/", views.policy_update, name="policy"),
    path("<int:deployment_id>/<str:thread_id>/", views.thread_decide, name="thread"),
    path("<int:deployment_id>/<str:thread_id>/continue/", views.thread_continue, name="continue"),
    path("<int:deployment_id>/<str:thread_id>/resolve/", views.thread_resolve, name="resolve"),
    path("<int:deployment_id>/<str:thread_id>/state/", views.edit_state, name="edit_state"),
]
