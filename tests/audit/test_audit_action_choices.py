"""The audit page's action filter offers the action names the console really writes."""

from __future__ import annotations

import re
from pathlib import Path

from django.contrib.auth.models import User
from django.test import Client

from apps.audit.forms import ACTION_NAMES
from apps.inbox.models import Decision

APPS = Path(__file__).resolve().parents[2] / "apps"
WRITTEN = re.compile(r'action="([a-z_]+\.[a-z_.]+)"|^\s+"(gate\.[a-z_]+)",?$', re.M)


def _written_names() -> set[str]:
    found: set[str] = set()
    for path in APPS.rglob("*.py"):
        for literal, gate in WRITTEN.findall(path.read_text()):
            found.add(literal or gate)
    found |= {f"inbox.{action}" for action in Decision.Action.values}
    return found


def test_every_action_name_written_in_the_apps_is_a_choice() -> None:
    offered = {name for names in ACTION_NAMES.values() for name in names}

    assert _written_names() - offered == set()


def test_the_action_filter_is_a_choice_list_and_refuses_a_made_up_name(
    client: Client, alice: User
) -> None:
    client.force_login(alice)

    page = client.get("/audit/").content.decode()
    assert '<select name="action"' in page
    assert '<option value="inbox.answer">inbox.answer</option>' in page
    assert '<option value="deployment.">every deployment action</option>' in page
    assert client.get("/audit/?action=inbox.nonsense").status_code == 400
