"""The bad inputs of the reference list, tried against the real URLs, sockets and servers.

Where another suite already proves one, it is named here rather than repeated:

- malformed ``after`` on the run socket (negative, beyond the log, not an integer): full replay
  with a note, never a hang: ``tests/runs/test_run_socket.py::test_it_replays_everything_with_a_note_for_a_bad_after``;
  bad ``ack``/``backfill`` frames: ``test_it_answers_a_bad_message_with_an_error_frame_and_stays_open``;
- resume payloads that fail the interrupt's schema, name a wrong interrupt id, send one value
  while several interrupts are pending, or target an interrupt already resolved:
  ``tests/inbox/test_refusals.py`` and ``tests/inbox/test_concurrent_decisions.py``;
- cross-team ids in every path and websocket URL, generated from the URLconf and the websocket
  routes: ``test_cross_team_urls.py`` and ``test_cross_team_websockets.py`` (next to this file);
  another team's deployment in the new-deployment form: ``tests/deployments/test_create_deployment.py``;
- a POST without a CSRF token on every route: ``test_csrf.py``;
- a foreign Origin on the run socket (in-process): ``tests/runs/test_run_socket.py::test_it_refuses_a_foreign_origin``;
  logout closing an open socket: ``test_it_closes_on_logout``;
- deployment URLs ``http://169.254.169.254/`` and ``file:///etc/passwd``:
  ``tests/deployments/test_create_deployment.py`` and ``test_urlcheck.py``; a deployment that
  redirects there, for "test connection": ``tests/deployments/test_test_connection.py``;
- login throttling details (per address, per username, no enumeration): ``tests/accounts/test_login.py``.

Here: oversized and deeply nested events, cross-team ids in form fields and filters, foreign
Origins and an expired session through the real Daphne, a deployment that redirects everyday SDK
calls to the metadata address, and 200 login attempts in a minute from one address.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from apps.deployments.models import Deployment
from apps.runs.models import Run
from tests.deployments.local_server import Answer, local_server
from tests.fixtures.runs import create_run
from tests.fixtures.workers import PageReader

MB = 1024 * 1024


# The deepest state a LangGraph server can send: it serialises with orjson, which refuses
# anything nested deeper than 255 levels.
DEEP = 250


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"deeper": value}
    return value


# -- oversized and deeply nested events ------------------------------------------------------


@pytest.mark.parametrize(
    ("what", "data"),
    [
        ("an event over 1 MB", {"blob": "x" * (MB + 1)}),
        ("a state nested 250 levels deep", _nested(DEEP)),
        (
            "a message chunk over 1 MB",
            [{"type": "AIMessageChunk", "id": "m1", "content": "y" * (MB + 1)}, {}],
        ),
    ],
    ids=["oversized", "deeply-nested", "oversized-message"],
)
def test_the_run_page_survives_an_oversized_or_deeply_nested_event(
    what: str, data: Any, client: Client, alice: Any, deployment_a: Deployment
):
    event = "messages" if isinstance(data, list) else "values"
    run = create_run(deployment_a, [("values", {"ok": True}), (event, data)], status="succeeded")
    client.force_login(alice)

    response = client.get(f"/runs/{run.pk}/")

    assert response.status_code == 200, f"the run page failed on {what}"
    # The page shows a bounded excerpt, not the whole megabyte (graph output is untrusted).
    assert len(response.content) < MB, f"the page with {what} weighs {len(response.content)} bytes"


@pytest.mark.django_db(transaction=True)
def test_the_run_socket_replays_an_oversized_and_a_nested_event_and_carries_on(
    alice: Any, deployment_a: Deployment, daphne_url: str, ws_login: Callable[..., dict[str, str]]
):
    events: list[tuple[str, Any]] = [
        ("values", {"blob": "x" * (MB + 1)}),
        ("values", _nested(DEEP)),
        ("values", {"after": "the bad ones"}),
        ("switchboard/end", {"status": "succeeded", "error": ""}),
    ]
    run = create_run(deployment_a, events, status="succeeded")
    page = PageReader(daphne_url, run.pk, ws_login(alice))
    try:
        frames = page.read_until_end(30)
    finally:
        page.close()

    assert [frame["seq"] for frame in frames] == [1, 2, 3, 4]
    assert all(len(json.dumps(frame)) < MB for frame in frames), (
        "a frame carried the whole megabyte"
    )


# -- cross-team ids in form fields and filters -----------------------------------------------


def test_another_teams_deployment_in_the_start_run_form_is_refused(
    client: Client, alice: Any, deployment_a: Deployment, deployment_b: Deployment
):
    client.force_login(alice)

    response = client.post(
        "/runs/new/",
        {
            "deployment": deployment_b.pk,
            "assistant_id": "chatty",
            "input": "{}",
            "stream_mode": ["values"],
            "multitask_strategy": "reject",
        },
    )

    assert response.status_code in (400, 403, 404)
    assert not Run.objects.exists()
    assert deployment_b.name.encode() not in response.content


@pytest.mark.parametrize("url", ["/threads/", "/inbox/", "/runs/", "/audit/"])
def test_another_teams_deployment_in_a_filter_shows_nothing_of_theirs(
    url: str,
    client: Client,
    alice: Any,
    charlie: Any,
    deployment_a: Deployment,
    deployment_b: Deployment,
):
    create_run(deployment_b, [("values", {"secret": "team-b-only"})], thread_id=str(uuid.uuid4()))
    client.force_login(alice)

    response = client.get(url, {"deployment": str(deployment_b.pk), "team": "team-b"})

    assert response.status_code in (200, 400, 404)
    assert deployment_b.name.encode() not in response.content
    assert b"team-b-only" not in response.content


# -- websockets through the real Daphne --------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/ws/runs/{run}/", "/ws/inbox/"])
def test_a_websocket_handshake_from_a_foreign_origin_is_refused(
    path: str,
    alice: Any,
    deployment_a: Deployment,
    daphne_url: str,
    ws_login: Callable[..., dict[str, str]],
):
    run = create_run(deployment_a, [("values", {"a": 1})])
    headers = ws_login(alice, origin="https://evil.example")
    url = daphne_url.replace("http://", "ws://") + path.format(run=run.pk)

    with pytest.raises(InvalidStatus) as refused:
        connect(url, additional_headers=headers, open_timeout=10).close()

    assert refused.value.response.status_code == 403


@pytest.mark.django_db(transaction=True)
def test_an_open_run_socket_closes_when_its_session_expires(
    alice: Any, deployment_a: Deployment, daphne_url: str, ws_login: Callable[..., dict[str, str]]
):
    run = create_run(deployment_a, [("values", {"a": 1})], status="streaming")
    headers = ws_login(alice)
    page = PageReader(daphne_url, run.pk, headers)
    try:
        page.read_until(lambda frame: frame["type"] == "event" and frame["seq"] == 1, 15)
        key = headers["Cookie"].split("sessionid=")[1]
        Session.objects.filter(session_key=key).update(
            expire_date=timezone.now() - timedelta(seconds=1)
        )

        with pytest.raises(Exception) as closed:  # the socket must end: ConnectionClosed
            page.read_until(lambda frame: False, 15)
    finally:
        page.close()

    assert "4403" in str(closed.value), (
        f"the socket went on after its session expired: {closed.value!r}"
    )


# -- a deployment that redirects everyday calls to the metadata address ----------------------


@pytest.mark.django_db(transaction=True)
def test_sdk_calls_never_follow_a_redirect_to_the_metadata_address(
    client: Client, alice: Any, team_a: Any
):
    with (
        local_server(lambda seen: Answer(status=200)) as canary,
        local_server(
            lambda seen: Answer(status=302, headers={"Location": f"{canary.url}/latest/meta-data/"})
        ) as redirecting,
    ):
        deployment = Deployment.objects.create(team=team_a, name="Redirecting", url=redirecting.url)
        client.force_login(alice)
        thread = uuid.uuid4()

        pages = [
            client.get(f"/threads/{deployment.pk}/{thread}/"),
            client.get(f"/inbox/{deployment.pk}/{thread}/"),
            client.get(f"/runs/new/?deployment={deployment.pk}&assistant_id=chatty"),
        ]

        assert redirecting.requests, "the console never called the deployment"
        assert canary.requests == [], (
            f"the console followed a deployment's redirect: {[r.path for r in canary.requests]}"
        )
        assert all(page.status_code != 500 for page in pages)


# -- 200 login attempts a minute from one address ----------------------------------------------


def test_two_hundred_login_attempts_in_a_minute_from_one_address_are_mostly_refused(
    alice: Any, settings: Any
):
    from django.core.cache import cache

    cache.clear()
    client = Client(REMOTE_ADDR="203.0.113.9")
    limit = settings.LOGIN_FAILURES_PER_MINUTE
    refused = 0
    started = time.monotonic()
    for attempt in range(200):
        response = client.post(
            "/accounts/login/", {"username": f"guess{attempt % 7}", "password": f"wrong{attempt}"}
        )
        assert response.status_code in (200, 403, 429)
        refused += b"Too many failed logins" in response.content
    assert time.monotonic() - started < 60, "the burst took over a minute: the test proves nothing"

    assert refused == 200 - limit
    # Still refused with the right password, from that address, and without naming the user.
    response = client.post("/accounts/login/", {"username": "alice", "password": "password"})
    assert b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session
    cache.clear()
