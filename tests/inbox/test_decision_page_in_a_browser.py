"""The decision page in Chromium: what a real browser sends is what was approved, and a huge
interrupt value does not widen the page.

A browser submits textarea line breaks as CRLF and drops the newline that follows the opening
tag; the quotes in an option button's value go through HTML attribute escaping. These are the
places the console used to change what the operator approved, so they are driven for real here
(Daphne, relay worker, graph server), and the graph's own state is read afterwards.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from apps.inbox.records import sync_thread_interrupts
from apps.runs.models import Run
from switchboard import SyncClient
from tests.fixtures.browser import Shots
from tests.fixtures.inbox import pause_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LETTER = "\nDear Jane,\n\n  your refund is on its way.\n\nRegards\n"
RUN_TIMEOUT_S = 60


def _final_state(graph_client: SyncClient, thread_id: str) -> dict[str, Any]:
    """The thread's state once the relay worker's resume run has finished on the server."""
    assert Run.objects.filter(thread_id=thread_id).exists()
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        runs = graph_client.list_runs(thread_id)
        # A resume run still pending leaves the thread "interrupted", not "busy": wait for the
        # run itself to end, not for the thread to look idle.
        if len(runs) > 1 and all(run["status"] not in ("pending", "running") for run in runs):
            return dict(graph_client.get_thread_state(thread_id))
        time.sleep(0.2)
    raise AssertionError(f"the resume of {thread_id} did not finish in {RUN_TIMEOUT_S}s")


def test_an_untouched_letter_and_a_quoted_option_reach_the_graph_as_shown(
    shots: Shots, alice: Any, deployment_a: Any, graph_client: SyncClient
):
    letter = [
        {
            "action_request": {
                "action": "send_email",
                "args": {"to": "jane@example.com", "body": LETTER, "subject": "Refund"},
            },
            "config": {
                "allow_accept": True,
                "allow_edit": True,
                "allow_respond": False,
                "allow_ignore": False,
            },
            "description": "Send this email",
        }
    ]
    question = {"question": "Which tone?", "options": ['say "sorry"', "plain"]}
    p = pause_thread(graph_client, deployment_a, "echo_review", {"asks": [letter, question]})
    shots.can_log_in(alice)
    page = shots.open(alice)
    page.goto(f"{shots.base_url}{p.url}")
    legacy = next(r for r in p.rows if r.kind == "legacy")
    generic = next(r for r in p.rows if r.kind == "generic")

    page.check(f'input[name="i{legacy.pk}-a0-type"][value="edit"]')
    page.fill(f'[name="i{legacy.pk}-a0-arg-subject"]', "Your refund")
    page.click(f'button[data-fill="i{generic.pk}-json"] >> text=say "sorry"')
    assert json.loads(page.input_value(f'[name="i{generic.pk}-json"]')) == 'say "sorry"'
    page.click('button[name="step"][value="review"]')
    page.wait_for_selector("#edit-preview")
    shots.step(page, "preview")
    changed = page.locator("#edit-preview tbody tr").all_inner_texts()
    assert len(changed) == 1
    assert "subject" in changed[0]
    page.click('button[name="step"][value="confirm"]')
    page.wait_for_url("**/runs/*/", timeout=RUN_TIMEOUT_S * 1000)

    received = _final_state(graph_client, p.thread_id)["values"]["received"]
    answers = {json.dumps(v, sort_keys=True) for v in received.values()}
    sent = {
        "type": "edit",
        "args": {
            "action": "send_email",
            "args": {"to": "jane@example.com", "body": LETTER, "subject": "Your refund"},
        },
    }
    assert answers == {json.dumps([sent], sort_keys=True), json.dumps('say "sorry"')}


def test_a_200_kb_value_wraps_and_is_one_click_away(
    shots: Shots, alice: Any, deployment_a: Any, graph_client: SyncClient
):
    big = "x" * 200_000
    p = pause_thread(
        graph_client, deployment_a, "echo_review", {"asks": [{"question": "?", "blob": big}]}
    )
    sync_thread_interrupts(deployment_a, p.thread_id)
    shots.can_log_in(alice)
    page = shots.open(alice)
    page.goto(f"{shots.base_url}{p.url}")

    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    assert width <= viewport, f"the page is {width}px wide in a {viewport}px window"
    page.click("details.whole-value summary")
    shots.step(page, "whole value")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport
    whole = page.locator("details.whole-value pre").inner_text()
    assert big in whole
