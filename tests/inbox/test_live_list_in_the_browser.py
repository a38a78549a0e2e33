"""The open inbox list never loses an update (Chromium, Daphne, the inbox socket, the graph
server). Each test holds one of the list's own refetches on the wire after the server has
answered it, as a slow network would, and lets changes and their socket messages land
meanwhile: interrupts and claims that arrive in a burst while the list is fetching all show once
it is released, and a claim made in the list is not undone by the stale answer. The selection
bar and the bulk page say how many items are ticked."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.fixtures.browser import STEP_TIMEOUT_MS, Remote, Shots
from tests.fixtures.inbox import REFUND

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# The list's own refetches: GET /inbox/ (with its filters) aimed at the results section.
LIST_URL = re.compile(r"/inbox/(\?.*)?$")
COUNT_MESSAGES = """() => {
  window.inboxMessages = 0;
  document.body.addEventListener('htmx:wsAfterMessage', () => { window.inboxMessages += 1; });
}"""


class HeldRefetch:
    """Holds the first refetch of the list the page makes once ``hold`` is called: the server
    answers it at once (the answer is as old as the request), the page gets it on ``release``."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.answered = threading.Event()
        self.route: Any = None
        self.response: Any = None
        self.released = False
        self.more_while_held = 0
        page.route(LIST_URL, self._handle)

    def _handle(self, route: Any, request: Any) -> None:
        # Runs in the Playwright thread, which must not block: the route is kept, not waited on.
        refetch = request.headers.get("hx-target") == "inbox-results"
        if refetch and self.route is None:
            self.response = route.fetch()
            self.route = route
            self.answered.set()
            return
        if refetch and not self.released:
            self.more_while_held += 1
        route.continue_()

    def wait_until_answered(self) -> None:
        # The route handler runs only while the Playwright thread serves a call: poll through it.
        deadline = time.monotonic() + STEP_TIMEOUT_MS / 1000
        while not self.answered.is_set():
            assert time.monotonic() < deadline, "the list did not refetch"
            self.page.wait_for_timeout(50)

    def release(self) -> None:
        self.released = True
        runner = object.__getattribute__(self.page, "_runner")
        Remote(runner, self.route).fulfill(response=self.response)


def _open_inbox(shots: Shots, user: User, count: int) -> Any:
    page = shots.open(user)
    page.goto("/inbox/")
    # The socket is open once the badge shows the count it sends on connect; that message makes
    # the list refetch once, which the rows' presence below waits out.
    page.wait_for_function(
        f"() => document.getElementById('inbox-count').textContent.trim() === '{count}'"
    )
    page.evaluate(COUNT_MESSAGES)
    return page


def _claim_as(user: User, pk: int) -> None:
    client = Client()
    client.force_login(user)
    assert client.post(f"/workflow/items/{pk}/claim/").status_code in (200, 302)


def test_interrupts_arriving_in_a_burst_while_the_list_fetches_all_appear(
    shots: Shots, oscar: User, paused: Any
):
    first = paused("refund_approval", REFUND)
    page = _open_inbox(shots, oscar, 1)
    page.wait_for_selector(f"#interrupt-{first.row.pk}")
    held = HeldRefetch(page)

    second = paused("refund_approval", {**REFUND, "customer": "Globex"})
    held.wait_until_answered()  # the page fetches because of the second item; the answer waits
    burst = [paused("refund_approval", {**REFUND, "customer": c}) for c in ("Initech", "Umbrella")]
    # Both messages reached the page while its fetch was still under way.
    page.wait_for_function(
        "() => document.getElementById('inbox-count').textContent.trim() === '4'"
    )
    assert held.more_while_held == 0  # messages during a fetch wait for it to end
    held.release()

    for item in (second, *burst):
        page.wait_for_selector(f"#interrupt-{item.row.pk}")
    assert "Umbrella" in page.inner_text(f"#interrupt-{burst[1].row.pk}")
    shots.step(page, "every item of the burst listed")


def test_claims_arriving_in_a_burst_while_the_list_fetches_all_show_their_holder(
    shots: Shots, oscar: User, alice: User, paused: Any
):
    items = [paused("refund_approval", {**REFUND, "customer": c}) for c in ("A", "B", "C")]
    page = _open_inbox(shots, oscar, 3)
    for item in items:
        page.wait_for_selector(f"#claim-cell-{item.row.pk} >> text=Unclaimed")
    held = HeldRefetch(page)

    _claim_as(alice, items[0].row.pk)
    held.wait_until_answered()
    _claim_as(alice, items[1].row.pk)
    _claim_as(alice, items[2].row.pk)
    page.wait_for_function("() => window.inboxMessages >= 3")
    held.release()

    for item in items:
        page.wait_for_selector(f"#claim-cell-{item.row.pk} >> text=alice")
    shots.step(page, "every claim of the burst shows its holder")


def test_a_claim_made_in_the_list_is_not_undone_by_an_answer_older_than_it(
    shots: Shots, oscar: User, alice: User, paused: Any
):
    mine, theirs, later = (
        paused("refund_approval", {**REFUND, "customer": c}) for c in ("Mine", "Theirs", "Later")
    )
    page = _open_inbox(shots, oscar, 3)
    cell = f"#claim-cell-{mine.row.pk}"
    page.wait_for_selector(f"{cell} >> text=Unclaimed")
    page.evaluate(
        """cell => {
          window.sawUnclaimedAgain = false;
          new MutationObserver(() => {
            const el = document.querySelector(cell);
            if (window.claimedInList && el && el.textContent.includes('Unclaimed')) window.sawUnclaimedAgain = true;
          }).observe(document.body, { childList: true, subtree: true, characterData: true });
        }""",
        cell,
    )
    held = HeldRefetch(page)

    _claim_as(alice, theirs.row.pk)
    held.wait_until_answered()  # this answer shows "mine" unclaimed
    page.click(f"{cell} button[type=submit]")
    page.wait_for_selector(f"{cell} >> text=Release")
    page.evaluate("window.claimedInList = true")
    page.wait_for_function("() => window.inboxMessages >= 2")  # alice's claim, then oscar's
    held.release()

    # One more change, and the list shows it: every answer before it has been dealt with.
    _claim_as(alice, later.row.pk)
    page.wait_for_selector(f"#claim-cell-{later.row.pk} >> text=alice")
    assert "You" in page.inner_text(cell)
    assert "alice" in page.inner_text(f"#claim-cell-{theirs.row.pk}")
    assert page.evaluate("window.sawUnclaimedAgain") is False
    shots.step(page, "the claim stayed")


def test_the_selection_bar_and_the_bulk_page_say_how_many_items_are_ticked(
    shots: Shots, oscar: User, paused: Any
):
    items = [paused("refund_approval", {**REFUND, "customer": c}) for c in ("A", "B", "C")]
    page = _open_inbox(shots, oscar, 3)
    count = "#inbox-selection [data-selection-count]"
    for item in items:
        page.wait_for_selector(f"#interrupt-{item.row.pk}")
    page.wait_for_selector(f"{count} >> text=0 selected")

    boxes = [f"#pick-{item.row.pk}" for item in items]
    page.check(boxes[0])
    page.check(boxes[1])
    page.wait_for_selector(f"{count} >> text=2 selected")
    page.uncheck(boxes[0])
    page.wait_for_selector(f"{count} >> text=1 selected")
    page.check(boxes[2])
    page.wait_for_selector(f"{count} >> text=2 selected")

    late = paused("refund_approval", {**REFUND, "customer": "Late"})
    page.wait_for_selector(f"#interrupt-{late.row.pk}")
    assert page.inner_text(count).strip() == "2 selected"  # the ticks and the count survive
    shots.step(page, "two selected")

    page.click("#inbox-selection button[data-selection-submit]")
    page.wait_for_url(re.compile(r"/workflow/bulk/\?"))
    bulk_count = "[data-selection-count=bulk-decide]"
    assert page.inner_text(bulk_count).strip() == "2 selected"
    page.uncheck(f"#bulk-item-{items[2].row.pk} input[type=checkbox][name=item]")
    page.wait_for_selector(f"{bulk_count} >> text=1 selected")
    shots.step(page, "bulk page, one selected")
