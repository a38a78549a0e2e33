"""The websocket of the run page: replay the log after what the page has, then tail the group.

Protocol. The page connects to ``/ws/runs/<run id>/?after=<last seq it has>``. The server sends
HTML: htmx out-of-band partials that the page's ws extension swaps in (``apps.runs.live``).

Server → page:
    an event frame, one per event, in seq order, once: it starts with
    ``<span id="event-count" hx-swap-oob="true" data-seq="<seq>" data-event="<event>">`` and
    goes on with the event's partials (entries appended, state and badge replaced, ...)
    ``<div id="run-socket" hx-swap-oob="true" hidden data-kind="<kind>" ...>``, a control frame:
        kind hello (data-run-id, -status, -last-seq, -after, -live) once, after the handshake;
        kind live (data-live): "false" when the layer is lost mid-connection, "true" when it is
            back (or first joined, after a hello that said "false");
        kind error (data-message): a bad frame or parameter
    hello and live go on with ``<p id="live-paused" hx-swap-oob="innerHTML">``: the page's note
    that live updates are paused, filled while the socket is not live and emptied once it is.
Page → server (JSON):
    {"type": "ack", "seq"}            the page has applied everything up to seq (flow control)
    {"type": "backfill", "after"}     the page lacks events after ``after``: send them again

Each event is rendered once per process, however many pages watch it
(``apps.runs.live.RunRenderer``).

Guarantees: the consumer sends seq ``n+1`` only after ``n``, whatever the channel layer drops or
reorders: a live event that skips ahead makes it read the gap from the log; a sync tick reads the
log when the layer dropped the last events of a burst. At most ``RUNS_WS_WINDOW`` events are
unacknowledged: beyond that the consumer stops forwarding (Daphne has no backpressure, so
sending more would only grow its buffers) and resumes from the log as the page acks, so a slow
page re-syncs instead of growing memory.

Without the channel layer (Redis away) the page is served from the log, which is in the database:
the handshake does not need Redis, the hello says ``"live": false``, the log is read every tick
(``RUNS_WS_SYNC_SECONDS``), and each tick tries to join the groups again; once it does, the page
gets ``{"type": "live", "live": true}`` and live events again. Redis lost while the socket is
live: the layer's reader fails, and the next tick sees it (``dashboard.channel_layer.hears``,
which asks no one) and says ``{"type": "live", "live": false}``; then as above.

Access: authenticated in ``connect``; the session (as a request would check it: unexpired, still
this user's, the password unchanged, the user active; see ``apps.runs.socket_access``) and the
team permission are re-checked whenever the last check is ``RECHECK_SECONDS`` old, when an event
arrives and on every tick. The check runs beside the stream rather than in front of it, so an
event never waits for the database; logout (a ``session.ended`` group message), an invalid
session or a lost membership closes the socket with code 4403.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError, close_old_connections

from apps.accounts.permissions import can
from apps.runs import selectors
from apps.runs.events import (
    RunEventPayload,
    RunEventsPayload,
    event_payload,
    run_group,
    user_group,
)
from apps.runs.live import RunRenderer, acquire, paused_note, release, socket_frame
from apps.runs.models import Run
from apps.runs.socket_access import LAYER_ERRORS, RECHECK_SECONDS, session_is_valid
from dashboard.channel_layer import hears

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

CLOSE_NO_ACCESS = 4403
CLOSE_UNAVAILABLE = 1011
PAGE = 200


def _find_run_sync(user: Any, run_id: int) -> Run | None:
    return selectors.runs_for(user).filter(pk=run_id).first()


def _still_allowed_sync(user: Any, run: Run, session_key: str | None) -> bool:
    return session_is_valid(session_key, user.pk) and can(user, "view", run)


def _log_after_sync(run_id: int, after: int, limit: int) -> list[RunEventPayload]:
    return [
        event_payload(run_id, event.seq, event.event, event.data)
        for event in selectors.events_after(run_id, after, limit)
    ]


def _last_seq_sync(run_id: int) -> int:
    return int(Run.objects.filter(pk=run_id).values_list("last_seq", flat=True).first() or 0)


def _read(func: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """Run a read-only query on the executor's threads, side by side with other sockets' reads
    instead of queueing behind them for Django's one thread-sensitive thread.

    The connection is given back inside the call: asgiref runs the function in a copy of the
    caller's context, where channels' ``database_sync_to_async`` cannot see (and so would never
    close) the connection it opened.
    """

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        finally:
            close_old_connections()

    return sync_to_async(run, thread_sensitive=False)


_find_run = _read(_find_run_sync)
_still_allowed = _read(_still_allowed_sync)
_log_after = _read(_log_after_sync)
_last_seq = _read(_last_seq_sync)


def _parse_after(query_string: bytes) -> tuple[int, str]:
    """The seq the page already has; malformed values replay everything, with a note."""
    raw = parse_qs(query_string.decode("latin-1")).get("after", ["0"])[0]
    try:
        after = int(raw)
    except ValueError:
        return 0, f"after={raw[:40]!r} is not a sequence number; replaying the whole run."
    if after < 0:
        return 0, "after must not be negative; replaying the whole run."
    return after, ""


class RunConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    run: Run
    sent: int
    acked: int
    lagging: bool

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()
            return
        run = await _find_run(user, int(self.scope["url_route"]["kwargs"]["run_id"]))
        if run is None:
            await self.close()
            return
        self.run = run
        self.user = user
        session = self.scope.get("session")
        self.session_key = getattr(session, "session_key", None)
        self.checked_at = time.monotonic()
        self.checking: asyncio.Task[None] | None = None
        self.revoked = False
        self.lock = asyncio.Lock()
        after, note = _parse_after(self.scope.get("query_string", b""))
        last = await _last_seq(run.pk)
        if after > last:
            after, note = 0, f"after={after} is beyond this run's log; replaying the whole run."
        self.sent = self.acked = after
        self.lagging = False
        self.heard_live = False
        self.renderer = acquire(run.pk)
        self.behind: RunRenderer | None = None
        # Join the group before reading the log: an event stored after the read is then
        # delivered live, and one stored before is in the read; duplicates are dropped by seq.
        self.joined = await self.join_groups()
        await self.accept()
        await self.send(
            text_data=socket_frame(
                "hello",
                run_id=run.pk,
                status=run.status,
                last_seq=last,
                after=after,
                live="true" if self.joined else "false",
            )
            + paused_note(self.joined)
        )
        if note:
            await self.error(note)
        await self.catch_up()
        self.ticker = asyncio.create_task(self.tick())

    def group_names(self) -> tuple[str, str]:
        # Not `groups`: channels' consumers join those on connect, before the access check.
        return run_group(self.run.pk), user_group(self.user.pk)

    async def join_groups(self) -> bool:
        """Join the run's and the user's groups; False while the channel layer is unreachable
        (the log alone serves the page meanwhile, and ``tick`` tries again)."""
        try:
            for group in self.group_names():
                await self.channel_layer.group_add(group, self.channel_name)
        except LAYER_ERRORS as error:
            log.info("run %s: channel layer unreachable (%s); serving the log", self.run.pk, error)
            return False
        # A group this process already listens to is joined without asking Redis, which may be
        # away: then the layer's reader is failing.
        return hears(self.channel_layer, self.group_names())

    async def disconnect(self, code: int) -> None:
        for task in (getattr(self, "ticker", None), getattr(self, "checking", None)):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if hasattr(self, "renderer"):
            release(self.run.pk)
        if hasattr(self, "run"):
            for group in self.group_names():
                # Redis away: its subscriptions went with it.
                with contextlib.suppress(*LAYER_ERRORS):
                    await self.channel_layer.group_discard(group, self.channel_name)

    # -- from the page -----------------------------------------------------------------------

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ack":
            seq = content.get("seq")
            if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
                await self.error("ack needs a seq >= 0.")
                return
            self.acked = max(self.acked, min(seq, self.sent))
            if self.lagging and self.sent - self.acked <= settings.RUNS_WS_WINDOW // 2:
                self.lagging = False
                await self.catch_up()
        elif kind == "backfill":
            after = content.get("after")
            if not isinstance(after, int) or isinstance(after, bool) or after < 0:
                await self.error("backfill needs after >= 0.")
                return
            async with self.lock:
                self.sent = min(self.sent, after)
                self.acked = min(self.acked, after)
            await self.catch_up()
        else:
            await self.error("Unknown message: send ack or backfill.")

    async def decode_json(self, text_data: str) -> Any:
        try:
            return await super().decode_json(text_data)
        except ValueError:
            return None  # receive_json answers with an error frame

    # -- from the group ----------------------------------------------------------------------

    async def run_event(self, message: RunEventPayload) -> None:
        await self.live([message])

    async def run_events(self, message: RunEventsPayload) -> None:
        await self.live(message["events"])

    async def live(self, payloads: list[RunEventPayload]) -> None:
        """Forward live events (in seq order) that continue what the page has."""
        if self.revoked:
            return
        self.heard_live = True
        self.recheck_if_due()
        async with self.lock:
            for payload in payloads:
                seq = payload["seq"]
                if seq <= self.sent:
                    continue  # a duplicate
                if self.lagging:
                    return  # the page is behind and will catch up from the log
                if seq != self.sent + 1 or self.sent - self.acked >= settings.RUNS_WS_WINDOW:
                    break
                await self.forward(payload)
            else:
                return
        await self.catch_up()  # the layer dropped something in between: read the gap

    async def session_ended(self, message: dict[str, Any]) -> None:
        await self.close(code=CLOSE_NO_ACCESS)

    # -- internals ---------------------------------------------------------------------------

    async def error(self, message: str) -> None:
        await self.send(text_data=socket_frame("error", message=message))

    async def forward(self, payload: RunEventPayload) -> None:
        await self.send(text_data=await self.frame(payload))
        self.sent = payload["seq"]

    async def frame(self, payload: RunEventPayload) -> str:
        """The event's frame, rendered by the first socket of this process that sends it."""
        seq = payload["seq"]
        async with self.renderer.lock:
            frame = self.renderer.cached(seq)
            if frame is not None:
                return frame
            if seq > self.renderer.last_seq:
                await self.fold_until(self.renderer, seq)
                return self.renderer.render(payload)
        # The shared renderer is past this event and no longer keeps its frame (a page far
        # behind): this socket folds the log on its own renderer.
        if self.behind is None or self.behind.last_seq >= seq:
            self.behind = RunRenderer(self.run.pk)
        await self.fold_until(self.behind, seq)
        return self.behind.render(payload)

    async def fold_until(self, renderer: RunRenderer, seq: int) -> None:
        """Fold the log's events before ``seq`` that ``renderer`` has not seen."""
        while renderer.last_seq < seq - 1:
            limit = min(PAGE, seq - 1 - renderer.last_seq)
            page = await _log_after(self.run.pk, renderer.last_seq, limit)
            if not page:
                raise RuntimeError(f"run {self.run.pk}: the log lacks events before {seq}")
            for payload in page:
                renderer.advance(payload)

    async def catch_up(self) -> None:
        """Send what the log has after ``sent``, within the window."""
        async with self.lock:
            while True:
                room = settings.RUNS_WS_WINDOW - (self.sent - self.acked)
                if room <= 0:
                    self.lagging = True
                    return
                page = await _log_after(self.run.pk, self.sent, min(room, PAGE))
                for payload in page:
                    if payload["seq"] != self.sent + 1:
                        return  # a hole in the log cannot happen; never skip over one
                    await self.forward(payload)
                if len(page) < min(room, PAGE):
                    return

    def recheck_if_due(self) -> None:
        """Start an access check beside the stream when the last one is RECHECK_SECONDS old."""
        due = time.monotonic() - self.checked_at >= RECHECK_SECONDS
        if due and self.checking is None and not self.revoked:
            self.checking = asyncio.create_task(self.recheck())

    async def recheck(self) -> None:
        try:
            allowed = await _still_allowed(self.user, self.run, self.session_key)
        except DatabaseError:
            # Access that cannot be confirmed is not granted: the page reconnects, and connect
            # checks again.
            log.warning("run %s: access check failed; closing the socket", self.run.pk)
            allowed, code = False, CLOSE_UNAVAILABLE
        else:
            code = CLOSE_NO_ACCESS
        finally:
            self.checking = None
        if allowed:
            self.checked_at = time.monotonic()
            return
        self.revoked = True
        await self.close(code=code)

    async def tick(self) -> None:
        """Notice lost access on a quiet stream, tell the page when the layer is lost and when it
        is back (joining the groups again), and read the log when no live event came since the
        last tick yet the log has more (the layer dropped the end of a burst, or is away: then
        every tick reads it)."""
        while not self.revoked:
            await asyncio.sleep(settings.RUNS_WS_SYNC_SECONDS)
            self.recheck_if_due()
            if self.joined and not hears(self.channel_layer, self.group_names()):
                self.joined = False
                await self.send(text_data=socket_frame("live", live="false") + paused_note(False))
            elif not self.joined and await self.join_groups():
                self.joined = True
                await self.send(text_data=socket_frame("live", live="true") + paused_note(True))
            heard, self.heard_live = self.heard_live, False
            if not heard and not self.lagging and await _last_seq(self.run.pk) > self.sent:
                await self.catch_up()
