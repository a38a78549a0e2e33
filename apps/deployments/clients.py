"""The one place that builds SDK clients for a deployment.

Clients are built per process, lazily, on first use, and rebuilt when the deployment row changes.
Nothing here runs at import time, so a Celery worker that forks after importing this module never
inherits a client (and its loop thread and sockets) from its parent.

Every client sends through the outbound guard (``apps.deployments.guard``), which checks the
address each connection actually goes to, under the settings in force when it connects.
"""

from __future__ import annotations

import json
import os
import threading

from django.conf import settings

from apps.deployments.crypto import decrypt
from apps.deployments.guard import GuardedAsyncTransport
from apps.deployments.models import Deployment
from switchboard import Client, SyncClient

_lock = threading.Lock()
_sync_clients: dict[tuple[int, int, str], SyncClient] = {}


def _cache_key(deployment: Deployment) -> tuple[int, int, str]:
    return (os.getpid(), deployment.pk, deployment.updated_at.isoformat())


def _api_key(deployment: Deployment) -> str | None:
    if deployment.secrets_url != deployment.url:
        return None  # given for another URL: never sent to this one
    return decrypt(deployment.api_key_encrypted) or None


def _headers(deployment: Deployment) -> dict[str, str]:
    if deployment.secrets_url != deployment.url:
        return {}
    raw = decrypt(deployment.headers_encrypted)
    return dict(json.loads(raw)) if raw else {}


def sync_client_for(deployment: Deployment) -> SyncClient:
    """The process's ``SyncClient`` for ``deployment``, built on first use."""
    key = _cache_key(deployment)
    with _lock:
        client = _sync_clients.get(key)
        if client is None:
            for old_key in [k for k in _sync_clients if k[1] == deployment.pk or k[0] != key[0]]:
                old = _sync_clients.pop(old_key)
                # A client inherited across a fork has no loop thread here: just forget it.
                if old_key[0] == key[0]:
                    old.close()
            client = SyncClient(
                deployment.url,
                _api_key(deployment),
                headers=_headers(deployment),
                timeout=settings.DEPLOYMENT_TIMEOUT,
                transport=GuardedAsyncTransport(),
            )
            _sync_clients[key] = client
        return client


def probe_client_for(deployment: Deployment, *, timeout: float) -> SyncClient:
    """A one-off ``SyncClient`` that never retries, for the "test connection" action: the admin
    wants the first answer (or failure) at once, not after the usual backoff. The caller closes
    it (``with probe_client_for(...) as client:``)."""
    return SyncClient(
        deployment.url,
        _api_key(deployment),
        headers=_headers(deployment),
        timeout=timeout,
        max_retries=0,
        transport=GuardedAsyncTransport(),
    )


def read_client_for(deployment: Deployment) -> SyncClient:
    """For reads made while an operator waits (page views): the same client and connection pool,
    with one retry instead of the usual backoff, so a deployment that is down is reported as down
    well within ``DEPLOYMENT_TIMEOUT``. One retry still covers a dropped keep-alive connection."""
    return sync_client_for(deployment).with_options(max_retries=1)


def async_client_for(deployment: Deployment) -> Client:
    """A fresh async client; the caller owns it (``async with``) because an async client is bound
    to the event loop it was first used on."""
    return Client(
        deployment.url,
        _api_key(deployment),
        headers=_headers(deployment),
        timeout=settings.DEPLOYMENT_TIMEOUT,
        transport=GuardedAsyncTransport(),
    )
