"""F3, the pages' side: a page needs the database, not Redis, to show a run or the inbox count.

Daphne runs on a private Redis that the test stops. What a page needs is in the run's event log,
so a page opened (or reconnecting) during the outage is served from the log, reads it every
``RUNS_WS_SYNC_SECONDS`` (not every other tick) while the channel layer is away, and goes live
again when Redis returns. A page that was live when Redis went away is told so, as one opened
during the outage is. The inbox badge's socket, on every page, likewise opens with the count
and goes live again.
"""

from __future__ import annotations

import itertools
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import F
from websockets.sync.client import connect

from apps.deployments.models import Deployment
from apps.inbox.events import team_group
from apps.runs.events import event_payload, run_group
from apps.runs.models import Run, RunEvent
from dashboard.channel_layer import BoundedPubSubChannelLayer
from tests.faults.private_redis import PrivateRedis
from tests.fixtures.browser import Shots, serious_axe_violations
from tests.fixtures.frames import paused_note, pre_texts
from tests.fixtures.inbox import open_interrupt
from tests.fixtures.runs import create_run
from tests.fixtures.workers import PageReader, Process

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SYNC_MS = 1000  # the console's default RUNS_WS_SYNC_MS, set explicitly: the test measures it


def store(run: Run, data: Any) -> int:
    """Append one event to the run's log, as a relay storing through the outage does."""
    Run.objects.filter(pk=run.pk).update(last_seq=F("last_seq") + 1)
    seq = Run.objects.values_list("last_seq", flat=True).get(pk=run.pk)
    RunEvent.objects.create(run=run, seq=seq, event="custom", data=data)
    return int(seq)


def publish(redis_url: str, group: str, message: dict[str, Any]) -> None:
    """Send to a group on the private Redis, as a relay or the inbox sync does."""
    layer = BoundedPubSubChannelLayer(
        hosts=[{"address": redis_url}], prefix=f"{settings.REDIS_PREFIX}:ws:"
    )
    layer.send_to_groups([(group, message)])


def badge(count: object) -> str:
    return f'<span id="inbox-count" class="count" hx-swap-oob="true">{count}</span>'


@pytest.fixture
def daphne_on_private_redis(
    private_redis: PrivateRedis, start_daphne: Callable[..., tuple[Process, str]]
) -> str:
    _, url = start_daphne(env={"REDIS_URL": private_redis.url, "RUNS_WS_SYNC_MS": str(SYNC_MS)})
    return url


def test_a_page_opened_during_a_redis_outage_shows_the_run_from_the_log_and_goes_live_after(
    daphne_on_private_redis: str,
    private_redis: PrivateRedis,
    deployment_a: Deployment,
    bob: Any,
    ws_login: Callable[..., dict[str, str]],
):
    run = create_run(deployment_a, [("custom", {"n": n}) for n in range(1, 6)])
    private_redis.kill()

    page = PageReader(daphne_on_private_redis, run.pk, ws_login(bob))
    hello = page.read(timeout=30)
    assert (hello["type"], hello["live"], hello["last_seq"]) == ("hello", False, 5)
    # The page says so, as long as it lasts.
    assert paused_note(hello) == (
        f"Live updates paused: showing the saved log, read again every {SYNC_MS // 1000} s."
    )
    page.read_until(lambda frame: frame.get("seq") == 5, timeout=30)
    store(run, {"n": 6})  # the relay stores on through the outage
    page.read_until(lambda frame: frame.get("seq") == 6, timeout=30)

    private_redis.restart()
    page.read_until(lambda frame: frame["type"] == "live", timeout=30)
    assert paused_note(page.frames[-1]) == ""
    # Seq 7 is broadcast before it is stored: only the channel layer can bring it to the page.
    payload = event_payload(run.pk, 7, "custom", {"n": 7})
    publish(private_redis.url, run_group(run.pk), dict(payload))
    page.read_until(lambda frame: frame.get("seq") == 7, timeout=30)
    store(run, {"n": 7})
    page.close()

    assert [frame["seq"] for frame in page.events] == [1, 2, 3, 4, 5, 6, 7]
    assert pre_texts(page.events[-1]) == ['{\n  "n": 7\n}']


def test_a_live_page_that_loses_redis_says_live_updates_are_paused_and_goes_live_after(
    daphne_on_private_redis: str,
    private_redis: PrivateRedis,
    deployment_a: Deployment,
    bob: Any,
    ws_login: Callable[..., dict[str, str]],
):
    run = create_run(deployment_a, [("custom", {"n": n}) for n in range(1, 4)])
    page = PageReader(daphne_on_private_redis, run.pk, ws_login(bob))
    hello = page.read(timeout=30)
    assert (hello["type"], hello["live"], paused_note(hello)) == ("hello", True, "")
    page.read_until(lambda frame: frame.get("seq") == 3, timeout=30)
    # Broadcast before it is stored: only the channel layer can bring seq 4 to the page.
    publish(private_redis.url, run_group(run.pk), dict(event_payload(run.pk, 4, "custom", {})))
    page.read_until(lambda frame: frame.get("seq") == 4, timeout=30)
    store(run, {})

    private_redis.kill()
    page.read_until(lambda frame: frame["type"] == "live", timeout=30)
    assert page.frames[-1]["live"] is False
    assert paused_note(page.frames[-1]) == (
        f"Live updates paused: showing the saved log, read again every {SYNC_MS // 1000} s."
    )
    store(run, {"n": 5})  # the relay stores on through the outage: the page reads the log
    page.read_until(lambda frame: frame.get("seq") == 5, timeout=30)

    private_redis.restart()
    page.read_until(lambda frame: frame["type"] == "live", timeout=30)
    assert page.frames[-1]["live"] is True
    assert paused_note(page.frames[-1]) == ""
    publish(private_redis.url, run_group(run.pk), dict(event_payload(run.pk, 6, "custom", {})))
    page.read_until(lambda frame: frame.get("seq") == 6, timeout=30)
    store(run, {})
    page.close()

    assert [frame["seq"] for frame in page.events] == [1, 2, 3, 4, 5, 6]
    assert [frame["type"] for frame in page.frames if frame["type"] != "event"] == [
        "hello",
        "live",
        "live",
    ]


@pytest.fixture
def pages_on_private_redis(
    daphne_on_private_redis: str, _chromium: Any, tmp_path: Path
) -> Iterator[Shots]:
    """Chromium pages on the Daphne whose Redis the test stops."""
    shots = Shots(_chromium, daphne_on_private_redis, tmp_path)
    yield shots
    shots.close(failed=False)
    assert not shots.csp_violations


@pytest.mark.browser
def test_the_run_page_says_live_updates_are_paused_while_redis_is_away(
    pages_on_private_redis: Shots,
    private_redis: PrivateRedis,
    deployment_a: Deployment,
    bob: Any,
):
    run = create_run(deployment_a, [("custom", {"n": 1})])
    page = pages_on_private_redis.open(bob)
    private_redis.kill()

    page.goto(f"/runs/{run.pk}/")
    note = page.get_by_role("status").filter(has_text="Live updates paused")
    note.wait_for(state="visible")
    assert note.inner_text() == (
        f"Live updates paused: showing the saved log, read again every {SYNC_MS // 1000} s."
    )
    assert page.inner_text("#conn") == "paused"
    assert serious_axe_violations(page) == []

    private_redis.restart()
    page.locator("#live-paused").wait_for(state="hidden")
    assert page.inner_text("#live-paused") == ""
    assert page.inner_text("#conn") == "live"


@pytest.mark.browser
def test_a_live_run_page_says_live_updates_are_paused_when_redis_goes_away(
    pages_on_private_redis: Shots,
    private_redis: PrivateRedis,
    deployment_a: Deployment,
    bob: Any,
):
    run = create_run(deployment_a, [("custom", {"n": 1})])
    page = pages_on_private_redis.open(bob)
    page.goto(f"/runs/{run.pk}/")
    page.locator("#conn[data-state='live']").wait_for()
    assert page.inner_text("#conn") == "live"

    private_redis.kill()
    note = page.get_by_role("status").filter(has_text="Live updates paused")
    note.wait_for(state="visible")
    assert page.inner_text("#conn") == "paused"

    private_redis.restart()
    page.locator("#live-paused").wait_for(state="hidden")
    assert page.inner_text("#conn") == "live"


def test_without_redis_the_log_is_read_every_sync_interval(
    daphne_on_private_redis: str,
    private_redis: PrivateRedis,
    deployment_a: Deployment,
    bob: Any,
    ws_login: Callable[..., dict[str, str]],
):
    run = create_run(deployment_a, [("custom", {"n": 0})])
    page = PageReader(daphne_on_private_redis, run.pk, ws_login(bob), after=1)
    hello = page.read(timeout=30)
    assert (hello["type"], hello["live"], paused_note(hello)) == ("hello", True, "")
    private_redis.kill()

    count, every = 80, 0.1  # 8 s of events, 10 a second, stored while Redis is away
    arrivals: list[tuple[float, int]] = []

    def read() -> None:
        while not arrivals or arrivals[-1][1] < count + 1:
            frame = page.read(timeout=30)
            if frame["type"] == "event":
                arrivals.append((time.monotonic(), frame["seq"]))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    for n in range(count):
        store(run, {"n": n + 1})
        time.sleep(every)
    connection.close()
    reader.join(30)
    page.close()

    assert [seq for _, seq in arrivals] == list(range(2, count + 2))
    # Events read by one poll arrive together; polls are a sync interval apart.
    polls = [arrivals[0][0]] + [
        at for (before, _), (at, _) in itertools.pairwise(arrivals) if at - before > 0.3
    ]
    gaps = [later - earlier for earlier, later in itertools.pairwise(polls)]
    assert statistics.median(gaps) < 1.5 * SYNC_MS / 1000, (
        f"the log was read every {statistics.median(gaps):.2f} s (median) instead of every "
        f"{SYNC_MS / 1000:.1f} s: polls at {[round(at - polls[0], 2) for at in polls]}"
    )


def test_an_inbox_badge_opened_during_a_redis_outage_shows_the_count_and_goes_live_after(
    daphne_on_private_redis: str,
    private_redis: PrivateRedis,
    deployment_a: Deployment,
    bob: Any,
    ws_login: Callable[..., dict[str, str]],
):
    private_redis.kill()
    url = daphne_on_private_redis.replace("http://", "ws://") + "/ws/inbox/"
    # A page's socket comes from the page: its Origin is the console's own.
    headers = ws_login(bob, origin=daphne_on_private_redis)
    with connect(url, additional_headers=headers, open_timeout=30) as socket:
        assert str(socket.recv(timeout=30)).strip() == badge("")

        private_redis.restart()
        # Joined again: the socket sends the count once more, having heard nothing meanwhile.
        assert str(socket.recv(timeout=30)).strip() == badge("")
        open_interrupt(deployment_a, "00000000-0000-4000-8000-000000000001")
        changed = {"type": "inbox.changed", "team_id": deployment_a.team_id}
        publish(private_redis.url, team_group(deployment_a.team_id), changed)
        assert str(socket.recv(timeout=30)).strip() == badge(1)


def test_an_inbox_badge_that_was_live_when_redis_went_away_recounts_when_it_is_back(
    daphne_on_private_redis: str,
    private_redis: PrivateRedis,
    deployment_a: Deployment,
    bob: Any,
    ws_login: Callable[..., dict[str, str]],
):
    url = daphne_on_private_redis.replace("http://", "ws://") + "/ws/inbox/"
    headers = ws_login(bob, origin=daphne_on_private_redis)
    with connect(url, additional_headers=headers, open_timeout=30) as socket:
        assert str(socket.recv(timeout=30)).strip() == badge("")

        private_redis.kill()
        # The inbox changes during the outage: the message saying so cannot reach the socket.
        open_interrupt(deployment_a, "00000000-0000-4000-8000-000000000002")
        time.sleep(5)  # a few re-checks with Redis away: the socket must notice it is not heard
        private_redis.restart()

        # Nobody publishes anything: the socket recounts by itself once it hears again.
        assert str(socket.recv(timeout=30)).strip() == badge(1)
