"""GET /threads/<deployment>/<thread>/: state, conversation, interrupts, timeline, graph, runs,
read live from the real demo deployment; a deployment that is down, hangs or lost the thread."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.deployments.models import Deployment
from apps.threads.models import ThreadIndex
from apps.threads.presenters import checkpoint_id_of
from switchboard import SyncClient
from tests.fixtures.threads import SCRIPT, DemoThreads, index_row

pytestmark = pytest.mark.django_db


def _url(deployment: Deployment, thread_id: str, query: str = "") -> str:
    return f"/threads/{deployment.pk}/{thread_id}/" + (f"?{query}" if query else "")


@pytest.fixture
def logged_in(client: Client, alice: User) -> Client:
    client.force_login(alice)
    return client


def _body(client: Client, url: str, status: int = 200, **headers: Any) -> str:
    response = client.get(url, **headers)
    assert response.status_code == status, response.content[:2000]
    return response.content.decode()


def _checkpoint_ids(body: str) -> list[str]:
    return re.findall(r'name="to" value="([0-9a-f-]+)"', body)


def test_it_shows_a_conversation_with_tool_calls_and_the_pending_interrupt(
    logged_in: Client, deployment_a: Deployment, demo_threads: DemoThreads
) -> None:
    body = _body(logged_in, _url(deployment_a, demo_threads.support))
    assert '<span class="badge interrupted">interrupted</span>' in body
    assert "Order A-1001 arrived broken" in body
    assert '<strong class="mono">issue_refund</strong>' in body
    assert '<strong class="mono">send_email</strong>' in body
    assert "no result yet" in body
    assert "Waiting for a person (1)" in body
    assert f'href="/inbox/{deployment_a.pk}/{demo_threads.support}/"' in body
    # The graph, drawn on the server, with the interrupted node highlighted.
    assert '<svg class="graph"' in body
    assert re.search(
        r'class="graph-node current interrupted" data-node="HumanInTheLoopMiddleware.after_model"',
        body,
    )
    # The index row was refreshed from what the page read.
    assert (
        ThreadIndex.objects.get(
            deployment=deployment_a, thread_id=demo_threads.support
        ).interrupt_count
        == 1
    )


def test_it_shows_tool_results_next_to_their_calls_once_answered(
    logged_in: Client, deployment_a: Deployment, graph_client: SyncClient
) -> None:
    thread_id = str(graph_client.create_thread()["thread_id"])
    graph_client.wait_run(
        thread_id,
        assistant_id="support_agent",
        input={"messages": [{"role": "user", "content": "Refund $5 on A-7"}]},
    )
    graph_client.wait_run(
        thread_id,
        assistant_id="support_agent",
        command={
            "resume": {
                "decisions": [{"type": "approve"}, {"type": "reject", "message": "no email"}]
            }
        },
    )
    body = _body(logged_in, _url(deployment_a, thread_id))
    assert "no result yet" not in body
    assert body.count('<div class="tool-result') == 2
    assert '<span class="badge idle">idle</span>' in body
    # The middleware found nothing left to review after the final answer, and wrote nothing.
    rows = body[body.index('id="timeline"') :].split("<tr")
    assert any(
        "HumanInTheLoopMiddleware.after_model</span>" in row and "wrote nothing" in row
        for row in rows
    )


def test_it_escapes_graph_output_everywhere(
    logged_in: Client, deployment_a: Deployment, demo_threads: DemoThreads
) -> None:
    for thread_id in (demo_threads.script, demo_threads.failed):
        body = _body(logged_in, _url(deployment_a, thread_id))
        assert SCRIPT not in body
        assert (
            "&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;" in body
            or "&lt;script&gt;alert(&amp;quot;owned" in body
        )
    # The failed thread's error is shown, escaped too.
    assert "Last error" in body
    # And in the list.
    ThreadIndex.objects.filter(thread_id=demo_threads.failed).delete()
    index_row(
        deployment_a,
        thread_id=demo_threads.failed,
        status="error",
        error_message=SCRIPT,
        metadata={"note": SCRIPT},
    )
    assert SCRIPT not in _body(logged_in, "/threads/")


def test_it_shows_the_timeline_with_what_each_node_wrote(
    logged_in: Client, deployment_a: Deployment, demo_threads: DemoThreads, graph_client: SyncClient
) -> None:
    body = _body(logged_in, _url(deployment_a, demo_threads.refund))
    history = graph_client.get_state_history(demo_threads.refund, limit=100)
    assert _checkpoint_ids(body) == [checkpoint_id_of(s) for s in history]
    timeline = body[body.index('id="timeline"') :]
    for node in ("draft_refund", "review", "issue_refund", "__start__"):
        assert f'<span class="mono node">{node}</span>' in timeline
    assert ">input<" in timeline
    assert ">loop<" in timeline
    assert '"outcome": "refunded"' in timeline.replace("&quot;", '"')
    assert '<span class="badge ok">current</span>' in timeline


def test_it_shows_several_nodes_writing_one_checkpoint_and_nodes_that_wrote_nothing(
    logged_in: Client, deployment_a: Deployment, graph_client: SyncClient
) -> None:
    thread_id = str(graph_client.create_thread()["thread_id"])
    graph_client.wait_run(thread_id, assistant_id="parallel_review", input={})
    graph_client.wait_run(
        thread_id,
        assistant_id="parallel_review",
        command={
            "resume": {
                i["id"]: "approve"
                for items in graph_client.get_thread(thread_id)["interrupts"].values()
                for i in items
            }
        },
    )
    body = _body(logged_in, _url(deployment_a, thread_id))
    rows = body[body.index('id="timeline"') :].split("<tr")
    # Both branches ran in one step: one checkpoint, written by two nodes.
    assert any(
        '<span class="mono node">legal_review</span>' in row
        and '<span class="mono node">finance_review</span>' in row
        for row in rows
    )
    # The run's input was {}: its row says so.
    assert any(">input<" in row and "wrote nothing" in row for row in rows)


def test_it_pages_the_timeline_with_before(
    logged_in: Client, deployment_a: Deployment, graph_client: SyncClient
) -> None:
    thread_id = str(graph_client.create_thread()["thread_id"])
    graph_client.wait_run(thread_id, assistant_id="flaky", input={})
    for i in range(28):
        graph_client.update_thread_state(thread_id, {"result": f"edit {i}"}, as_node="finish")
    history = graph_client.get_state_history(thread_id, limit=100)
    all_ids = [checkpoint_id_of(s) for s in history]
    assert len(all_ids) == 33

    first = _body(logged_in, _url(deployment_a, thread_id))
    assert _checkpoint_ids(first) == all_ids[:20]
    assert "state edited (update_state)" in first
    older = re.search(r'href="([^"]+)" rel="next"', first)
    assert older is not None
    second = _body(logged_in, older.group(1).replace("&amp;", "&"))
    assert _checkpoint_ids(second) == all_ids[20:]
    assert 'rel="next"' not in second

    # The same page as an htmx swap of the timeline alone.
    partial = _body(
        logged_in,
        older.group(1).replace("&amp;", "&"),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="timeline",
    )
    assert partial.lstrip().startswith('<section class="panel" id="timeline">')
    assert _checkpoint_ids(partial) == all_ids[20:]


def test_it_shows_the_state_at_any_checkpoint_with_a_deep_link(
    logged_in: Client, deployment_a: Deployment, demo_threads: DemoThreads, graph_client: SyncClient
) -> None:
    history = graph_client.get_state_history(demo_threads.refund, limit=100)
    early = history[-2]  # step 0: the input is in, nothing drafted yet
    cid = checkpoint_id_of(early)
    body = _body(logged_in, _url(deployment_a, demo_threads.refund, f"checkpoint={cid}"))
    state = body[body.index('id="checkpoint-state"') : body.index('id="timeline"')]
    assert "State at checkpoint" in state
    assert f'?checkpoint={cid}">Link to this checkpoint' in state
    assert "draft_refund" in state  # next
    assert "outcome" not in state  # not written yet at that checkpoint
    assert (
        f"/runs/new/?deployment={deployment_a.pk}&amp;thread={demo_threads.refund}&amp;checkpoint={cid}"
        in state
    )

    partial = _body(
        logged_in,
        _url(deployment_a, demo_threads.refund, f"checkpoint={cid}"),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="checkpoint-state",
    )
    assert partial.lstrip().startswith('<section class="panel" id="checkpoint-state">')


def test_it_shows_both_branches_of_a_forked_thread(
    logged_in: Client, deployment_a: Deployment, demo_threads: DemoThreads, graph_client: SyncClient
) -> None:
    body = _body(logged_in, _url(deployment_a, demo_threads.forked))
    history = graph_client.get_state_history(demo_threads.forked, limit=100)
    assert _checkpoint_ids(body) == [checkpoint_id_of(s) for s in history]
    assert ">fork<" in body
    assert "forked from its parent: nothing written" in body
    # The head is on the new branch (ignored), the old branch (refunded) is still listed.
    text = body.replace("&quot;", '"')
    assert '"outcome": "ignored"' in text
    assert '"outcome": "refunded"' in text


def test_it_offers_run_and_fork_links_to_operators_only(
    client: Client, oscar: User, bob: User, deployment_a: Deployment, demo_threads: DemoThreads
) -> None:
    # The thread's graph comes chosen in the form.
    run_link = (
        f'href="/runs/new/?deployment={deployment_a.pk}&amp;thread={demo_threads.refund}'
        '&amp;assistant=refund_approval"'
    )
    client.force_login(oscar)
    body = _body(client, _url(deployment_a, demo_threads.refund))
    assert run_link in body
    assert "Fork from here" in body
    client.force_login(bob)
    body = _body(client, _url(deployment_a, demo_threads.refund))
    assert run_link not in body
    assert "Fork from here" not in body
    assert 'disabled aria-describedby="run-why"' in body


def test_it_lists_the_runs_of_the_thread(
    logged_in: Client, deployment_a: Deployment, demo_threads: DemoThreads, graph_client: SyncClient
) -> None:
    body = _body(logged_in, _url(deployment_a, demo_threads.forked))
    for run in graph_client.list_runs(demo_threads.forked, limit=10):
        assert run["run_id"] in body


def test_it_answers_404_for_another_teams_thread(
    logged_in: Client, deployment_b: Deployment, demo_threads: DemoThreads
) -> None:
    assert logged_in.get(_url(deployment_b, demo_threads.refund)).status_code == 404
    assert (
        logged_in.get(f"/threads/{deployment_b.pk}/{demo_threads.refund}/export.json").status_code
        == 404
    )
    assert (
        logged_in.get(f"/threads/{deployment_b.pk}/{demo_threads.refund}/diff/").status_code == 404
    )


def test_it_answers_404_for_an_id_that_is_not_a_uuid(
    logged_in: Client, deployment_a: Deployment
) -> None:
    assert logged_in.get(_url(deployment_a, "not-a-uuid")).status_code == 404


def test_it_says_so_when_the_deployment_lost_the_thread(
    logged_in: Client, deployment_a: Deployment
) -> None:
    gone = index_row(deployment_a, status="interrupted")
    body = _body(logged_in, _url(deployment_a, gone.thread_id), status=404)
    assert "This thread is gone" in body
    assert "removed from the thread index" in body
    assert not ThreadIndex.objects.filter(pk=gone.pk).exists()


def test_it_says_so_when_the_deployment_is_down(
    logged_in: Client, down_deployment: Deployment
) -> None:
    row = index_row(down_deployment, status="interrupted", metadata={"owner": "alice"})
    body = _body(logged_in, _url(down_deployment, row.thread_id))
    assert "Could not reach the deployment: it looks down" in body
    assert "Showing what the index last knew" in body
    assert ThreadIndex.objects.filter(pk=row.pk).exists()
    # Unknown to the index as well: a clear page, not a 500.
    body = _body(logged_in, _url(down_deployment, str(uuid.uuid4())), status=503)
    assert "Cannot read this thread now" in body


def test_it_never_waits_past_the_deployment_timeout(
    logged_in: Client, hanging_deployment: Deployment, settings: Any
) -> None:
    settings.DEPLOYMENT_TIMEOUT = 1
    row = index_row(hanging_deployment)
    body = _body(logged_in, _url(hanging_deployment, row.thread_id))
    assert "did not answer" in body


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_it_makes_the_same_number_of_queries_for_short_and_long_threads(
    logged_in: Client, deployment_a: Deployment, graph_client: SyncClient, demo_threads: DemoThreads
) -> None:
    short = _url(deployment_a, demo_threads.script)
    long_id = str(graph_client.create_thread()["thread_id"])
    graph_client.wait_run(
        long_id,
        assistant_id="support_agent",
        input={"messages": [{"role": "user", "content": "refund $1 on A-2"}]},
    )
    graph_client.wait_run(
        long_id,
        assistant_id="support_agent",
        command={"resume": {"decisions": [{"type": "approve"}, {"type": "approve"}]}},
    )
    for i in range(30):
        graph_client.update_thread_state(
            long_id, {"messages": [{"role": "user", "content": f"note {i}"}]}
        )
    long = _url(deployment_a, long_id)
    _queries(logged_in, short), _queries(logged_in, long)  # index both, warm caches
    assert _queries(logged_in, short) == _queries(logged_in, long)
    assert _queries(logged_in, long) <= 14


def test_it_says_so_for_a_checkpoint_the_thread_does_not_have(
    logged_in: Client, deployment_a: Deployment, demo_threads: DemoThreads
) -> None:
    missing = "1f1e5807-3c9a-602d-8001-e64740eeeaff"
    body = _body(logged_in, _url(deployment_a, demo_threads.refund, f"checkpoint={missing}"))
    assert f"Cannot read that checkpoint: This thread has no checkpoint {missing}." in body
    # A checkpoint parameter that is not an id is ignored, never sent to the deployment.
    assert "Current state" in _body(
        logged_in, _url(deployment_a, demo_threads.refund, "checkpoint=../../x")
    )
