"""The selectors other apps call: permission-scoped, 404 for other teams."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.http import Http404

from apps.deployments.models import Deployment
from apps.threads.selectors import get_thread_for, threads_for
from tests.fixtures.threads import index_row

pytestmark = pytest.mark.django_db


def test_threads_for_returns_only_the_users_teams_threads(
    alice: User, charlie: User, deployment_a: Deployment, deployment_b: Deployment
) -> None:
    a, b = index_row(deployment_a), index_row(deployment_b)
    assert list(threads_for(alice)) == [a]
    assert list(threads_for(charlie)) == [b]


def test_get_thread_for_answers_404_for_another_team(
    alice: User, deployment_a: Deployment, deployment_b: Deployment
) -> None:
    mine = index_row(deployment_a)
    theirs = index_row(deployment_b)
    assert get_thread_for(alice, deployment_a.pk, mine.thread_id) == mine
    with pytest.raises(Http404):
        get_thread_for(alice, deployment_b.pk, theirs.thread_id)
    with pytest.raises(Http404):
        get_thread_for(alice, deployment_a.pk, theirs.thread_id)
