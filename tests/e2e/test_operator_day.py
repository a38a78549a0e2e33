"""The operator's day, in Chromium at 1280 px and at 390 px (a phone).

alice logs in, opens the inbox, opens a refund waiting for her and accepts it, and watches the
run finish; the metrics count her decision; she starts a run from the form on each demo graph and sees it succeed or stop at its
interrupt; she opens its thread and its run page. At every step the page must be no wider than
the screen (``document.documentElement.scrollWidth <= innerWidth``) and have no serious or
critical axe-core violation; every step leaves a screenshot under
``test-output/screenshots/<test>/``.

Each step is one function taking the ``Journey``: a new step (claiming from the inbox, deciding
by keyboard, a bulk decision of three of five items, the Decide button on the run page) is one
more function, called from the test where it belongs in the day.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User

from apps.deployments.models import Deployment
from tests.fixtures.browser import DESKTOP, PHONE, Shots, layout_problems
from tests.fixtures.inbox import REFUND, SUPPORT, Paused

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

RUN_TIMEOUT_MS = 60_000
# What each demo graph is started with from the form, and how its run ends.
DEMO_RUNS: dict[str, tuple[dict[str, Any], str]] = {
    "refund_approval": (REFUND, "Interrupted"),
    "support_agent": (SUPPORT, "Interrupted"),
    "parallel_review": ({}, "Interrupted"),
    "chatty": ({"chunks": 5, "rate": 0}, "Succeeded"),
    "flaky": ({}, "Succeeded"),
}


@dataclass
class Journey:
    """One operator's browser at one screen width, and the checks every step ends with."""

    shots: Shots
    page: Any
    width: int
    user: User
    deployment: Deployment

    def check(self, step: str) -> None:
        """The page as the step left it: a screenshot, then its width and its accessibility."""
        shot = self.shots.step(self.page, f"{self.width}px {step}")
        problems = layout_problems(self.page)
        assert not problems, (
            f"{step} at {self.width} px ({self.page.url}):\n"
            + "\n".join(problems)
            + f"\nscreenshot: {shot}"
        )

    def wait_for_run_status(self, *labels: str) -> str:
        self.page.wait_for_function(
            "labels => labels.includes(document.getElementById('run-status')?.textContent.trim())",
            arg=list(labels),
            timeout=RUN_TIMEOUT_MS,
        )
        return str(self.page.inner_text("#run-status")).strip()


@pytest.fixture(params=[DESKTOP, PHONE], ids=["1280px", "390px"])
def journey(
    request: pytest.FixtureRequest, shots: Shots, alice: User, deployment_a: Deployment
) -> Journey:
    shots.can_log_in(alice)
    viewport: dict[str, int] = request.param
    return Journey(shots, shots.open(viewport=viewport), viewport["width"], alice, deployment_a)


# -- the steps -------------------------------------------------------------------------------


def log_in(j: Journey) -> None:
    j.page.goto("/")
    j.page.wait_for_url(re.compile(r"/accounts/login/"))
    j.check("login form")
    j.page.fill("#id_username", j.user.get_username())
    j.page.fill("#id_password", "password")
    j.page.click("form[action='/accounts/login/'] button[type=submit]")
    j.page.wait_for_selector(".usermenu .who")
    j.check("first page")


def open_inbox(j: Journey) -> None:
    j.page.click("nav.mainnav a[href='/inbox/']")
    j.page.wait_for_url(re.compile(r"/inbox/$"))
    j.check("inbox")


def open_item(j: Journey, item: Paused) -> None:
    row = j.page.locator(f"#interrupt-{item.row.pk}")
    row.locator("a", has_text="Decide").click()
    j.page.wait_for_url(re.compile(re.escape(item.url)))
    j.check(f"decision page of {item.row.graph_id}")


def accept_refund(j: Journey) -> None:
    """On the refund's decision page: accept as is, and watch the run resume to its end."""
    j.page.locator(".action-card input[type=radio][value=accept]").check()
    j.page.click("#decision-form button[name=step][value=review]")
    j.page.wait_for_url(re.compile(r"/runs/\d+/$|#edit-preview|/inbox/"))
    if j.page.locator("#edit-preview").count():
        j.page.click("#edit-preview button[name=step][value=confirm]")
    j.page.wait_for_url(re.compile(r"/runs/\d+/$"))
    assert j.wait_for_run_status("Succeeded") == "Succeeded"
    j.check("the accepted refund's run, finished")


def open_metrics(j: Journey) -> None:
    """The inbox metrics, with the decision just made in its charts."""
    j.page.goto("/workflow/metrics/")
    j.page.locator("#m-decisions b", has_text="1").wait_for()
    j.check("inbox metrics")


def start_run(j: Journey, graph: str) -> None:
    """Start ``graph`` from the form on a new thread, and see it end as the demo graph does."""
    payload, ending = DEMO_RUNS[graph]
    j.page.goto(f"/runs/new/?deployment={j.deployment.pk}&assistant={graph}")
    j.check(f"start-run form for {graph}")
    j.page.fill("#id_assistant_id", graph)
    j.page.fill("#id_input", json.dumps(payload))
    j.page.click("#start-run-form button[type=submit]")
    j.page.wait_for_url(re.compile(r"/runs/\d+/$"))
    assert j.wait_for_run_status("Succeeded", "Interrupted", "Failed") == ending
    j.check(f"run of {graph}, {ending.lower()}")


def open_thread_of_run(j: Journey) -> None:
    """From a run's page to its thread, and back to the run."""
    run_url = j.page.url
    j.page.locator("main a[href^='/threads/']").first.click()
    j.page.wait_for_url(re.compile(r"/threads/\d+/[^/]+/$"))
    j.check("thread of the run")
    j.page.goto(run_url)
    j.page.wait_for_selector("#run-status")
    j.check("run page")


# -- the day ---------------------------------------------------------------------------------


def test_an_operators_day_fits_the_screen_and_passes_axe(
    journey: Journey, paused: Callable[..., Paused]
):
    refund = paused("refund_approval", REFUND)
    log_in(journey)
    open_inbox(journey)
    open_item(journey, refund)
    accept_refund(journey)
    open_metrics(journey)
    for graph in DEMO_RUNS:
        start_run(journey, graph)
    open_thread_of_run(journey)
