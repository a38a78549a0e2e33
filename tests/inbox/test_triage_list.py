"""The inbox list as the place to triage: each row says what is asked (key arguments,
descriptions rendered from markdown with raw HTML escaped), the deployment filter lists each
name once and filters, and a run that was stopped leaves nothing to decide."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.inbox.models import Interrupt, Kind, Status
from apps.inbox.records import sync_thread_interrupts
from tests.fixtures.workflow import make_item

pytestmark = pytest.mark.django_db


def _refund_action(**args: Any) -> dict[str, Any]:
    return {
        "name": "issue_refund",
        "args": args,
        "description": "**ACME** asks for a refund of **42.50 USD**. <script>alert(1)</script>",
        "allowed_decisions": ["accept", "edit", "response", "ignore"],
        "args_schema": None,
    }


def test_a_row_shows_the_actions_key_arguments_escaped_and_cut_short(client, oscar, deployment_a):
    item = make_item(
        deployment_a,
        actions=[
            _refund_action(
                customer="<b>ACME</b>",
                amount=42.5,
                recipient="jane@example.com",
                note="x" * 500,
                extra={"nested": "not shown"},
            )
        ],
    )
    client.force_login(oscar)

    html = client.get("/inbox/").content.decode()
    row = html[html.index(f'id="interrupt-{item.pk}"') :]
    row = row[: row.index("</tr>")]

    assert "&lt;b&gt;ACME&lt;/b&gt;" in row
    assert "<b>ACME</b>" not in row
    assert "42.5" in row
    assert "jane@example.com" in row
    assert "x" * 59 + "…" in row
    assert "x" * 60 not in row
    assert "nested" not in row
    assert "+1 more" in row


def test_a_description_is_rendered_from_markdown_and_html_in_it_is_escaped(
    client, oscar, deployment_a
):
    item = make_item(deployment_a, actions=[_refund_action(amount=42.5)])
    client.force_login(oscar)

    html = client.get("/inbox/").content.decode()
    row = html[html.index(f'id="interrupt-{item.pk}"') :]

    assert "<strong>42.50 USD</strong>" in row
    assert "**42.50 USD**" not in row
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in row
    assert "<script>alert(1)" not in html


def test_the_decision_page_renders_the_description_from_markdown(client, oscar, paused):
    paused_thread = paused("refund_approval", {"customer": "ACME", "amount": 42.5})
    client.force_login(oscar)

    html = client.get(paused_thread.url).content.decode()

    assert "<strong>42.50 USD</strong>" in html
    assert "**42.50 USD**" not in html


def test_each_deployment_is_named_once_in_the_filters_and_the_filter_works(
    client, oscar, deployment_a, team_a
):
    from apps.deployments.models import Deployment

    other = Deployment.objects.create(team=team_a, name="Second deployment", url=deployment_a.url)
    here = make_item(deployment_a)
    there = make_item(other)
    client.force_login(oscar)

    for page in ("/inbox/", "/workflow/bulk/", "/workflow/metrics/"):
        html = client.get(page).content.decode()
        filters = html[html.index("<legend>Deployment</legend>") :]
        filters = filters[: filters.index("</fieldset>")]
        assert filters.count("Second deployment") == 1, page
        assert filters.count("A demo") == 1, page
        assert len(re.findall(r'type="checkbox" name="deployment" value="\d+"', filters)) == 2

    filtered = client.get("/inbox/", {"deployment": str(other.pk)}).content.decode()
    assert f'id="interrupt-{there.pk}"' in filtered
    assert f'id="interrupt-{here.pk}"' not in filtered
    bulk = client.get("/workflow/bulk/", {"deployment": str(other.pk)})
    assert [row.pk for row in bulk.context["preview"]] == [there.pk]


def _run_status_becomes(client: Any, thread_id: str, run_id: str, wanted: set[str]) -> str:
    deadline = time.monotonic() + 30
    status = client.get_run(thread_id, run_id)["status"]
    while status not in wanted and time.monotonic() < deadline:
        time.sleep(0.1)
        status = client.get_run(thread_id, run_id)["status"]
    return str(status)


@pytest.mark.django_db(transaction=True)
def test_a_cancelled_run_makes_no_inbox_item(client, oscar, deployment_a, graph_client):
    thread_id = str(graph_client.create_thread()["thread_id"])
    run = graph_client.create_run(thread_id, {"chunks": 400, "rate": 20}, assistant_id="chatty")
    assert _run_status_becomes(graph_client, thread_id, run["run_id"], {"running"}) == "running"
    graph_client.cancel_run(thread_id, run["run_id"], wait=False, action="interrupt")
    assert _run_status_becomes(graph_client, thread_id, run["run_id"], {"interrupted"}) == (
        "interrupted"
    )
    # What the console's sync sees: a thread "interrupted" with its node still next.
    state = graph_client.get_thread_state(thread_id)
    assert state["next"] == ["chat"]

    result = sync_thread_interrupts(deployment_a, thread_id)

    assert result.pending == []
    assert not Interrupt.objects.filter(thread_id=thread_id, status=Status.PENDING).exists()
    client.force_login(oscar)
    assert "data-row" not in client.get("/inbox/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_breakpoint_set_on_the_run_still_makes_an_inbox_item(deployment_a, graph_client):
    thread_id = str(graph_client.create_thread()["thread_id"])
    graph_client.wait_run(
        thread_id, input={"chunks": 1, "rate": 0}, assistant_id="chatty", interrupt_before=["chat"]
    )

    result = sync_thread_interrupts(deployment_a, thread_id)

    assert [(r.kind, r.node) for r in result.pending] == [(Kind.BREAKPOINT, "chat")]


def test_the_list_reads_the_same_number_of_queries_for_3_or_30_items(client, oscar, deployment_a):
    client.force_login(oscar)

    def queries_with(n: int) -> int:
        while Interrupt.objects.count() < n:
            make_item(deployment_a)
        with CaptureQueriesContext(connection) as seen:
            assert client.get("/inbox/").status_code == 200
        return len(seen.captured_queries)

    assert queries_with(3) == queries_with(30)
