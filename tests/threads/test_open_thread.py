"""GET /threads/open/?id=: open a thread by pasting its id."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.deployments.models import Deployment
from apps.threads.models import ThreadIndex
from tests.fixtures.threads import DemoThreads, index_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in(client: Client, alice: User) -> Client:
    client.force_login(alice)
    return client


def test_it_opens_an_indexed_thread(logged_in: Client, deployment_a: Deployment) -> None:
    row = index_row(deployment_a)
    response = logged_in.get("/threads/open/", {"id": f"  {row.thread_id.upper()} "})
    assert response.status_code == 302
    assert response["Location"] == f"/threads/{deployment_a.pk}/{row.thread_id}/"


def test_it_finds_a_thread_the_index_does_not_know_yet(
    logged_in: Client, deployment_a: Deployment, demo_threads: DemoThreads
) -> None:
    response = logged_in.get("/threads/open/", {"id": demo_threads.refund})
    assert response["Location"] == f"/threads/{deployment_a.pk}/{demo_threads.refund}/"
    assert ThreadIndex.objects.filter(
        deployment=deployment_a, thread_id=demo_threads.refund
    ).exists()


def test_it_lets_the_user_choose_when_two_deployments_have_the_id(
    logged_in: Client, deployment_a: Deployment, team_a: object, langgraph_url: str
) -> None:
    other = Deployment.objects.create(team=deployment_a.team, name="A mirror", url=langgraph_url)
    row = index_row(deployment_a)
    index_row(other, thread_id=row.thread_id)
    body = logged_in.get("/threads/open/", {"id": row.thread_id}).content.decode()
    assert f'href="/threads/{deployment_a.pk}/{row.thread_id}/"' in body
    assert f'href="/threads/{other.pk}/{row.thread_id}/"' in body


def test_it_never_finds_another_teams_thread(
    logged_in: Client, deployment_a: Deployment, deployment_b: Deployment
) -> None:
    foreign = index_row(deployment_b)
    response = logged_in.get("/threads/open/", {"id": foreign.thread_id})
    assert response.status_code == 404
    assert "None of your deployments has thread" in response.content.decode()


def test_it_explains_an_id_that_is_not_a_thread_id(logged_in: Client) -> None:
    response = logged_in.get("/threads/open/", {"id": "<b>hello</b>"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "is not a thread id" in body
    assert 'value="&lt;b&gt;hello&lt;/b&gt;"' in body


def test_it_shows_the_form_without_an_id(logged_in: Client) -> None:
    assert logged_in.get("/threads/open/").status_code == 200


def test_it_says_which_deployments_could_not_be_asked(
    logged_in: Client, down_deployment: Deployment
) -> None:
    body = logged_in.get("/threads/open/", {"id": str(uuid.uuid4())}).content.decode()
    assert "A down could not be asked" in body
