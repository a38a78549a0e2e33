from __future__ import annotations

from django.apps import AppConfig

from apps.threads.signals import threads_seen


class InboxConfig(AppConfig):
    name = "apps.inbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Django runs ready() once the models are loaded: the modules below import models, so
        # this is the one place they can be imported from an AppConfig.
        from apps.gate import gate
        from apps.inbox import receivers, services

        # Threads read by the index sync or a relay bring the inbox's records up to date.
        threads_seen.connect(receivers.threads_seen, dispatch_uid="inbox-threads-seen")
        # Mandatory comments, and the items a run or a state edit would settle, on every intent.
        gate.register_rule(services.comment_rule)
        gate.register_items(services.pending_items)
