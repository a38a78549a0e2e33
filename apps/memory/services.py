"""The console's changes to a deployment's Store and crons, each through the gate.

A Store item or a cron belongs to no thread and decides no inbox item: the gate's workflow
rules find nothing to check on these intents, so what guards them is the role (team admin:
long-term memory and schedules shape every future run), the writable deployment, the strict
input check on the value about to be sent, and the audit log's intent and outcome.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.http import HttpRequest

from apps.accounts.permissions import AnyUser
from apps.deployments.models import Deployment
from apps.gate import gate
from apps.gate.gate import Intent, Refused, pass_through


class MemoryRefused(Refused):
    """A Store or cron change the gate refused, with the sentence for the page."""


def _intent(
    actor: AnyUser,
    deployment: Deployment,
    action: str,
    *,
    request: HttpRequest | None,
    detail: dict[str, Any],
    payloads: Sequence[Any] = (),
) -> Intent:
    return Intent(
        actor=actor,
        deployment=deployment,
        action=action,
        permission="administer",
        refusal=MemoryRefused,
        decision=action.split(".", 1)[1],
        payloads=payloads,
        detail=detail,
        request=request,
    )


def do_put_item(
    *,
    actor: AnyUser,
    deployment: Deployment,
    namespace: Sequence[str],
    key: str,
    value: Mapping[str, Any],
    request: HttpRequest | None = None,
) -> None:
    """Write ``value`` under ``namespace``/``key``. The audit log names the item and the value's
    size, not the value: a Store item may be large, and may be personal memory."""
    size = len(json.dumps(value, ensure_ascii=False, default=str))
    intent = _intent(
        actor,
        deployment,
        "store.put",
        request=request,
        detail={"namespace": list(namespace), "key": key, "value_chars": size},
        payloads=[value],
    )
    pass_through(intent, lambda: gate.put_store_item(namespace, key, value))


def do_delete_item(
    *,
    actor: AnyUser,
    deployment: Deployment,
    namespace: Sequence[str],
    key: str,
    request: HttpRequest | None = None,
) -> None:
    intent = _intent(
        actor,
        deployment,
        "store.delete",
        request=request,
        detail={"namespace": list(namespace), "key": key},
    )
    pass_through(intent, lambda: gate.delete_store_item(namespace, key))


def do_set_cron_enabled(
    *,
    actor: AnyUser,
    deployment: Deployment,
    cron_id: str,
    enabled: bool,
    request: HttpRequest | None = None,
) -> None:
    intent = _intent(
        actor,
        deployment,
        "cron.resume" if enabled else "cron.pause",
        request=request,
        detail={"cron_id": cron_id},
    )
    pass_through(intent, lambda: gate.update_cron(cron_id, enabled=enabled))


def do_delete_cron(
    *, actor: AnyUser, deployment: Deployment, cron_id: str, request: HttpRequest | None = None
) -> None:
    intent = _intent(actor, deployment, "cron.delete", request=request, detail={"cron_id": cron_id})
    pass_through(intent, lambda: gate.delete_cron(cron_id))
