"""Starting and cancelling runs: validation (``check_*``) and mutations (``do_*``), each
through the gate (``apps.gate.gate``), which checks the role, the writable deployment, the
workflow's rules on the items waiting on the thread, and the input, and audits the intent.

Each mutation writes its row and its audit entry in one transaction, and sends work to Celery
only once that transaction has committed, so a relay never looks for a run that is not there.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal, TypeAlias

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from apps.accounts.permissions import AnyUser
from apps.audit.services import record
from apps.deployments.clients import sync_client_for
from apps.deployments.models import Deployment
from apps.gate.gate import Intent, Refused, pass_through, passing
from apps.runs import lease, watching
from apps.runs.events import RunEvents, event_payload
from apps.runs.models import ACTIVE_STATUSES, Kind, Origin, Run, Status
from apps.runs.relay import METADATA_KEY, cancel_upstream
from apps.runs.tasks import relay_run

RunKind: TypeAlias = Literal["input", "resume", "fork", "rerun"]
CancelAction: TypeAlias = Literal["interrupt", "rollback"]

STREAM_MODES = (
    "values",
    "updates",
    "messages-tuple",
    "messages",
    "custom",
    "tasks",
    "checkpoints",
    "debug",
    "events",
)
DEFAULT_STREAM_MODES = ["values", "updates", "messages-tuple", "custom"]
MULTITASK_STRATEGIES = ("reject", "enqueue", "interrupt", "rollback")


class RunRefused(Refused):
    """The run cannot be started or cancelled as asked; the message says why, for the operator."""


def check_start_run(
    *, kind: str, command: Any, stream_mode: list[str], multitask_strategy: str
) -> None:
    """What the run asks for makes sense (the role and a writable deployment are the gate's)."""
    if kind not in Kind.values:
        raise RunRefused(f"Unknown run kind {kind!r}.")
    if kind == Kind.RESUME and command is None:
        raise RunRefused("A resume needs a command.")
    if not stream_mode:
        raise RunRefused("Choose at least one stream mode.")
    unknown = [mode for mode in stream_mode if mode not in STREAM_MODES]
    if unknown:
        raise RunRefused(f"Unknown stream mode: {', '.join(unknown)}.")
    if multitask_strategy not in MULTITASK_STRATEGIES:
        raise RunRefused(f"Unknown multitask strategy {multitask_strategy!r}.")


def _run_intent(
    *,
    user: AnyUser,
    deployment: Deployment,
    action: str,
    thread_id: str,
    payloads: list[Any],
    detail: dict[str, Any],
    target: Run | None = None,
    request: HttpRequest | None = None,
) -> Intent:
    return Intent(
        actor=user,
        deployment=deployment,
        action=action,
        permission="operate",
        refusal=RunRefused,
        decision="cancel" if action == "run.cancel" else "run",
        thread_id=thread_id,
        payloads=payloads,
        detail=detail,
        target=target,
        request=request,
    )


def do_start_run(
    *,
    user: AnyUser,
    deployment: Deployment,
    thread_id: str | None,
    kind: RunKind,
    input: Any = None,
    command: Any = None,
    stream_mode: list[str] | None = None,
    multitask_strategy: str = "reject",
    checkpoint_id: str | None = None,
    interrupt_before: list[str] | str | None = None,
    interrupt_after: list[str] | str | None = None,
    assistant_id: str,
    request: HttpRequest | None = None,
) -> Run:
    """Start a run (start, fork, re-run) through the gate: see ``create_run``.

    ``thread_id=None`` starts a new thread: its id is chosen here (so pages can link to it at
    once) and the deployment creates it with the run. Raises ``PermissionDenied`` or
    ``RunRefused``.
    """
    thread_id = thread_id or str(uuid.uuid4())
    modes = list(stream_mode) if stream_mode is not None else list(DEFAULT_STREAM_MODES)
    intent = _run_intent(
        user=user,
        deployment=deployment,
        action="run.start",
        thread_id=thread_id,
        payloads=[input, command],
        detail={"kind": kind, "checkpoint_id": checkpoint_id or None},
        request=request,
    )
    intent.prepare = lambda _: check_start_run(
        kind=kind, command=command, stream_mode=modes, multitask_strategy=multitask_strategy
    )
    return pass_through(
        intent,
        lambda: create_run(
            user=user,
            deployment=deployment,
            thread_id=thread_id,
            kind=kind,
            input=input,
            command=command,
            stream_mode=modes,
            multitask_strategy=multitask_strategy,
            checkpoint_id=checkpoint_id,
            interrupt_before=interrupt_before,
            interrupt_after=interrupt_after,
            assistant_id=assistant_id,
            request=request,
        ),
        lambda run: {"run_id": run.pk},
    )


def create_run(
    *,
    user: AnyUser,
    deployment: Deployment,
    thread_id: str,
    kind: RunKind,
    input: Any = None,
    command: Any = None,
    stream_mode: list[str] | None = None,
    multitask_strategy: str = "reject",
    checkpoint_id: str | None = None,
    interrupt_before: list[str] | str | None = None,
    interrupt_after: list[str] | str | None = None,
    assistant_id: str,
    request: HttpRequest | None = None,
) -> Run:
    """Create the run (queued), audit it, and enqueue its relay once the transaction commits.

    Only inside a gate pass (``do_start_run``, or an inbox decision resuming its thread): the
    relay creates the upstream run of this row, carrying out the intent the gate let through.
    """
    passing()
    modes = list(stream_mode) if stream_mode is not None else list(DEFAULT_STREAM_MODES)
    check_start_run(
        kind=kind, command=command, stream_mode=modes, multitask_strategy=multitask_strategy
    )
    with transaction.atomic():
        run = Run.objects.create(
            team_id=deployment.team_id,
            deployment=deployment,
            thread_id=thread_id,
            assistant_id=assistant_id,
            kind=kind,
            input=input,
            command=command,
            stream_mode=modes,
            multitask_strategy=multitask_strategy,
            checkpoint_id=checkpoint_id or "",
            interrupt_before=interrupt_before or None,
            interrupt_after=interrupt_after or None,
            started_by_id=user.pk if user.is_authenticated else None,
            dispatched_at=timezone.now(),
        )
        record(
            actor=user,
            action="run.start",
            target=run,
            team_id=deployment.team_id,
            deployment_id=deployment.pk,
            after=_audit_view(run),
            request=request,
        )
        relay_run.delay_on_commit(run.pk)  # type: ignore[attr-defined]
    return run


def _audit_view(run: Run) -> dict[str, Any]:
    return {
        "thread_id": run.thread_id,
        "assistant_id": run.assistant_id,
        "kind": run.kind,
        "input": run.input,
        "command": run.command,
        "stream_mode": run.stream_mode,
        "multitask_strategy": run.multitask_strategy,
        "checkpoint_id": run.checkpoint_id or None,
        "interrupt_before": run.interrupt_before,
        "interrupt_after": run.interrupt_after,
    }


def do_cancel_run(
    *,
    user: AnyUser,
    run: Run,
    action: CancelAction,
    request: HttpRequest | None = None,
) -> str:
    """Cancel a run: at once if no relay has it yet, else on the deployment. Returns a message
    for the operator. Raises ``PermissionDenied`` or ``RunRefused``."""
    if action not in ("interrupt", "rollback"):
        raise RunRefused("Cancel with interrupt or rollback.")
    intent = _run_intent(
        user=user,
        deployment=run.deployment,
        action="run.cancel",
        thread_id=run.thread_id,
        payloads=[],
        detail={"run_id": run.pk, "cancel": action},
        target=run,
        request=request,
    )
    return pass_through(intent, lambda: _cancel(user, run, action, request), lambda n: {"note": n})


def _cancel(user: AnyUser, run: Run, action: CancelAction, request: HttpRequest | None) -> str:
    # The relay's cancel of the upstream run carries out the flag set here (``cancel_upstream``).
    passing()
    with transaction.atomic():
        locked = Run.objects.select_for_update().get(pk=run.pk)
        if not locked.is_active:
            raise RunRefused(f"This run has already finished ({locked.get_status_display()}).")
        before = {"status": locked.status, "cancel_requested": locked.cancel_requested}
        lease.request_cancel(locked.pk, action)
        record(
            actor=user,
            action="run.cancel",
            target=locked,
            team_id=locked.team_id,
            deployment_id=locked.deployment_id,
            before=before,
            after={"cancel_requested": action},
            request=request,
        )
        # A run no relay has claimed yet ends here; the end event reaches open pages on commit.
        # A followed run goes on upstream whether watched or not: the deployment cancels it.
        end = (
            None
            if locked.is_follow
            else lease.finish(locked.pk, None, Status.CANCELLED, "Cancelled before it started.")
        )
        if end is not None:
            payload = event_payload(locked.pk, end.seq, end.event, end.data)
            transaction.on_commit(lambda: RunEvents.broadcast(payload))
    if end is not None:
        return "Run cancelled before it started."
    return cancel_upstream(run.pk)


def do_watch_run(
    *, user: AnyUser, deployment: Deployment, thread_id: str, request: HttpRequest | None = None
) -> Run:
    """Follow the run going on a thread, whoever started it: the live record already following
    that upstream run, or a new one of origin "follow" whose relay joins its stream. Through the
    gate as an audited action that writes nothing to the deployment (allowed on read-only
    ones). Raises ``PermissionDenied`` or ``RunRefused`` (nothing is running)."""
    intent = Intent(
        actor=user,
        deployment=deployment,
        action="run.watch",
        permission="operate",
        refusal=RunRefused,
        decision="watch",
        thread_id=thread_id,
        request=request,
        writes=False,
    )
    return pass_through(
        intent,
        lambda: _watch(user, deployment, thread_id, request),
        lambda run: {"run_id": run.pk, "upstream_run_id": run.upstream_run_id},
    )


def _watch(
    user: AnyUser, deployment: Deployment, thread_id: str, request: HttpRequest | None
) -> Run:
    upstream = watching.live_upstream_run(sync_client_for(deployment), thread_id)
    if upstream is None:
        raise RunRefused("Nothing is running on this thread now.")
    upstream_run_id = str(upstream["run_id"])
    # The console's own run, when it started this one (its relay may not have stored the
    # upstream id yet), is already relaying it.
    own = (upstream.get("metadata") or {}).get(METADATA_KEY)
    same = Q(upstream_run_id=upstream_run_id) | (Q(pk=own) if isinstance(own, int) else Q())
    live = Run.objects.filter(same, deployment=deployment, status__in=ACTIVE_STATUSES)
    run = live.order_by("pk").first()
    joined = run is not None
    if run is None:
        try:
            run = _create_follow(user, deployment, thread_id, upstream)
        except IntegrityError:
            # Another viewer's watch of the same run committed first: share its relay.
            run, joined = live.get(origin=Origin.FOLLOW), True
    record(
        actor=user,
        action="run.watch",
        target=run,
        team_id=deployment.team_id,
        deployment_id=deployment.pk,
        after={
            "thread_id": thread_id,
            "upstream_run_id": upstream_run_id,
            "follow_from": run.follow_from,
            "joined": joined,
        },
        request=request,
    )
    return run


def _create_follow(
    user: AnyUser,
    deployment: Deployment,
    thread_id: str,
    upstream: dict[str, Any],
) -> Run:
    kwargs = upstream.get("kwargs") if isinstance(upstream.get("kwargs"), dict) else {}
    modes = (kwargs or {}).get("stream_mode")
    with transaction.atomic():
        run = Run.objects.create(
            team_id=deployment.team_id,
            deployment=deployment,
            thread_id=thread_id,
            assistant_id=str(upstream.get("assistant_id") or ""),
            upstream_run_id=str(upstream["run_id"]),
            origin=Origin.FOLLOW,
            follow_from=watching.follow_from(upstream),
            stream_mode=modes if isinstance(modes, list) else [],
            multitask_strategy=str(upstream.get("multitask_strategy") or "reject"),
            started_by_id=user.pk if user.is_authenticated else None,
            dispatched_at=timezone.now(),
        )
        relay_run.delay_on_commit(run.pk)  # type: ignore[attr-defined]
    return run
