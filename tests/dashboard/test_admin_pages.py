"""Every model of the console is in the Django admin for superusers to look at, and the admin
changes nothing that the console's own pages (validated, gated, audited) should change; logs
least of all."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import Model
from django.test import Client

from apps.audit.services import record
from apps.deployments.models import Deployment
from apps.runs.models import RunEvent
from apps.workflow.models import Channel
from tests.fixtures.runs import create_run

pytestmark = pytest.mark.django_db

# Teams and memberships are changed in the admin too, each change audited (apps/accounts/admin.py).
AUDITED_EDITS = {"accounts.team", "accounts.membership"}
LOGS = ["audit.auditentry", "runs.runevent", "inbox.decision", "workflow.notification", "workflow.approval"]  # fmt: skip


def _console_models() -> list[type[Model]]:
    return [
        model
        for config in apps.get_app_configs()
        if config.name.startswith("apps.")
        for model in config.get_models()
    ]


@pytest.fixture
def superuser_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "password"))
    return client


@pytest.fixture
def logged(team_a) -> RunEvent:
    """A deployment, a run with an event, and an audit entry: one row of each kind of log."""
    deployment = Deployment.objects.create(team=team_a, name="prod", url="https://agents.example")
    run = create_run(deployment, [("values", {"step": 1})])
    record(actor=None, action="deployment.create", target=deployment, team_id=team_a.pk)
    return run.events.get()


def test_every_model_of_the_console_is_in_the_admin():
    missing = [m._meta.label for m in _console_models() if not admin.site.is_registered(m)]
    assert missing == []


def test_a_superuser_can_open_every_list_and_add_only_what_is_audited(superuser_client, logged):
    for model in _console_models():
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        listing = superuser_client.get(base)
        assert listing.status_code == 200, f"{base}: {listing.status_code}"
        adding = superuser_client.get(f"{base}add/").status_code
        assert adding == (200 if model._meta.label_lower in AUDITED_EDITS else 403), base


def test_logs_can_be_read_but_not_changed_or_deleted(superuser_client, logged):
    checked = set()
    for label in LOGS:
        model = apps.get_model(label)
        row = model.objects.first()
        if row is None:
            continue
        page = f"/admin/{model._meta.app_label}/{model._meta.model_name}/{row.pk}/"
        shown = superuser_client.get(f"{page}change/")
        assert shown.status_code == 200, page
        assert b'name="_save"' not in shown.content, f"{page} offers to save"
        changed = superuser_client.post(f"{page}change/", {})
        assert changed.status_code == 403, page
        assert superuser_client.post(f"{page}delete/", {"post": "yes"}).status_code == 403, page
        assert model.objects.filter(pk=row.pk).exists()
        checked.add(label)
    assert checked >= {"audit.auditentry", "runs.runevent"}
    assert RunEvent.objects.filter(pk=logged.pk, data={"step": 1}).exists()


def test_a_webhook_target_is_not_shown_in_the_admin(superuser_client, team_a):
    channel = Channel.objects.create(
        team=team_a, kind=Channel.Kind.values[0], name="ops", target="https://hooks.example/T0K3N"
    )
    page = superuser_client.get(f"/admin/workflow/channel/{channel.pk}/change/")
    assert page.status_code == 200
    assert b"T0K3N" not in page.content
