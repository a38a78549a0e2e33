from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_save


class WorkflowConfig(AppConfig):
    name = "apps.workflow"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Django runs ready() once the models are loaded: the modules below import models, so
        # this is the one place they can be imported from an AppConfig.
        from apps.gate import gate
        from apps.inbox import hooks as inbox_hooks
        from apps.inbox.models import Decision
        from apps.workflow import hooks, receivers, views
        from apps.workflow.models import Notification

        post_save.connect(
            receivers.decision_settles_item,
            sender=Decision,
            dispatch_uid="workflow-decision-settles-item",
        )
        post_save.connect(
            receivers.notification_created,
            sender=Notification,
            dispatch_uid="workflow-notification-delivery",
        )
        inbox_hooks.register(
            item_appeared=receivers.item_appeared,
            # Claims shown and taken in the inbox list; ticked items go to a bulk decision.
            row_controls=views.claim_cells,
            selection_action=("Bulk decide the selected", "workflow:bulk"),
        )
        # Claims, approval rules and four-eyes hold on every change that passes the gate.
        gate.register_rule(hooks.gate_rule)
