"""The navigation badge's websocket: the inbox count, pushed when it changes.

The page connects to ``/ws/inbox/`` (htmx ws extension). The consumer joins one group per team
the user may view; on an ``inbox.changed`` message for one of them it recounts for its own user
(the count is the union of the user's teams) and sends ``<span id="inbox-count"
hx-swap-oob="true">N</span>``, which the ws extension swaps in place. It sends the count once on
connect too, so a page that was open while the socket was down catches up.

Access: authenticated in ``connect``; the count is recomputed through the team selectors on
every event, so a user who lost a team stops counting its interrupts; logging out (the
``session.ended`` message of ``apps.runs.events``) closes the socket.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.template.loader import render_to_string

from apps.accounts.permissions import teams_for
from apps.inbox.events import InboxChangedPayload, team_group
from apps.inbox.selectors import inbox_count
from apps.runs.events import user_group

CLOSE_NO_ACCESS = 4403


def _visible_team_ids(user: Any) -> list[int]:
    return list(teams_for(user).values_list("pk", flat=True))


_team_ids = database_sync_to_async(_visible_team_ids)


def _render_badge(user: Any) -> str:
    return render_to_string("inbox/list.html#count", {"inbox_count": inbox_count(user) or ""})


_badge = database_sync_to_async(_render_badge)


class InboxCountConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]
    groups_joined: list[str]

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.groups_joined = []
        if user is None or not user.is_authenticated:
            await self.close()
            return
        self.user = user
        self.groups_joined = [team_group(t) for t in await _team_ids(user)] + [user_group(user.pk)]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send(text_data=await _badge(user))

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # The ws extension sends form values when a form inside it is submitted; nothing here.
        return

    async def inbox_changed(self, message: InboxChangedPayload) -> None:
        await self.send(text_data=await _badge(self.user))

    async def session_ended(self, message: dict[str, Any]) -> None:
        await self.close(code=CLOSE_NO_ACCESS)
