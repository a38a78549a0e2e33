from __future__ import annotations

from django.urls import path

from apps.deployments import views

app_name = "deployments"
urlpatterns = [
    path("", views.deployment_list, name="list"),
    path("new/", views.deployment_create, name="create"),
    path("<int:deployment_id>/", views.deployment_detail, name="detail"),
    path("<int:deployment_id>/edit/", views.deployment_edit, name="edit"),
    path("<int:deployment_id>/test/", views.deployment_test, name="test"),
]
