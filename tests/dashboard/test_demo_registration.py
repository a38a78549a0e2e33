from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.audit.models import AuditEntry
from apps.deployments.models import Deployment

pytestmark = pytest.mark.django_db


def test_the_demo_deployment_registers_once_however_often_the_console_starts():
    for _ in range(3):
        call_command("register_demo_deployment", "http://127.0.0.1:2024")
    demo = Deployment.objects.get(is_demo=True)
    assert demo.name == "Local demo"
    assert demo.team.slug == "demo"
    assert AuditEntry.objects.filter(action="deployment.register_demo").count() == 1


def test_a_new_port_re_points_the_demo_deployment_instead_of_adding_one():
    call_command("register_demo_deployment", "http://127.0.0.1:2024")
    call_command("register_demo_deployment", "http://127.0.0.1:40123")
    assert list(Deployment.objects.values_list("url", flat=True)) == ["http://127.0.0.1:40123"]
    change = AuditEntry.objects.get(action="deployment.update")
    assert change.before == {"url": "http://127.0.0.1:2024"}
    assert change.actor_label == "system"


def test_the_demo_admin_is_created_once_and_administers_the_demo_team(capsys, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("ensure_demo_admin")
    first = capsys.readouterr().out
    call_command("ensure_demo_admin")
    second = capsys.readouterr().out
    assert "demo admin created" in first
    assert "demo admin exists" in second
    # The same password is printed each time, so `make run` can always show the login.
    assert first.split("password")[1] == second.split("password")[1]
    from django.contrib.auth.models import User

    admin = User.objects.get(username="admin")
    assert admin.is_superuser
    assert admin.memberships.get().role == "admin"
