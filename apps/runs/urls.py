from __future__ import annotations

from django.urls import path

from apps.runs import views

app_name = "runs"
urlpatterns = [
    path("", views.run_list, name="list"),
    path("new/", views.start_run, name="start"),
    path("<int:run_id>/", views.run_detail, name="detail"),
    path("<int:run_id>/cancel/", views.cancel_run, name="cancel"),
    path("watch/<int:deployment_id>/<str:thread_id>/", views.watch_run, name="watch"),
]
