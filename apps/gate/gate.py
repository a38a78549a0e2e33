"""The gate: every change a person (or the system: timeouts, bulk jobs) makes to a deployment
passes through ``pass_through``, which checks, in this one order, for every path:

1. the role (``decide`` or ``operate`` on the deployment's team);
2. the deployment is writable (enabled, not read-only);
3. the rules higher layers register here (``register_rule``): the inbox's mandatory comments,
   the team workflow's claims, approval rules and four-eyes. Before them, the records a change
   decides or overrides are found (``register_items``: the inbox's pending items on the thread),
   so a run started on a waiting thread meets the same rules as the decision form;
4. the stale-decision guard, where a checkpoint is involved (the path's ``guard``);
5. the input: every payload about to be sent is JSON a deployment can take
   (``dashboard.strict.check_json_value``: no NaN/Infinity, bounded depth and size).

Then it records the intent in the audit log and commits it *before* the deployment is called,
calls the path's ``send``, and records the outcome (success, or the error) after: a deployment
that changed is never missing from the audit log, whatever fails later.

The gate sits just above deployments (accounts, audit < deployments < gate < threads < runs <
inbox < workflow): the apps that change deployments (runs, inbox, and workflow through the inbox)
all sit above it and call it, and it knows them only through the hooks they register.

Only a passing intent writes to a deployment on a person's behalf: ``update_thread_state`` here
is the console's one call of the SDK's state write and refuses outside a pass, and
``apps.runs.services.create_run`` (the Run row its relay carries out, and the only source of
upstream run creation and cancellation) likewise. The Store and cron writes (``put_store_item``,
``delete_store_item``, ``update_cron``, ``delete_cron``) are here for the same reason: they
write only inside a pass.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, models, transaction
from django.http import HttpRequest

from apps.accounts.permissions import Action, AnyUser, require
from apps.audit.services import record
from apps.deployments.clients import sync_client_for
from apps.deployments.models import Deployment
from apps.deployments.selectors import check_writable
from dashboard.strict import StrictInputError, check_json_value

log = logging.getLogger(__name__)

R = TypeVar("R")


class Refused(Exception):
    """A refusal with a sentence for the person (each path has its own kind: the inbox's
    ``InboxRefused``, the runs app's ``RunRefused``)."""


@dataclass
class Intent:
    """One change about to be made to a deployment, as the path describes it.

    ``action`` names the path (``inbox.decide``, ``inbox.continue``, ``inbox.edit_state``,
    ``inbox.resolve``, ``run.start``, ``run.cancel``, ``run.watch``, ``store.put``,
    ``store.delete``, ``cron.pause``, ``cron.resume``, ``cron.delete``); ``decision`` is what it does to the items
    it touches for the workflow's rules (``answer``, ``raw``, ``continue``, ``edit_state``,
    ``resolve``, ``run``, ``cancel``). ``items`` are the inbox records the change decides or
    overrides and ``values`` what each gets, by record pk; ``payloads`` everything about to be
    sent. Refusals that are not a ``PermissionDenied`` reach the path as ``refusal`` (a subclass
    of ``Refused``).
    """

    actor: AnyUser
    deployment: Deployment
    action: str
    permission: Action
    refusal: type[Refused]
    decision: str = ""
    thread_id: str = ""
    items: Sequence[Any] = ()
    values: Mapping[int, Any] = field(default_factory=dict)
    payloads: Sequence[Any] = ()
    detail: dict[str, Any] = field(default_factory=dict)
    comment: str = ""
    target: models.Model | None = None
    request: HttpRequest | None = None
    # The stale-decision guard of a path that acts on a checkpoint it read.
    guard: Callable[[], None] | None = None
    # What to read before the rules (the records, the thread, the composed payload).
    prepare: Callable[[Intent], None] | None = None
    # False for an action that only reads the deployment but is audited like a change
    # (``run.watch``): allowed on a read-only deployment, and it settles no inbox item.
    writes: bool = True


Rule = Callable[[Intent], None]
Items = Callable[[Intent], Sequence[Any]]

_rules: list[Rule] = []
_items: list[Items] = []
_passing: contextvars.ContextVar[Intent | None] = contextvars.ContextVar("gate", default=None)


def register_rule(rule: Rule) -> None:
    """A check every intent meets after the role and the writable deployment; it refuses by
    raising ``PermissionDenied`` or a ``Refused``."""
    if rule not in _rules:
        _rules.append(rule)


def register_items(finder: Items) -> None:
    """How to find the records an intent with none of its own touches (a run on a thread)."""
    if finder not in _items:
        _items.append(finder)


def passing() -> Intent:
    """The intent being carried out; a deployment write outside one is a bug, not a refusal."""
    intent = _passing.get()
    if intent is None:
        raise RuntimeError("Deployment writes happen inside apps.gate.gate.pass_through only.")
    return intent


def check(intent: Intent) -> None:
    """Steps 1-5: refuse the intent, or return with it checked."""
    require(intent.actor, intent.permission, intent.deployment)
    if intent.writes:
        check_writable(intent.deployment)
    elif not intent.deployment.enabled:
        raise PermissionDenied(
            f"The deployment {intent.deployment.name!r} is disabled: a team admin can enable it."
        )
    if intent.prepare is not None:
        intent.prepare(intent)
    if not intent.items and intent.thread_id and intent.writes:
        intent.items = [item for finder in _items for item in finder(intent)]
    for rule in _rules if intent.writes else ():
        try:
            rule(intent)
        except (PermissionDenied, intent.refusal):
            raise
        except Refused as refused:
            # Another path's kind of refusal (a claim, said in the inbox's words, refusing a
            # run): the path's own kind, with the same sentence.
            raise intent.refusal(str(refused)) from refused
    if intent.guard is not None:
        intent.guard()
    try:
        for payload in intent.payloads:
            check_json_value(payload)
    except StrictInputError as error:
        raise intent.refusal(f"Refused before sending: {error}") from None


def _audit(intent: Intent, action: str, after: dict[str, Any]) -> int:
    # Its own transaction (a savepoint inside a caller's): committed before the deployment is
    # called when, as in every view and task, the caller holds none.
    with transaction.atomic():
        entry = record(
            actor=intent.actor,
            action=action,
            target=intent.target if intent.target is not None else intent.deployment,
            team_id=intent.deployment.team_id,
            deployment_id=intent.deployment.pk,
            after=after,
            reason=intent.comment,
            request=intent.request,
        )
    return entry.pk


@contextmanager
def _open(intent: Intent) -> Iterator[None]:
    token = _passing.set(intent)
    try:
        yield
    finally:
        _passing.reset(token)


def pass_through(
    intent: Intent,
    send: Callable[[], R],
    describe: Callable[[R], dict[str, Any]] = lambda _: {},
) -> R:
    """Check ``intent`` (``check``), audit it, carry it out with ``send``, audit the outcome."""
    check(intent)
    entry = _audit(
        intent,
        "gate.intent",
        {
            "action": intent.action,
            "decision": intent.decision,
            "thread_id": intent.thread_id,
            "items": [getattr(item, "pk", None) for item in intent.items],
            **intent.detail,
        },
    )
    try:
        with _open(intent):
            result = send()
    except Exception as error:
        try:
            _audit(intent, "gate.outcome", {"intent": entry, "ok": False, "error": str(error)})
        except DatabaseError:
            log.exception("could not record the failed outcome of audit entry %s", entry)
        raise
    _audit(intent, "gate.outcome", {"intent": entry, "ok": True, **describe(result)})
    return result


def update_thread_state(
    thread_id: str, values: Any, *, as_node: str | None = None, checkpoint_id: str | None = None
) -> Any:
    """Write a thread's state on the deployment of the intent passing: the console's one call
    of the SDK's state write."""
    intent = passing()
    return sync_client_for(intent.deployment).update_thread_state(
        thread_id, values, as_node=as_node, checkpoint_id=checkpoint_id
    )


def put_store_item(namespace: Sequence[str], key: str, value: Mapping[str, Any]) -> None:
    """Write a Store item on the deployment of the intent passing."""
    sync_client_for(passing().deployment).store.put_item(namespace, key, value)


def delete_store_item(namespace: Sequence[str], key: str) -> None:
    """Delete a Store item on the deployment of the intent passing."""
    sync_client_for(passing().deployment).store.delete_item(namespace, key)


def update_cron(cron_id: str, *, enabled: bool) -> Any:
    """Pause (``enabled=False``) or resume a cron on the deployment of the intent passing."""
    return sync_client_for(passing().deployment).crons.update(cron_id, enabled=enabled)


def delete_cron(cron_id: str) -> None:
    """Delete a cron on the deployment of the intent passing."""
    sync_client_for(passing().deployment).crons.delete(cron_id)
