"""What the runs app does when others speak: closing a user's sockets when they log out."""

from __future__ import annotations

import logging
from typing import Any

from apps.runs.events import RunEvents

log = logging.getLogger(__name__)


def close_sockets_on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    # A websocket outlives the session that opened it unless told: close the user's sockets.
    if user is None or user.pk is None:
        return
    try:
        RunEvents.end_sessions(user.pk)
    except Exception:  # Redis away: the consumers' session check closes the sockets anyway
        log.warning("could not close the sockets of user %s", user.pk)
