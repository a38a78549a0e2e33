"""The deployment selectors other apps use: scoped lookups and the write guard."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from apps.deployments.models import Deployment
from apps.deployments.selectors import (
    check_writable,
    deployments_for,
    get_deployment_for,
    get_rw_deployment_for,
)


@pytest.fixture
def ours(team_a):
    return Deployment.objects.create(team=team_a, name="Ours", url="http://10.0.0.1")


@pytest.fixture
def theirs(team_b):
    return Deployment.objects.create(team=team_b, name="Theirs", url="http://10.0.0.2")


def test_deployments_for_scopes_to_the_users_teams(alice, charlie, ours, theirs):
    assert list(deployments_for(alice)) == [ours]
    assert list(deployments_for(charlie)) == [theirs]


def test_another_teams_deployment_is_a_404_whatever_the_action(alice, theirs):
    for action in ("view", "operate", "administer"):
        with pytest.raises(Http404):
            get_deployment_for(alice, theirs.pk, action)


def test_a_role_too_weak_is_a_403_naming_the_role(bob, ours):
    assert get_deployment_for(bob, ours.pk) == ours
    with pytest.raises(PermissionDenied, match="operator role"):
        get_deployment_for(bob, ours.pk, "operate")


def test_a_read_only_deployment_refuses_writes_with_words(oscar, ours):
    ours.read_only = True
    ours.save()
    with pytest.raises(PermissionDenied, match="read-only"):
        get_rw_deployment_for(oscar, ours.pk)
    # Reads are still fine.
    assert get_deployment_for(oscar, ours.pk) == ours


def test_a_disabled_deployment_refuses_writes(ours):
    ours.enabled = False
    with pytest.raises(PermissionDenied, match="disabled"):
        check_writable(ours)


def test_a_writable_deployment_passes(oscar, ours):
    assert get_rw_deployment_for(oscar, ours.pk) == ours
