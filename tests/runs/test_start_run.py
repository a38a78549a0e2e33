from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from apps.audit.models import AuditEntry
from apps.deployments.models import Deployment
from apps.runs.models import Run

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
