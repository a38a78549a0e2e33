"""Someone invited who has not accepted yet belongs to no team: their first pages load (the
thread list once answered them with a 500)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/threads/", "/accounts/teams/", "/inbox/", "/runs/"])
def test_a_user_in_no_team_gets_their_pages(client, path):
    client.force_login(User.objects.create_user("newcomer", "n@example.org", "password"))
    assert client.get(path).status_code == 200
