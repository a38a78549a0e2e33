from __future__ import annotations

from django.urls import path

from apps.memory import views

app_name = "memory"
urlpatterns = [
    path("store/", views.store, name="store"),
    path("store/item/", views.store_item, name="store_item"),
    path("store/put/", views.store_put, name="store_put"),
    path("store/delete/", views.store_delete, name="store_delete"),
    path("crons/", views.crons, name="crons"),
    path("crons/<str:cron_id>/threads/", views.cron_threads, name="cron_threads"),
    path("crons/<str:cron_id>/pause/", views.cron_pause, name="cron_pause"),
    path("crons/<str:cron_id>/delete/", views.cron_delete, name="cron_delete"),
    path("assistants/", views.assistants, name="assistants"),
    path("assistants/<str:assistant_id>/", views.assistant, name="assistant"),
]
