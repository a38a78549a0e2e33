from __future__ import annotations

from django.apps import AppConfig


class WorkflowConfig(AppConfig):
    name = "apps.workflow"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Deciding an item releases its claim and settles its deadline and approvals.
        from apps.workflow import receivers  # noqa: F401
