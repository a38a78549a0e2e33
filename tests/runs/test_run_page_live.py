"""The run page in Chromium: events stream in as the server's partials, a reload mid-run shows
each event once, and the Decide button appears when the run stops at an interrupt.

The deterministic tests play the relay's part (store each event in the log, then broadcast it
on the real Redis channel layer to the real Daphne); one test follows a real run of the real
graph server through a real relay worker."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import F

from apps.runs.events import RunEvents, event_payload
from apps.runs.models import Run, RunEvent, Status
from tests.fixtures.runs import create_run
from tests.fixtures.workers import start_chatty

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PANELS = [
    "messages",
    "steps",
    "custom",
    "errors",
    "values",
    "run-status",
    "end-text",
    "event-count",
]
# The panels' markup, as htmx leaves it (settling can leave an empty class attribute behind).
MARKUP = (
    """ids => ids.map(id => document.getElementById(id).outerHTML.replaceAll(' class=""', ''))"""
)
RUN_TIMEOUT_MS = 60_000


def _chunk(text: str) -> tuple[str, Any]:
    return ("messages", [{"type": "AIMessageChunk", "id": "reply", "content": text}, {}])


def relay(run: Run, events: list[tuple[str, Any]]) -> None:
    """What a relay does with a batch: store it in the log, then broadcast it."""
    payloads = []
    for event, data in events:
        Run.objects.filter(pk=run.pk).update(last_seq=F("last_seq") + 1)
        seq = Run.objects.values_list("last_seq", flat=True).get(pk=run.pk)
        RunEvent.objects.create(run=run, seq=seq, event=event, data=data)
        payloads.append(event_payload(run.pk, seq, event, data))
    RunEvents.broadcast_runs([payloads])


def wait_for_count(page: Any, count: int) -> None:
    page.wait_for_function(
        "n => document.getElementById('event-count').textContent === String(n)",
        arg=count,
        timeout=RUN_TIMEOUT_MS,
    )


def wait_until_live(page: Any) -> None:
    page.wait_for_function("() => document.getElementById('conn').dataset.state === 'live'")


def markup(page: Any) -> list[str]:
    return list(page.evaluate(MARKUP, PANELS))


def test_a_page_reloaded_mid_run_shows_each_event_once_and_reads_as_the_log(
    shots, alice, deployment_a
):
    run = create_run(deployment_a, [("metadata", {"run_id": "up-1"}), _chunk("Hello")])
    page = shots.open(alice)
    page.goto(f"/runs/{run.pk}/")
    wait_until_live(page)
    relay(run, [_chunk(", <b>world</b>"), ("updates", {"agent": {"n": 1}}), _chunk("\nand")])
    relay(run, [("custom", {"progress": "half"})])
    wait_for_count(page, 6)
    page.reload()
    wait_until_live(page)
    relay(run, [_chunk(" more"), ("updates", {"agent": {"n": 2}}), ("values", {"n": 2})])
    relay(run, [("error", {"error": "Oops", "message": "<i>bad</i>"})])
    Run.objects.filter(pk=run.pk).update(status=Status.FAILED)
    relay(run, [("switchboard/end", {"status": "failed", "error": "it failed"})])
    wait_for_count(page, 11)

    entries = page.evaluate(
        "() => [...document.querySelectorAll('#run li[data-seq]')].map(e => e.dataset.seq)"
    )
    assert entries == ["4", "8", "6", "10"]  # steps, custom events, errors: each once
    assert page.inner_text("#msg-run-0 .msg-text") == "Hello, <b>world</b>\nand more"
    assert page.inner_text("#run-status") == "Failed"
    assert page.locator("#errors-panel").is_visible()
    assert page.locator("#cancel-form").is_hidden()
    page.wait_for_function("() => document.getElementById('conn').textContent === 'complete'")
    live = markup(page)
    page.reload()
    assert markup(page) == live


def test_the_decide_button_appears_when_the_run_stops_at_an_interrupt(shots, oscar, deployment_a):
    run = create_run(deployment_a, [("metadata", {"run_id": "up-1"})])
    page = shots.open(oscar)
    page.goto(f"/runs/{run.pk}/")
    wait_until_live(page)
    assert page.locator("#decide").is_hidden()
    assert page.locator("#cancel-form").is_visible()
    Run.objects.filter(pk=run.pk).update(status=Status.INTERRUPTED)
    relay(
        run,
        [
            ("updates", {"__interrupt__": [{"value": {"question": "Refund 120 USD?"}}]}),
            ("switchboard/end", {"status": "interrupted"}),
        ],
    )
    decide = page.get_by_role("link", name="Decide")
    decide.wait_for(state="visible")
    assert page.locator("#cancel-form").is_hidden()
    assert page.inner_text("#run-status") == "Interrupted"
    assert "Refund 120 USD?" in page.inner_text("#steps")
    live = markup(page)
    page.reload()
    assert markup(page) == live


def test_a_real_run_streams_into_the_page_and_ends_as_its_log_reads(shots, oscar, deployment_a):
    run = start_chatty(oscar, deployment_a, chunks=40, rate=20)
    page = shots.open(oscar)
    page.goto(f"/runs/{run.pk}/")
    page.wait_for_function(
        "() => document.getElementById('run-status').textContent === 'Succeeded'",
        timeout=RUN_TIMEOUT_MS,
    )
    run.refresh_from_db()
    wait_for_count(page, run.last_seq)
    live = markup(page)
    page.reload()
    assert markup(page) == live
