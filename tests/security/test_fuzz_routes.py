"""Every GET parameter and form field of every route in the URLconf, fuzzed: never a 500, and a
refused request changes nothing on the deployment.

The routes come from the URLconf (``tests/fixtures/cross_team.py`` walks it), so a route added
later is fuzzed too. The fields of each route are those its pages show (every ``name=`` on the
page a member GETs) plus every name seen on any page, since a POST-only route's fields live on
the page that links to it. Each example is one request, by GET or POST, as a member of the
deployment's team (admin or operator) or as an outsider (another team's admin), with values
picked to break parsers: non-finite and huge numbers, dates at the ends of the calendar, JSON
nested 100,000 deep, NUL bytes, markup, long text.

A refused request (4xx) is followed by a look at the real ``langgraph dev``: the number of
threads, the paused thread's checkpoint and its runs must be as before. Each example runs in a
savepoint rolled back afterwards, so a request that succeeds does not change what the next one
sees.

Bounded and derandomised: a fixed number of examples per route, the same ones every run.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from switchboard import SyncClient
from tests.fixtures.cross_team import CrossTeam, Route, checked_routes, factory_for
from tests.fixtures.inbox import Paused
from tests.fixtures.threads import index_row

pytestmark = pytest.mark.django_db

EXAMPLES_PER_ROUTE = 6
LEGACY = [
    {
        "action_request": {"action": "issue_refund", "args": {"amount": 1.5, "tags": ["a"]}},
        "config": {
            "allow_accept": True,
            "allow_edit": True,
            "allow_respond": True,
            "allow_ignore": True,
        },
        "description": "Refund",
    }
]


def _cursor(when: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([when, 1]).encode()).decode().rstrip("=")


NASTY = [
    "",
    "0",
    "-1",
    "2147483648",
    "9" * 40,
    "1e999",
    "-1e999",
    "NaN",
    "Infinity",
    "null",
    "true",
    "[]",
    "{}",
    '{"a": NaN}',
    "[" * 100_000 + "]" * 100_000,
    "x" * 20_000,
    "a\x00b",
    "<script>alert(1)</script>",
    "'\"",
    "../../etc/passwd",
    "http://169.254.169.254/latest/meta-data/",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "0001-01-01",
    "9999-12-31",
    "2026-02-30",
    "00000000-0000-0000-0000-000000000000",
    "k=NaN",
    "k=1e999",
    "=",
    "*",
    _cursor("0001-01-01T00:00:00+01:00"),
    _cursor("9999-12-31T23:59:59-01:00"),
    "%%%",
    "\u202e\ufeff",
]
values = st.one_of(st.sampled_from(NASTY), st.text(max_size=30))


def _names(page: str) -> set[str]:
    return set(re.findall(r'\bname="([^"]+)"', page)) - {"csrfmiddlewaretoken"}


def _deployment_snapshot(graph_client: SyncClient, thread_id: str) -> tuple[Any, ...]:
    checkpoint: Any = graph_client.get_thread_state(thread_id).get("checkpoint") or {}
    return (
        graph_client.count_threads(),
        checkpoint.get("checkpoint_id"),
        len(graph_client.list_runs(thread_id)),
    )


@pytest.fixture
def fuzz_world(
    cross_team: CrossTeam,
    paused: Callable[..., Paused],
    alice: User,
    oscar: User,
    charlie: User,
) -> dict[str, Any]:
    """Team A's objects for every route kwarg; the thread is real and paused on the server."""
    p = paused("echo_review", {"asks": [LEGACY, {"question": "Ship it?", "options": ["y"]}]})
    index_row(p.deployment, thread_id=p.thread_id, metadata={"graph_id": "echo_review"})
    return {"paused": p, "side": cross_team.a, "users": [alice, oscar, charlie]}


ROUTES = checked_routes()


def test_the_fuzz_walks_every_route():
    names = {route.name for route in ROUTES}
    assert {"inbox:thread", "runs:start", "threads:list", "audit:list"} <= names


def test_no_route_answers_500_to_anything(fuzz_world: dict[str, Any], graph_client: SyncClient):
    p: Paused = fuzz_world["paused"]
    side = fuzz_world["side"]
    users: list[User] = fuzz_world["users"]
    client = Client(raise_request_exception=False)
    urls: dict[str, str] = {}
    route_names: dict[str, set[str]] = {}
    everywhere: set[str] = set()
    for route in ROUTES:
        kwargs = {
            k: p.thread_id if k == "thread_id" else factory_for(k)(side) for k in route.kwargs
        }
        url = route.url() if not route.kwargs else _reverse(route, kwargs)
        urls[route.id] = url
        client.force_login(users[0])
        page = client.get(url)
        assert page.status_code != 500, f"GET {url} answered 500"
        route_names[route.id] = _names(page.content.decode(errors="replace"))
        everywhere |= route_names[route.id]
    pool = sorted(everywhere)
    # What the deployment looks like now: re-read after a request that was not refused (it may
    # legitimately have changed something), compared after one that was.
    now = [_deployment_snapshot(graph_client, p.thread_id)]
    failures: list[str] = []

    for route in ROUTES:
        url = urls[route.id]
        own = sorted(route_names[route.id]) or pool
        fields = st.dictionaries(
            st.one_of(st.sampled_from(own), st.sampled_from(pool)), values, max_size=6
        )

        @settings(
            max_examples=EXAMPLES_PER_ROUTE,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(method=st.sampled_from(["get", "post"]), who=st.sampled_from(users), data=fields)
        def request_once(method: str, who: User, data: dict[str, str], url: str = url) -> None:
            client.force_login(who)
            with transaction.atomic():
                response = getattr(client, method)(url, data)
                transaction.set_rollback(True)
            label = f"{who.username} {method.upper()} {url} {_short(data)}"
            assert response.status_code != 500, f"{label} answered 500"
            after = _deployment_snapshot(graph_client, p.thread_id)
            if 400 <= response.status_code < 500:
                assert after == now[0], (
                    f"{label} was refused ({response.status_code}) but the deployment changed"
                )
            now[0] = after

        try:
            request_once()
        except AssertionError as error:
            failures.append(str(error).splitlines()[0])
    assert not failures, "\n".join(failures)


def _reverse(route: Route, kwargs: dict[str, Any]) -> str:
    assert route.name, route.route
    return reverse(route.name, kwargs=kwargs)


def _short(data: dict[str, str]) -> str:
    return json.dumps({k: v if len(v) < 60 else v[:40] + f"…({len(v)})" for k, v in data.items()})
