"""GET /threads/: the index across the user's deployments, filters in the URL, keyset pages."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.deployments.models import Deployment
from apps.threads.models import ThreadIndex
from tests.fixtures.threads import index_row, minutes_ago

pytestmark = pytest.mark.django_db

URL = "/threads/"


def _ids(response: Any) -> list[str]:
    return re.findall(r'<tr data-thread="([0-9a-f-]+)">', response.content.decode())


@pytest.fixture
def logged_in(client: Client, alice: User) -> Client:
    client.force_login(alice)
    return client


@pytest.fixture
def rows(deployment_a: Deployment) -> dict[str, ThreadIndex]:
    return {
        "idle": index_row(
            deployment_a,
            metadata={"owner": "alice", "graph_id": "chatty", "n": 1},
            updated_at=minutes_ago(5),
        ),
        "busy": index_row(
            deployment_a,
            status="busy",
            metadata={"owner": "bob", "graph_id": "chatty", "n": "1"},
            updated_at=minutes_ago(4),
        ),
        "interrupted": index_row(
            deployment_a,
            status="interrupted",
            interrupt_count=2,
            metadata={"owner": "alice", "graph_id": "support_agent", "customer": "Globex"},
            updated_at=minutes_ago(3),
        ),
        "error": index_row(
            deployment_a,
            status="error",
            error_type="ValueError",
            error_message="kaboom",
            metadata={"owner": "carol", "graph_id": "flaky"},
            updated_at=timezone.now() - timedelta(days=3),
        ),
    }


def test_it_lists_the_users_threads_with_their_columns(
    logged_in: Client, rows: dict[str, ThreadIndex]
) -> None:
    response = logged_in.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert _ids(response) == [rows[k].thread_id for k in ("interrupted", "busy", "idle", "error")]
    assert "needs a human" in body
    assert "ValueError: kaboom" in body
    assert "support_agent" in body
    assert '"customer": "Globex"' in body or "&quot;customer&quot;: &quot;Globex&quot;" in body


def test_it_shows_no_other_teams_threads(
    logged_in: Client, rows: dict[str, ThreadIndex], deployment_b: Deployment
) -> None:
    foreign = index_row(deployment_b, metadata={"owner": "alice"})
    assert foreign.thread_id not in _ids(logged_in.get(URL))
    assert foreign.thread_id not in _ids(logged_in.get(URL, {"deployment": deployment_b.pk}))


def test_it_filters_by_deployment(
    logged_in: Client, alice: User, team_a: Any, rows: dict[str, ThreadIndex], langgraph_url: str
) -> None:
    other = Deployment.objects.create(team=team_a, name="A second", url=langgraph_url)
    only = index_row(other)
    assert _ids(logged_in.get(URL, {"deployment": other.pk})) == [only.thread_id]
    assert len(_ids(logged_in.get(URL))) == 5


def test_it_filters_by_graph(logged_in: Client, rows: dict[str, ThreadIndex]) -> None:
    assert _ids(logged_in.get(URL, {"graph": "chatty"})) == [
        rows["busy"].thread_id,
        rows["idle"].thread_id,
    ]


@pytest.mark.parametrize("status", ["idle", "busy", "interrupted", "error"])
def test_it_filters_by_status(logged_in: Client, rows: dict[str, ThreadIndex], status: str) -> None:
    assert _ids(logged_in.get(URL, {"status": status})) == [rows[status].thread_id]


def test_it_filters_by_metadata_key_and_value(
    logged_in: Client, rows: dict[str, ThreadIndex]
) -> None:
    assert set(_ids(logged_in.get(URL, {"meta": "owner=alice"}))) == {
        rows["idle"].thread_id,
        rows["interrupted"].thread_id,
    }
    # Several filters combine; a typed number matches the number and the string.
    assert _ids(logged_in.get(URL, {"meta": ["owner=alice", "customer=Globex"]})) == [
        rows["interrupted"].thread_id
    ]
    assert set(_ids(logged_in.get(URL, {"meta": "n=1"}))) == {
        rows["idle"].thread_id,
        rows["busy"].thread_id,
    }
    assert _ids(logged_in.get(URL, {"meta": 'n="1"'})) == [rows["busy"].thread_id]
    assert _ids(logged_in.get(URL, {"meta": "owner=nobody"})) == []


def test_it_takes_metadata_keys_literally(logged_in: Client, deployment_a: Deployment) -> None:
    odd = index_row(deployment_a, metadata={"a__b": "x", "weird key'": "y"})
    index_row(deployment_a, metadata={"a": {"b": "x"}})
    assert _ids(logged_in.get(URL, {"meta": "a__b=x"})) == [odd.thread_id]
    assert _ids(logged_in.get(URL, {"meta": "weird key'=y"})) == [odd.thread_id]


def test_it_filters_by_updated_range(logged_in: Client, rows: dict[str, ThreadIndex]) -> None:
    yesterday = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    assert rows["error"].thread_id not in _ids(logged_in.get(URL, {"updated_after": yesterday}))
    assert _ids(logged_in.get(URL, {"updated_before": yesterday})) == [rows["error"].thread_id]


def test_it_searches_thread_ids_and_metadata_as_free_text(
    logged_in: Client, rows: dict[str, ThreadIndex]
) -> None:
    fragment = rows["busy"].thread_id[-12:].upper()
    assert _ids(logged_in.get(URL, {"q": fragment})) == [rows["busy"].thread_id]
    assert _ids(logged_in.get(URL, {"q": "globex"})) == [rows["interrupted"].thread_id]


def test_it_sorts(logged_in: Client, rows: dict[str, ThreadIndex]) -> None:
    newest_first = [rows[k].thread_id for k in ("interrupted", "busy", "idle", "error")]
    assert _ids(logged_in.get(URL, {"sort": "updated"})) == newest_first[::-1]
    ThreadIndex.objects.filter(pk=rows["error"].pk).update(
        created_at=timezone.now() + timedelta(minutes=1)
    )
    assert _ids(logged_in.get(URL, {"sort": "-created"}))[0] == rows["error"].thread_id


def test_it_counts_threads_per_status_ignoring_the_status_filter(
    logged_in: Client, rows: dict[str, ThreadIndex]
) -> None:
    body = logged_in.get(URL, {"status": "busy", "graph": "chatty"}).content.decode()
    counts = dict(re.findall(r'data-status="(\w+)">(\d+)<', body))
    assert counts == {"idle": "1", "busy": "1", "interrupted": "0", "error": "0"}


def test_it_shows_chosen_metadata_keys_as_columns(
    logged_in: Client, rows: dict[str, ThreadIndex]
) -> None:
    body = logged_in.get(URL, {"cols": "owner, customer"}).content.decode()
    assert "<th>owner</th><th>customer</th>" in body
    assert "<td>carol</td>" in body


def test_it_pages_by_keyset_without_skipping_or_repeating_rows(
    logged_in: Client, deployment_a: Deployment
) -> None:
    # 120 threads, many sharing an updated_at, so ties must be broken by id.
    base = timezone.now()
    made = [
        index_row(deployment_a, updated_at=base - timedelta(seconds=i // 7)) for i in range(120)
    ]
    seen: list[str] = []
    query = ""
    pages = 0
    while True:
        response = logged_in.get(URL + "?" + query)
        page = _ids(response)
        seen += page
        pages += 1
        match = re.search(r'href="\?([^"]+)" rel="next"', response.content.decode())
        if not match:
            break
        query = match.group(1).replace("&amp;", "&")
    assert pages == 3
    assert len(seen) == 120
    assert set(seen) == {r.thread_id for r in made}

    # And back again from the last page.
    back = re.search(r'href="\?([^"]+)" rel="prev"', response.content.decode())
    assert back is not None
    previous = _ids(logged_in.get(URL + "?" + back.group(1).replace("&amp;", "&")))
    assert previous == seen[50:100]


def test_it_keeps_the_filter_in_page_links(logged_in: Client, deployment_a: Deployment) -> None:
    for _ in range(55):
        index_row(deployment_a, status="busy")
    index_row(deployment_a, status="idle")
    body = logged_in.get(URL, {"status": "busy"}).content.decode()
    link = re.search(r'href="\?([^"]+)" rel="next"', body)
    assert link is not None
    assert "status=busy" in link.group(1)
    assert len(_ids(logged_in.get(URL + "?" + link.group(1).replace("&amp;", "&")))) == 5


def test_it_rejects_a_bad_filter_and_keeps_what_was_typed(
    logged_in: Client, rows: dict[str, ThreadIndex]
) -> None:
    response = logged_in.get(
        URL, {"meta": "no equals sign", "q": "kept text", "updated_after": "yesterday-ish"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "write metadata filters as key=value" in body
    assert "Enter a valid date/time." in body
    assert 'value="kept text"' in body
    assert 'value="no equals sign"' in body
    assert 'value="yesterday-ish"' in body
    assert _ids(response) == []


def test_it_rejects_a_broken_page_link(logged_in: Client, rows: dict[str, ThreadIndex]) -> None:
    response = logged_in.get(URL, {"after": "not-a-cursor"})
    assert response.status_code == 400
    assert "This page link is broken" in response.content.decode()


def test_it_rejects_an_inverted_range(logged_in: Client) -> None:
    response = logged_in.get(URL, {"updated_after": "2026-11-21", "updated_before": "2026-11-20"})
    assert response.status_code == 400
    assert "must be later" in response.content.decode()


def test_it_renders_only_the_results_for_htmx(
    logged_in: Client, rows: dict[str, ThreadIndex]
) -> None:
    response = logged_in.get(
        URL, {"status": "idle"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="results">')
    assert "<html" not in body
    assert _ids(response) == [rows["idle"].thread_id]
    # A bad filter still arrives as a 200, or htmx would not swap the error in.
    assert (
        logged_in.get(
            URL, {"meta": "x"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results"
        ).status_code
        == 200
    )


def test_every_htmx_link_also_has_an_href(logged_in: Client, deployment_a: Deployment) -> None:
    for _ in range(51):
        index_row(deployment_a)
    body = logged_in.get(URL + "?status=idle").content.decode()
    for tag in re.findall(r"<(?:a|form)\b[^>]*hx-get=[^>]*>", body):
        assert 'href="' in tag or 'action="' in tag, tag


def test_it_shows_a_live_badge_for_threads_with_a_live_run(
    logged_in: Client, rows: dict[str, ThreadIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    from apps.threads import selectors

    monkeypatch.setattr(
        selectors, "live_keys", lambda ids: {(rows["busy"].deployment_id, rows["busy"].thread_id)}
    )
    body = logged_in.get(URL).content.decode()
    assert body.count("badge busy live") == 1


def test_it_needs_a_login(client: Client) -> None:
    assert client.get(URL).status_code == 302


def _queries(client: Client, **params: Any) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(URL, params).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "params", [{}, {"status": "idle", "meta": "owner=x", "q": "a", "cols": "owner"}]
)
def test_it_makes_the_same_number_of_queries_for_5_and_60_threads(
    logged_in: Client, deployment_a: Deployment, params: dict[str, str]
) -> None:
    for _ in range(5):
        index_row(deployment_a, metadata={"owner": "x"})
    small = _queries(logged_in, **params)
    for i in range(55):
        index_row(deployment_a, metadata={"owner": "x", "i": i})
    large = _queries(logged_in, **params)
    assert small == large
    assert large <= 10


def test_a_team_with_no_deployment_gets_a_working_first_page(client: Client, alice: User):
    """The first page after login, for a team that has not added a deployment yet: counting
    threads over a scope that can match nothing has no SQL, and was a 500."""
    client.force_login(alice)
    response = client.get("/", follow=True)
    assert response.status_code == 200
    assert client.get(URL).status_code == 200
