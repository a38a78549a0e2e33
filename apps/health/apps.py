from __future__ import annotations

from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "apps.health"
    default_auto_field = "django.db.models.BigAutoField"
