"""What travels from the inbox's writers to the navigation badges: one typed message, one sender.

When interrupts open or close on a team's deployments, ``InboxEvents.changed(team_ids)`` tells
every open page of that team's members; each socket then recounts for its own user (counts are
per user: a user sees the union of their teams) and swaps ``#inbox-count``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Literal, TypedDict

from channels.layers import get_channel_layer

from dashboard.channel_layer import send_to_groups

log = logging.getLogger(__name__)


class InboxChangedPayload(TypedDict):
    """Group message to a team's inbox sockets (``type`` is the consumer's handler name)."""

    type: Literal["inbox.changed"]
    team_id: int


def team_group(team_id: int) -> str:
    return f"inbox-team-{team_id}"


class InboxEvents:
    """The producer side: the only code that sends to the inbox groups."""

    @staticmethod
    def changed(team_ids: Iterable[int]) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        for team_id in sorted(set(team_ids)):
            message: InboxChangedPayload = {"type": "inbox.changed", "team_id": team_id}
            try:
                send_to_groups(layer, [(team_group(team_id), message)])
            except Exception:  # a badge is a nicety: never fail a decision or a sync over it
                log.warning("could not announce an inbox change to team %s", team_id, exc_info=True)
