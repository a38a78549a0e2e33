"""The one permission layer: teams_for, can, require."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from apps.accounts.permissions import can, require, role_in, teams_for
from apps.deployments.models import Deployment


@pytest.fixture
def deployment_in_a(team_a):
    return Deployment.objects.create(team=team_a, name="A", url="http://10.0.0.1")


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [
        ("alice", {"view", "operate", "decide", "administer"}),
        ("oscar", {"view", "operate", "decide"}),
        ("bob", {"view"}),
        ("charlie", set()),
    ],
)
def test_each_role_may_do_what_it_should_on_team_a(
    request, persona, allowed, team_a, deployment_in_a
):
    user = request.getfixturevalue(persona)
    for action in ("view", "operate", "decide", "administer"):
        assert can(user, action, team_a) is (action in allowed), action
        assert can(user, action, deployment_in_a) is (action in allowed), action
        assert teams_for(user, action).filter(pk=team_a.pk).exists() is (action in allowed)


def test_it_refuses_anonymous_users(team_a, deployment_in_a):
    anonymous = AnonymousUser()
    assert not teams_for(anonymous).exists()
    assert not can(anonymous, "view", deployment_in_a)
    assert role_in(anonymous, team_a.pk) is None


def test_require_names_the_role_needed(bob, oscar, team_a):
    with pytest.raises(PermissionDenied, match="operator role"):
        require(bob, "operate", team_a)
    with pytest.raises(PermissionDenied, match="admin role"):
        require(oscar, "administer", team_a)
    require(oscar, "decide", team_a)


def test_teams_for_lists_only_the_users_teams(alice, charlie, team_a, team_b):
    assert list(teams_for(alice)) == [team_a]
    assert list(teams_for(charlie)) == [team_b]
