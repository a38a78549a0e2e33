"""The navigation badge's websocket: the inbox count, pushed when it changes.

The page connects to ``/ws/inbox/`` (htmx ws extension). The consumer joins one group per team
the user may view; on an ``inbox.changed`` message for one of them it recounts for its own user
(the count is the union of the user's teams) and sends ``<span id="inbox-count"
hx-swap-oob="true">N</span>``, which the ws extension swaps in place. It sends the count once on
connect too, after joining the groups, so a page that was open while the socket was down catches
up; an open inbox list refetches itself on every message (``static/js/inbox-list.js``), so that
first one also covers what changed between the page's render and the socket joining.

Access: authenticated in ``connect``; re-checked every ``RECHECK_SECONDS`` and before every
recount: the session must still log the user in as a request would (``apps.runs.socket_access``:
not logged out or expired, password unchanged, user active) and the user must still be in every
team whose group the socket joined. Otherwise the socket closes with 4403 (the ws extension
reconnects, and the handshake decides afresh). Logging out (the ``session.ended`` message of
``apps.runs.events``) closes it at once.

Without the channel layer (Redis away) the socket still opens and shows the count, which is in
the database; it joins its groups again on the re-check timer, and sends the count once more when
it does, since it heard nothing meanwhile. A socket that was joined when Redis went away finds out
on the same timer (the layer's reader failing: ``dashboard.channel_layer.hears``, which asks no
one), and likewise recounts once Redis is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import DatabaseError
from django.template.loader import render_to_string

from apps.accounts.permissions import teams_for
from apps.inbox.events import InboxChangedPayload, team_group
from apps.inbox.selectors import inbox_count
from apps.runs.events import user_group
from apps.runs.socket_access import LAYER_ERRORS, RECHECK_SECONDS, session_is_valid
from dashboard.channel_layer import hears

log = logging.getLogger(__name__)

CLOSE_NO_ACCESS = 4403
CLOSE_UNAVAILABLE = 1011


def _visible_team_ids(user: Any) -> set[int]:
    return set(teams_for(user).values_list("pk", flat=True))


_team_ids = database_sync_to_async(_visible_team_ids)


def _still_allowed_sync(user: Any, session_key: str | None, team_ids: set[int]) -> bool:
    return session_is_valid(session_key, user.pk) and team_ids <= _visible_team_ids(user)


_still_allowed = database_sync_to_async(_still_allowed_sync)


def _render_badge(user: Any, session_key: str | None, team_ids: set[int]) -> str | None:
    """The badge, or None when the socket may no longer show it."""
    if not _still_allowed_sync(user, session_key, team_ids):
        return None
    return render_to_string("inbox/list.html#count", {"inbox_count": inbox_count(user) or ""})


_badge = database_sync_to_async(_render_badge)


class InboxCountConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]
    group_names: list[str]

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.group_names = []
        if user is None or not user.is_authenticated:
            await self.close()
            return
        self.user = user
        self.session_key = getattr(self.scope.get("session"), "session_key", None)
        self.team_ids = await _team_ids(user)
        self.group_names = [team_group(t) for t in sorted(self.team_ids)] + [user_group(user.pk)]
        self.joined = await self.join_groups()
        await self.accept()
        await self.send_badge()
        self.watcher = asyncio.create_task(self.watch())

    async def join_groups(self) -> bool:
        try:
            for group in self.group_names:
                await self.channel_layer.group_add(group, self.channel_name)
        except LAYER_ERRORS as error:
            log.info("inbox socket of user %s: channel layer unreachable (%s)", self.user.pk, error)
            return False
        # A group this process already listens to is joined without asking Redis, which may be
        # away: then the layer's reader is failing.
        return hears(self.channel_layer, self.group_names)

    async def disconnect(self, code: int) -> None:
        watcher = getattr(self, "watcher", None)
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        for group in self.group_names:
            with contextlib.suppress(*LAYER_ERRORS):  # Redis away: its subscriptions went with it
                await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # The ws extension sends form values when a form inside it is submitted; nothing here.
        return

    async def inbox_changed(self, message: InboxChangedPayload) -> None:
        await self.send_badge()

    async def session_ended(self, message: dict[str, Any]) -> None:
        await self.close(code=CLOSE_NO_ACCESS)

    async def send_badge(self) -> None:
        badge = await _badge(self.user, self.session_key, self.team_ids)
        if badge is None:
            await self.close(code=CLOSE_NO_ACCESS)
            return
        await self.send(text_data=badge)

    async def watch(self) -> None:
        """Re-check access on a quiet socket too: a badge may go unchanged for hours."""
        while True:
            await asyncio.sleep(RECHECK_SECONDS)
            try:
                allowed = await _still_allowed(self.user, self.session_key, self.team_ids)
            except DatabaseError:
                # Access that cannot be confirmed is not granted: the page reconnects, and the
                # handshake checks again.
                log.warning("inbox socket of user %s: access check failed", self.user.pk)
                await self.close(code=CLOSE_UNAVAILABLE)
                return
            if not allowed:
                await self.close(code=CLOSE_NO_ACCESS)
                return
            if self.joined and not hears(self.channel_layer, self.group_names):
                self.joined = False  # what changes from now on is not heard: recount when back
            elif not self.joined and await self.join_groups():
                self.joined = True
                await self.send_badge()
