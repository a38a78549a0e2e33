from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "apps.runs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        user_logged_out.connect(_close_sockets_on_logout, dispatch_uid="runs-close-sockets")


def _close_sockets_on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    # A websocket outlives the session that opened it unless told: close the user's sockets.
    if user is None or user.pk is None:
        return
    from apps.runs.events import RunEvents

    try:
        RunEvents.end_sessions(user.pk)
    except Exception:  # Redis away: the consumers' session check closes the sockets anyway
        import logging

        logging.getLogger(__name__).warning("could not close the sockets of user %s", user.pk)
