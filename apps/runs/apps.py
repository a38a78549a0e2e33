from __future__ import annotations

from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_out


class RunsConfig(AppConfig):
    name = "apps.runs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Django runs ready() once the models are loaded: the modules below import models, so
        # this is the one place they can be imported from an AppConfig.
        from apps.runs import receivers, selectors
        from apps.threads import hooks as thread_hooks

        user_logged_out.connect(
            receivers.close_sockets_on_logout, dispatch_uid="runs-close-sockets"
        )
        # The thread pages' live badge and links to the console's runs.
        thread_hooks.register(
            live_keys=selectors.live_thread_keys, console_runs=selectors.upstream_runs_of_thread
        )
