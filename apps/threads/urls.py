from __future__ import annotations

from django.urls import path

from apps.threads import views

app_name = "threads"
urlpatterns = [
    path("", views.thread_list, name="list"),
    path("open/", views.open_thread, name="open"),
    path("sync/<int:deployment_id>/", views.refresh, name="refresh"),
    path("<int:deployment_id>/<str:thread_id>/", views.thread_detail, name="detail"),
    path("<int:deployment_id>/<str:thread_id>/diff/", views.checkpoint_diff, name="diff"),
    path("<int:deployment_id>/<str:thread_id>/branch/", views.state_branch, name="branch"),
    path("<int:deployment_id>/<str:thread_id>/export.json", views.export_thread, name="export"),
]
