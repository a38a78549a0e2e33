"""Triage in a real browser (Chromium, Daphne, the inbox websocket, the graph server): a new
interrupt appears in the open list by itself, an item is claimed in place and a colleague's
open list shows who holds it, and the keyboard moves through the items (j / k),
opens one (Enter), and opens one with a decision chosen (a), with the focus visible."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User

from tests.fixtures.browser import Shots
from tests.fixtures.inbox import REFUND

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _current_row(page: Any) -> str:
    return str(page.evaluate("document.activeElement && document.activeElement.id"))


def test_the_list_updates_live_claims_in_place_and_is_triaged_by_keyboard(
    shots: Shots, oscar: User, alice: User, paused: Any
):
    first = paused("refund_approval", REFUND)
    second = paused("refund_approval", {**REFUND, "customer": "Globex"})
    page = shots.open(oscar)
    page.goto("/inbox/")
    page.wait_for_selector(f"#interrupt-{second.row.pk}")
    # The socket is open once the badge shows the count it sends on connect.
    page.wait_for_function("document.getElementById('inbox-count').textContent.trim() === '2'")
    shots.step(page, "inbox with two items")

    third = paused("refund_approval", {**REFUND, "customer": "Initech"})

    page.wait_for_selector(f"#interrupt-{third.row.pk}")
    assert "Initech" in page.inner_text(f"#interrupt-{third.row.pk}")
    shots.step(page, "a new item arrived live")

    colleague = shots.open(alice)
    colleague.goto("/inbox/")
    colleague.wait_for_selector(f"#claim-cell-{first.row.pk} >> text=Unclaimed")

    page.click(f"#claim-cell-{first.row.pk} button[type=submit]")
    page.wait_for_selector(f"#claim-cell-{first.row.pk} >> text=Release")
    assert "You" in page.inner_text(f"#claim-cell-{first.row.pk}")
    assert page.is_visible(f"#interrupt-{third.row.pk}")  # the rest of the list stays
    shots.step(page, "claimed from the list")
    # The colleague's open list shows the holder by itself.
    colleague.wait_for_selector(f"#claim-cell-{first.row.pk} >> text=oscar")
    shots.step(colleague, "the colleague sees who holds it")

    page.keyboard.press("j")
    assert _current_row(page) == f"interrupt-{first.row.pk}"
    page.keyboard.press("j")
    assert _current_row(page) == f"interrupt-{second.row.pk}"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("k")
    assert _current_row(page) == f"interrupt-{first.row.pk}"
    page.keyboard.press("?")
    assert page.is_visible("#inbox-keys-help")
    shots.step(page, "keyboard focus and help")
    page.keyboard.press("?")

    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/inbox/\d+/{first.thread_id}/"))
    shots.step(page, "opened with Enter")

    page.goto("/inbox/")
    page.wait_for_selector(f"#interrupt-{second.row.pk}")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("a")

    page.wait_for_url(re.compile(rf"/inbox/\d+/{second.thread_id}/\?choose=accept"))
    page.wait_for_function(
        "document.querySelector('input[type=radio][value=accept]')?.checked === true"
    )
    shots.step(page, "opened with accept chosen")
