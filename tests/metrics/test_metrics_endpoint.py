"""GET /metrics: the console's figures for its operators, scraped through the real stack.

A relay worker and Daphne (with a ``METRICS_TOKEN``) on the test database and Redis; a real
``chatty`` run on the demo graph server watched by a page, and a real interrupt in the inbox. The
figures come from the database and Redis, so what Daphne serves must count what the relay
worker (another process) stored and broadcast.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from apps.deployments.models import Deployment
from apps.runs.models import Run
from apps.runs.retention import prune_event_logs
from apps.threads.models import PollState
from tests.fixtures.inbox import REFUND, Paused
from tests.fixtures.runs import create_run
from tests.fixtures.workers import PageReader, Process, start_chatty

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "scrape-me-0123456789"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str, token: str = TOKEN) -> Samples:
    response = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


@pytest.fixture
def console(
    start_daphne: Callable[..., tuple[Process, str]],
    start_relay_worker: Callable[..., Process],
) -> str:
    start_relay_worker(concurrency=4)
    _, url = start_daphne(env={"METRICS_TOKEN": TOKEN})
    return url


def test_a_scrape_counts_what_the_relay_stored_and_broadcast_and_what_awaits_a_human(
    console: str,
    oscar: User,
    deployment_a: Deployment,
    paused: Callable[..., Paused],
    ws_login: Callable[..., dict[str, str]],
):
    before = scrape(console)
    broadcast_before = value(before, "switchboard_run_events_broadcast_total") or 0.0
    assert value(before, "switchboard_relays_active") == 0

    run = start_chatty(oscar, deployment_a, chunks=60, rate=20)
    page = PageReader(console, run.pk, ws_login(oscar))
    page.read_until(lambda frame: frame.get("seq") == 5)
    during = scrape(console)
    assert value(during, "switchboard_relays_active") == 1
    assert value(during, "switchboard_runs", status="streaming") == 1
    assert (value(during, "switchboard_run_events_stored_total") or 0) >= 5
    page.read_until_end()
    page.close()
    paused("refund_approval", REFUND)

    after = scrape(console)
    run = Run.objects.get(pk=run.pk)
    assert value(after, "switchboard_relays_active") == 0
    assert value(after, "switchboard_runs", status="succeeded") == 1
    assert value(after, "switchboard_run_events_stored_total") == run.last_seq
    assert value(after, "switchboard_run_events_broadcast_total") == broadcast_before + run.last_seq
    assert value(after, "switchboard_inbox_pending") == 1
    assert value(after, "switchboard_decisions_total", action="answer") == 0
    assert not [name for name, _ in after if name == "switchboard_deployment_runs_failed_total"]


@pytest.fixture
def superuser(db: Any) -> User:
    return User.objects.create_superuser("root", "root@example.org", "password")


def _get(user: User | None = None, token: str | None = None) -> int:
    client = Client()
    if user is not None:
        client.force_login(user)
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.get("/metrics", headers=headers).status_code


def test_only_a_superuser_or_the_token_may_scrape(settings, superuser: User, alice: User):
    settings.METRICS_TOKEN = TOKEN
    assert _get(token=TOKEN) == 200
    assert _get(superuser) == 200
    assert _get(token="not-the-token") == 403
    assert _get(alice) == 403, "a team admin is not an operator of the console"
    assert _get() == 404


def test_no_token_is_accepted_when_none_is_set(settings, superuser: User):
    settings.METRICS_TOKEN = ""
    assert _get(token="") == 403
    assert _get(token="anything") == 403
    assert _get(superuser) == 200


def test_events_stored_stay_counted_after_retention_prunes_their_logs(
    settings, deployment_a: Deployment, superuser: User
):
    settings.METRICS_TOKEN = TOKEN
    ended = timezone.now() - timedelta(days=90)
    events: list[tuple[str, Any]] = [("custom", {"n": n}) for n in range(7)]
    create_run(deployment_a, events, status="succeeded", finished_at=ended)
    client = Client()
    client.force_login(superuser)

    def stored() -> float | None:
        text = client.get("/metrics").content.decode()
        samples = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }
        return value(samples, "switchboard_run_events_stored_total")

    assert stored() == 7
    assert prune_event_logs(timedelta(days=30)) == 7
    assert stored() == 7


def test_a_deployment_whose_polls_fail_is_counted_until_one_answers(
    superuser: User, deployment_a: Deployment
):
    state = PollState.objects.get(deployment=deployment_a)
    state.failures, state.last_error = 3, "HTTP 502"
    state.save()
    client = Client()
    client.force_login(superuser)

    def failures() -> float | None:
        text = client.get("/metrics").content.decode()
        samples = {
            (sample.name, sample.labels.get("deployment")): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }
        return samples.get(("switchboard_deployment_poll_failures", deployment_a.name))

    assert failures() == 3
    state.failures, state.last_error = 0, ""
    state.save()
    assert failures() == 0
