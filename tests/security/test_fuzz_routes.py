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
import html
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from switchboard import SyncClient
from tests.fixtures.cross_team import CrossTeam, Route, checked_routes, factory_for
from tests.fixtures.inbox import Paused
from tests.fixtures.threads import index_row

# Every route of the URLconf in one sweep: minutes on a loaded 2-core machine, so its own bound.
pytestmark = [pytest.mark.django_db, pytest.mark.timeout(900)]

EXAMPLES_PER_ROUTE = 3
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
# One of each kind of value that has broken a parser: tried in every field of every route, by
# each method the route serves, before the random examples.
SWEEP = [
    "1e999",
    "NaN",
    "k=NaN",
    "[" * 100_000 + "]" * 100_000,
    "a\x00b",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31",
    _cursor("0001-01-01T00:00:00+01:00"),
    "9" * 40,
]
# Values that pass a field's own check and break what is done with them afterwards: tried in one
# field of a GET form at a time (the other fields left out, so the form is valid and used).
ONE_BY_ONE = [
    "9999-12-31",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "k=NaN",
    "k=1e999",
    _cursor("9999-12-31T23:59:59-01:00"),
]


def _names(page: str) -> set[str]:
    return set(re.findall(r'\bname="([^"]+)"', page)) - {"csrfmiddlewaretoken"}


def _forms_by_action(page: str, url: str) -> dict[str, set[str]]:
    """The fields of each form on the page, by the URL it submits to."""
    out: dict[str, set[str]] = {}
    for attrs, body in re.findall(r"<form\b([^>]*)>(.*?)</form>", page, re.S | re.I):
        action = re.search(r'\baction="([^"]*)"', attrs)
        target = html.unescape(action.group(1)).split("?")[0] if action and action.group(1) else url
        out.setdefault(target, set()).update(_names(body))
    return out


def _get_form_names(page: str) -> set[str]:
    """The fields of the page's GET forms (filters), which views use once they validate."""
    forms = re.findall(r"<form\b(?:(?!method=\"post\")[^>])*>(.*?)</form>", page, re.S | re.I)
    return set().union(*(_names(f) for f in forms)) if forms else set()


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


def test_the_walk_finds_the_routes_that_take_input():
    # Guards the walk itself: if it found nothing, the fuzz would pass vacuously.
    names = {route.name for route in ROUTES}
    assert {"inbox:thread", "runs:start", "threads:list", "audit:list"} <= names


def test_no_route_answers_500_to_anything(fuzz_world: dict[str, Any], graph_client: SyncClient):
    p: Paused = fuzz_world["paused"]
    side = fuzz_world["side"]
    users: list[User] = fuzz_world["users"]
    client = Client(raise_request_exception=False)
    urls: dict[str, str] = {}
    methods: dict[str, list[str]] = {}
    route_names: dict[str, set[str]] = {}
    filters: dict[str, set[str]] = {}
    everywhere: set[str] = set()
    posted_to: dict[str, set[str]] = {}
    for route in ROUTES:
        kwargs = {
            k: p.thread_id if k == "thread_id" else factory_for(k)(side) for k in route.kwargs
        }
        url = route.url() if not route.kwargs else _reverse(route, kwargs)
        urls[route.id] = url
        client.force_login(users[0])
        page = client.get(url)
        assert page.status_code != 500, f"GET {url} answered 500"
        text = _body(page).decode(errors="replace")
        filters[route.id] = _get_form_names(text) if page.status_code == 200 else set()
        route_names[route.id] = _names(text) if page.status_code == 200 else set()
        for action, names in _forms_by_action(text, url).items():
            posted_to.setdefault(action, set()).update(names)
        # How its fields arrive: the query string of a filter page, else the body of a POST.
        methods[route.id] = [
            "get"
            if filters[route.id] or (page.status_code != 405 and 'method="post"' not in text)
            else "post"
        ]
        everywhere |= route_names[route.id]
    pool = sorted(everywhere)
    clients = {user.pk: _logged_in(user) for user in users}
    # What the deployment looks like now: re-read after a request that was not refused (it may
    # legitimately have changed something), compared after one that was.
    now = [_deployment_snapshot(graph_client, p.thread_id)]
    failures: list[str] = []

    for route in ROUTES:
        own = sorted(route_names[route.id] | posted_to.get(urls[route.id], set()))
        # Every field of the route at once (each form validates all its fields), or a few
        # fields from anywhere.
        fields = st.one_of(
            st.fixed_dictionaries(dict.fromkeys(own or pool, values)),
            st.dictionaries(st.sampled_from(pool), values, max_size=6),
        )
        # A route with no fields of its own (a health check, an export) gets random ones only.
        sweep = [
            (method, dict.fromkeys(own, value))
            for value in (SWEEP if own else [])
            for method in methods[route.id]
        ] + [("get", {name: value}) for name in sorted(filters[route.id]) for value in ONE_BY_ONE]
        try:
            _fuzzer(clients, urls[route.id], fields, sweep, users, graph_client, p.thread_id, now)()
        except (AssertionError, ExceptionGroup) as error:
            # Several failing examples of one route come as a group: one line each.
            found = error.exceptions if isinstance(error, ExceptionGroup) else [error]
            failures.extend(str(e).strip().splitlines()[0] for e in found)
    assert not failures, "\n".join(failures)


def _logged_in(user: User) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def _fuzzer(
    clients: dict[int, Client],
    url: str,
    fields: st.SearchStrategy[dict[str, str]],
    sweep: list[tuple[str, dict[str, str]]],
    users: list[User],
    graph_client: SyncClient,
    thread_id: str,
    now: list[tuple[Any, ...]],
) -> Callable[[], None]:
    """The hypothesis test for one route: the ``sweep`` (as the first, most privileged user)
    then random examples. ``now`` holds the deployment as last seen."""

    def request_once(method: str, who: User, data: dict[str, str]) -> None:
        # Each user is logged in once: the rollback below undoes whatever a request did to the
        # session (a logout, a new key), and putting the cookie back resumes the same session.
        client = clients[who.pk]
        session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
        with transaction.atomic():
            response = getattr(client, method)(url, data)
            # A streamed body (CSV, JSON exports) fails while it is read, not before.
            _body(response)
            transaction.set_rollback(True)
        client.cookies[django_settings.SESSION_COOKIE_NAME] = session
        label = f"{who.username} {method.upper()} {url} {_short(data)}"
        assert response.status_code != 500, f"{label} answered 500"
        refused = 400 <= response.status_code < 500
        if refused or method == "post":
            after = _deployment_snapshot(graph_client, thread_id)
            assert not refused or after == now[0], (
                f"{label} was refused ({response.status_code}) but the deployment changed"
            )
            now[0] = after

    test = given(method=st.sampled_from(["get", "post"]), who=st.sampled_from(users), data=fields)(
        request_once
    )
    for method, data in sweep:
        test = example(method=method, who=users[0], data=data)(test)
    return settings(
        max_examples=EXAMPLES_PER_ROUTE,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=True,
    )(test)


def _body(response: Any) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def _reverse(route: Route, kwargs: dict[str, Any]) -> str:
    assert route.name, route.route
    return reverse(route.name, kwargs=kwargs)


def _short(data: dict[str, str]) -> str:
    return json.dumps({k: v if len(v) < 60 else v[:40] + f"…({len(v)})" for k, v in data.items()})
