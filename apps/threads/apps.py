from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_save


class ThreadsConfig(AppConfig):
    name = "apps.threads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Django runs ready() once the models are loaded: the modules below import models, so
        # this is the one place they can be imported from an AppConfig.
        from apps.deployments.models import Deployment
        from apps.threads import receivers

        post_save.connect(
            receivers.deployment_saved,
            sender=Deployment,
            dispatch_uid="threads-deployment-poll-state",
        )
