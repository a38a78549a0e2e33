from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from django.test import Client

from apps.audit.models import AuditEntry
from apps.deployments.models import Deployment
from apps.runs.models import Run
from dashboard.embedded import BASE_DIR

pytestmark = pytest.mark.django_db


def post(client: Client, deployment: Deployment, **fields: Any) -> Any:
    data = {
        "deployment": deployment.pk,
        "assistant_id": "chatty",
        "input": json.dumps({"chunks": 3}),
        "stream_mode": ["values", "messages-tuple"],
        "multitask_strategy": "reject",
        **fields,
    }
    return client.post("/runs/new/", data)


def test_it_shows_the_form_prefilled_from_a_thread_link(client, oscar, deployment_a):
    client.force_login(oscar)
    thread = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
    response = client.get(f"/runs/new/?deployment={deployment_a.pk}&thread={thread}")
    assert response.status_code == 200
    body = response.content.decode()
    assert thread in body
    assert "Wait in line and start after" in body  # each strategy explains itself
    assert "Aegra 0.11 starts a rejected run" in body  # and where a server differs, it says so
    assert 'name="stream_mode"' in body


def test_it_builds_fields_from_the_graphs_input_schema(client, oscar, deployment_a):
    client.force_login(oscar)
    response = client.get(f"/runs/new/?deployment={deployment_a.pk}&assistant=chatty")
    assert 'name="in__chunks"' in response.content.decode()


def test_it_starts_a_queued_run_and_audits_it_once(client, oscar, deployment_a):
    client.force_login(oscar)
    response = post(client, deployment_a, interrupt_before="chat")
    run = Run.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/runs/{run.pk}/"
    assert (run.status, run.kind, run.input, run.started_by) == (
        "queued",
        "input",
        {"chunks": 3},
        oscar,
    )
    assert run.interrupt_before == ["chat"]
    assert run.thread_id  # a new thread gets its id at once
    (entry,) = AuditEntry.objects.filter(action="run.start")
    assert entry.target_id == str(run.pk)


def test_it_merges_schema_fields_into_the_input(client, oscar, deployment_a):
    client.force_login(oscar)
    post(client, deployment_a, input="", in__chunks="7")
    assert Run.objects.get().input == {"chunks": 7}


def test_it_keeps_what_was_typed_when_the_json_is_bad(client, oscar, deployment_a):
    client.force_login(oscar)
    response = post(client, deployment_a, input='{"chunks": 3,')
    assert response.status_code == 400
    body = response.content.decode()
    assert "not valid JSON" in body
    assert "{&quot;chunks&quot;: 3," in body
    assert not Run.objects.exists()


def test_it_refuses_a_checkpoint_without_a_thread_and_a_bad_uuid(client, oscar, deployment_a):
    client.force_login(oscar)
    response = post(client, deployment_a, checkpoint_id="1b4e28ba-2fa1-11d2-883f-0016d3cca427")
    assert "give the thread" in response.content.decode()
    response = post(client, deployment_a, thread_id="nope")
    assert "must be a UUID" in response.content.decode()
    assert not Run.objects.exists()


def test_a_checkpoint_without_input_is_a_rerun_and_with_input_a_fork(client, oscar, deployment_a):
    client.force_login(oscar)
    ids = {
        "thread_id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
        "checkpoint_id": "1b4e28ba-2fa1-11d2-883f-0016d3cca428",
    }
    post(client, deployment_a, input="", **ids)
    post(client, deployment_a, **ids)
    assert list(Run.objects.order_by("pk").values_list("kind", flat=True)) == ["rerun", "fork"]


def test_viewers_cannot_start_runs(client, bob, deployment_a):
    client.force_login(bob)
    assert post(client, deployment_a).status_code == 403
    assert not Run.objects.exists()


def test_another_teams_deployment_is_not_found(client, alice, deployment_b):
    client.force_login(alice)
    assert post(client, deployment_b).status_code == 404
    assert client.get(f"/runs/new/?deployment={deployment_b.pk}").status_code == 404


def test_read_only_deployments_refuse_runs(client, oscar, deployment_a):
    deployment_a.read_only = True
    deployment_a.save()
    client.force_login(oscar)
    assert post(client, deployment_a).status_code in (400, 403)
    assert not Run.objects.exists()


HTMX = {"HTTP_HX_REQUEST": "true"}
# Every graph graphs/langgraph.json serves, as the deployment's assistants list them.
DEMO_GRAPHS = sorted(json.loads((BASE_DIR / "graphs" / "langgraph.json").read_text())["graphs"])


def _options(body: str) -> list[str]:
    select = body.split('name="assistant_id"')[1].split("</select>")[0]
    return [v for v in re.findall(r'<option value="([^"]*)"', select) if v]


def test_choosing_a_deployment_offers_only_the_graphs_it_serves(
    client, oscar, deployment_a, down_deployment
):
    client.force_login(oscar)

    served = client.get(f"/runs/new/?deployment={deployment_a.pk}", **HTMX)
    assert served.status_code == 200
    assert "<html" not in served.content.decode()  # the partial, swapped in by htmx
    assert _options(served.content.decode()) == DEMO_GRAPHS

    down = client.get(f"/runs/new/?deployment={down_deployment.pk}", **HTMX).content.decode()
    assert _options(down) == []
    assert "Could not read the graphs of" in down


def test_choosing_refund_approval_builds_its_fields_with_the_required_amount_and_an_example(
    client, oscar, deployment_a
):
    client.force_login(oscar)

    body = client.get(
        f"/runs/new/?deployment={deployment_a.pk}&assistant_id=refund_approval", **HTMX
    ).content.decode()

    assert re.search(r'<input type="number" name="in__amount"[^>]*data-required="true"', body)
    assert 'name="in__customer"' in body
    assert "Amount (required)" in body
    example = html.unescape(body.split('id="example-input">')[1].split("</pre>")[0])
    assert set(json.loads(example)) >= {"customer", "amount"}


def test_the_form_reloads_its_choices_with_htmx_and_no_inline_script(client, oscar, deployment_a):
    client.force_login(oscar)

    body = client.get("/runs/new/").content.decode()

    for field in ("deployment", "assistant_id"):
        tag = body.split(f'name="{field}"')[0].rsplit("<select", 1)[1]
        tag += body.split(f'name="{field}"')[1].split(">")[0]
        assert 'hx-get="/runs/new/"' in tag
        assert 'hx-target="#run-choices"' in tag
    assert "<script>" not in body
    assert " onclick=" not in body


def test_an_unknown_graph_is_refused_with_nothing_started(client, oscar, deployment_a):
    client.force_login(oscar)

    response = post(client, deployment_a, assistant_id="no_such_graph")

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Run.objects.exists()
    assert not AuditEntry.objects.filter(action="run.start").exists()


def test_a_new_refund_without_its_amount_is_refused_with_nothing_started(
    client, oscar, deployment_a
):
    client.force_login(oscar)

    response = post(
        client, deployment_a, assistant_id="refund_approval", input="", in__customer="ACME"
    )

    assert response.status_code == 400
    assert "needs amount in its input" in response.content.decode()
    assert not Run.objects.exists()


def test_a_refund_with_its_fields_filled_in_starts(client, oscar, deployment_a):
    client.force_login(oscar)

    response = post(
        client,
        deployment_a,
        assistant_id="refund_approval",
        input="",
        in__customer="ACME",
        in__amount="42.5",
    )

    assert response.status_code == 302, response.content.decode()
    run = Run.objects.get()
    assert run.assistant_id == "refund_approval"
    assert run.input == {"customer": "ACME", "amount": 42.5}
