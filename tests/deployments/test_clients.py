"""The one factory that builds SDK clients for a deployment: per process, lazily, cached."""

from __future__ import annotations

import os
import subprocess
import sys

from apps.deployments import clients
from apps.deployments.crypto import encrypt
from apps.deployments.models import Deployment
from tests.deployments.local_server import Answer, local_server


def test_it_builds_one_client_per_deployment_and_reuses_it(deployment_a):
    first = clients.sync_client_for(deployment_a)
    assert clients.sync_client_for(Deployment.objects.get(pk=deployment_a.pk)) is first
    assert first.health()["ok"] is True


def test_it_rebuilds_the_client_when_the_deployment_changes(deployment_a):
    first = clients.sync_client_for(deployment_a)
    deployment_a.name = "renamed"
    deployment_a.save()

    second = clients.sync_client_for(deployment_a)

    assert second is not first
    assert [key for key in clients._sync_clients if key[1] == deployment_a.pk] == [
        clients._cache_key(deployment_a)
    ]


def test_a_forked_process_builds_its_own_client(deployment_a, monkeypatch):
    parent = clients.sync_client_for(deployment_a)
    pid = os.getpid()
    # A Celery worker child has another pid: it must not reuse (or close) its parent's client.
    monkeypatch.setattr(os, "getpid", lambda: pid + 100_000)
    closed = []
    monkeypatch.setattr(parent, "close", lambda: closed.append(True))

    child = clients.sync_client_for(deployment_a)

    assert child is not parent
    assert closed == []
    assert all(key[0] == pid + 100_000 for key in clients._sync_clients)


def test_it_sends_the_decrypted_key_and_headers(team_a):
    with local_server(lambda request: Answer(200)) as server:
        deployment = Deployment.objects.create(
            team=team_a,
            name="Recorded",
            url=server.url,
            api_key_encrypted=encrypt("k-42"),
            headers_encrypted=encrypt('{"X-Tenant": "acme"}'),
        )
        clients.sync_client_for(deployment).health()

    assert server.requests[0].headers["x-api-key"] == "k-42"
    assert server.requests[0].headers["x-tenant"] == "acme"


def test_importing_the_module_builds_nothing_and_starts_no_thread():
    # Clients are made on first use only: never at import, so never before a Celery fork.
    script = (
        "import threading, django; django.setup(); "
        "before = threading.active_count(); "
        "import apps.deployments.clients as c, apps.health.checks; "
        "assert c._sync_clients == {}, c._sync_clients; "
        "assert threading.active_count() == before, threading.enumerate()"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dashboard.settings"}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
