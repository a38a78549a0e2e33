"""A run or a thread that stopped for a person leads, in one click, to the decision page of its
pending item (the inbox's page for the (deployment, thread) pair, linked by URL name: runs and
threads sit below the inbox and never import it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.test import Client

from apps.deployments.models import Deployment
from apps.runs.models import Run
from tests.fixtures.inbox import REFUND, Paused


def _decide_href(body: str) -> str:
    decide = body.split('id="decide"')[1].split("</p>")[0]
    return decide.split('href="')[1].split('"')[0]


def test_a_decide_button_on_an_interrupted_run_leads_to_its_item(
    client: Client,
    oscar: User,
    deployment_a: Deployment,
    paused: Callable[..., Paused],
    make_run: Callable[..., Run],
) -> None:
    stopped = paused("refund_approval", REFUND)
    run = make_run(deployment_a, status="interrupted", thread_id=stopped.thread_id)
    client.force_login(oscar)

    body = client.get(f"/runs/{run.pk}/").content.decode()
    assert 'id="decide" class="panel" hidden' not in body
    href = _decide_href(body)
    assert href == stopped.url

    assert client.get(href).status_code == 200


def test_a_run_that_did_not_stop_for_a_person_hides_the_decide_button(
    client: Client, oscar: User, make_run: Callable[..., Run], deployment_a: Deployment
) -> None:
    run = make_run(deployment_a, status="succeeded")
    client.force_login(oscar)

    assert 'id="decide" class="panel" hidden' in client.get(f"/runs/{run.pk}/").content.decode()


def test_a_decide_button_on_an_interrupted_thread_leads_to_its_item(
    client: Client, oscar: User, deployment_a: Deployment, paused: Callable[..., Paused]
) -> None:
    stopped = paused("refund_approval", REFUND)
    client.force_login(oscar)

    body = client.get(f"/threads/{deployment_a.pk}/{stopped.thread_id}/").content.decode()
    decide = body.split('id="decide"')[1].split(">")[0]
    assert f'href="{stopped.url}"' in decide
    assert client.get(stopped.url).status_code == 200


def test_a_viewer_sees_the_cancel_button_disabled_with_the_reason(
    client: Client, bob: User, make_run: Callable[..., Run], deployment_a: Deployment
) -> Any:
    run = make_run(deployment_a, status="streaming")
    client.force_login(bob)

    body = client.get(f"/runs/{run.pk}/").content.decode()
    assert 'disabled aria-describedby="cancel-why"' in body
    assert f'action="/runs/{run.pk}/cancel/"' not in body
