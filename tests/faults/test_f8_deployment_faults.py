"""F8: the deployment down, answering 500s, or hanging.

Every page that reads a deployment answers with a sentence the operator can act on, and answers
within its timeout (``DEPLOYMENT_TIMEOUT``) plus a margin, while the hanging deployment still has
not answered: no request thread waits on a deployment past that. The timeout is 1 s against a
hanging deployment; against one that is down or answers 500 it is 4 s, just above the SDK's
three retries with backoff (0.5 + 1 + 2 s): a shorter budget would run out while the SDK still
retries, and the page could only say "slow" where the truth is "down" or "server error". A run started on such a
deployment ends ``failed`` with the reason, after a bounded number of attempts, and leaves no
lease or queued row behind.

The deadline checks below are the requirement itself (a request thread's wait is bounded), with a
margin of several seconds for a loaded 2-core CI machine, not performance measurements.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.deployments.models import Deployment
from apps.runs.models import Run
from tests.faults.fault_server import FaultServer, fault_server
from tests.fixtures.runs import create_run

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TIMEOUT = {"down": 4, "500": 4, "hang": 1}
# Past the timeout, what a request may still spend (rendering, the SDK's connect step).
MARGIN = 3.0
MODES = ["down", "500", "hang"]
# What the page must say, per fault, in the operator's words (any one of them).
SAYS = {
    "down": ("could not reach", "looks down", "connection", "unreachable", "refused"),
    "500": ("server error", "500"),
    "hang": ("did not answer", "in time", "timed out", "timeout", "slow"),
}


@pytest.fixture(params=MODES)
def faulty(request: pytest.FixtureRequest, settings: Any) -> Iterator[FaultServer]:
    settings.DEPLOYMENT_TIMEOUT = TIMEOUT[request.param]
    settings.RUNS_MAX_RECONNECTS = 1
    with fault_server(request.param) as server:
        yield server


@pytest.fixture
def broken(faulty: FaultServer, team_a: Any) -> Deployment:
    return Deployment.objects.create(team=team_a, name="Broken deployment", url=faulty.url)


def _says_what_went_wrong(mode: str, html: str) -> bool:
    text = html.lower()
    return any(phrase in text for phrase in SAYS[mode])


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = fn()
    return result, time.monotonic() - started


PAGES: dict[str, Callable[[Deployment, uuid.UUID], tuple[str, str, dict[str, str]]]] = {
    "thread detail": lambda d, t: ("get", f"/threads/{d.pk}/{t}/", {}),
    "start-run form": lambda d, t: (
        "get",
        f"/runs/new/?deployment={d.pk}&thread={t}&assistant_id=support_agent",
        {},
    ),
    "inbox decision page": lambda d, t: ("get", f"/inbox/{d.pk}/{t}/", {}),
    "index refresh": lambda d, t: ("post", f"/threads/sync/{d.pk}/", {}),
    "test connection": lambda d, t: ("post", f"/deployments/{d.pk}/test/", {}),
}


@pytest.mark.parametrize("page", PAGES)
def test_a_page_reading_a_broken_deployment_says_why_within_its_timeout(
    page: str, faulty: FaultServer, broken: Deployment, alice: User
):
    client = Client()
    client.force_login(alice)
    method, url, data = PAGES[page](broken, uuid.uuid4())

    response, took = _timed(lambda: getattr(client, method)(url, data, follow=True))

    # A crash (500) is not an answer; 502/503/504 with the reason are.
    assert response.status_code in (200, 400, 502, 503, 504), (
        f"{page}: {response.status_code} with the deployment {faulty.mode}"
    )
    html = response.content.decode()
    assert _says_what_went_wrong(faulty.mode, html), (
        f"{page} with the deployment {faulty.mode} does not say so: expected one of "
        f"{SAYS[faulty.mode]} in the page"
    )
    timeout = TIMEOUT[faulty.mode]
    assert took <= timeout + MARGIN, (
        f"{page} held its request thread {took:.1f} s on a deployment that is {faulty.mode} "
        f"(timeout {timeout} s; {len(faulty.seen)} requests reached the deployment)"
    )


def _relay_in_background(run: Run) -> tuple[threading.Thread, list[str]]:
    from apps.runs.relay import relay

    outcome: list[str] = []
    thread = threading.Thread(target=lambda: outcome.append(relay(run.pk)), daemon=True)
    thread.start()
    return thread, outcome


def test_a_run_on_a_broken_deployment_fails_cleanly_after_bounded_attempts(
    faulty: FaultServer, broken: Deployment, alice: User, settings: Any
):
    run = create_run(
        broken, status="queued", assistant_id="support_agent", thread_id=str(uuid.uuid4())
    )

    worker, outcome = _relay_in_background(run)
    worker.join(60)
    if worker.is_alive():
        faulty.release()
        worker.join(30)
        pytest.fail(f"the relay was still waiting on a deployment that is {faulty.mode} after 60 s")

    run.refresh_from_db()
    assert outcome == ["failed"]
    assert run.status == "failed"
    assert run.lease_owner == ""
    assert run.finished_at is not None
    assert run.error, "the run failed without saying why"
    creations = len(faulty.requests("POST", "/runs"))
    if faulty.mode == "down":
        assert creations == 0, "a deployment that refuses connections cannot have seen a request"
    else:
        assert 1 <= creations <= settings.RUNS_MAX_RECONNECTS + 1, f"{creations} run creations"
    assert len(faulty.seen) <= 4 * (settings.RUNS_MAX_RECONNECTS + 1) * 4, (
        f"unbounded retries: {len(faulty.seen)} requests"
    )
    # The end is in the log exactly once, and the page shows the reason.
    assert run.events.filter(event="switchboard/end").count() == 1
    client = Client()
    client.force_login(alice)
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert "Failed" in page
    assert run.error.split(":")[0] in page
