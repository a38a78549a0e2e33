"""Human in the loop: pending interrupts as normalised records, and the exact resume payloads.

Pure: no I/O. Three interrupt formats (reference/hitl-formats.md):

* ``legacy`` — agent-inbox ``HumanInterrupt`` (``action_request`` + ``config`` + ``description``),
  usually a list of one; resumed with ``[HumanResponse, ...]``, one per request;
* ``middleware`` — LangChain v1 ``HITLRequest`` (``action_requests`` + ``review_configs``),
  resumed with ``{"decisions": [...]}``, exactly one decision per action, in order; or its
  ``per_call`` variant (``{"type": "tool_approval", ...}``), resumed with one decision;
* ``generic`` — any other value, resumed with any JSON value.

When several interrupts are pending the resume must be a map ``{interrupt_id: value}``
(a scalar fails the run on the server, contract §6.3); ``ResumeComposer`` refuses it locally.
Static breakpoints are not interrupts: a thread paused at one has no records here (see
``is_paused_at_breakpoint``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypeAlias

from switchboard.errors import InputError

__all__ = [
    "ActionDecision",
    "InterruptAction",
    "InterruptFormat",
    "InterruptRecord",
    "ResumeComposer",
    "interrupts_from_state",
    "is_paused_at_breakpoint",
    "jsonable_answer",
    "needs_human",
]

InterruptFormat: TypeAlias = Literal["legacy", "middleware", "generic"]

_LEGACY_DECISIONS = (
    ("allow_accept", "accept"),
    ("allow_edit", "edit"),
    ("allow_respond", "response"),
    ("allow_ignore", "ignore"),
)
_MIDDLEWARE_DECISIONS = ("approve", "edit", "reject", "respond")


@dataclass(frozen=True, slots=True)
class InterruptAction:
    """One thing a human is asked to decide on: a tool call, an action request."""

    name: str
    args: dict[str, Any]
    description: str | None = None
    allowed_decisions: tuple[str, ...] = ()
    args_schema: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class InterruptRecord:
    """A pending ``interrupt()`` on a thread, normalised.

    Key approvals by ``(thread_id, checkpoint_id, interrupt_id)``: the id changes whenever
    the node runs again (fork, replay, new input), contract gotcha 17.
    """

    interrupt_id: str | None
    format: InterruptFormat
    raw_value: Any
    thread_id: str | None = None
    checkpoint_id: str | None = None
    task_id: str | None = None
    node: str | None = None
    namespace: tuple[str, ...] = ()
    actions: tuple[InterruptAction, ...] = ()
    response_schema: dict[str, Any] | None = None
    # True for the middleware's per_call variant: answered with one decision, no list.
    per_call: bool = field(default=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for storing the record, or sending it to a browser)."""
        data = asdict(self)
        data["namespace"] = list(self.namespace)
        data["actions"] = [
            {**asdict(a), "allowed_decisions": list(a.allowed_decisions)} for a in self.actions
        ]
        return data


@dataclass(frozen=True, slots=True)
class ActionDecision:
    """One decision on one action, typed: what a form hands to :class:`ResumeComposer`.

    A bare dict is read by its keys, so tool arguments that happen to be named ``action`` and
    ``args`` look like a whole action request; this cannot be mistaken for anything.

    ``type`` is the decision in the interrupt's own words (legacy: accept / edit / response /
    ignore; middleware: approve / edit / reject / respond). ``args`` are the edited arguments of
    the action, whatever keys they hold (an edit keeps the action's name). ``message`` is the
    legacy reply or the middleware message.
    """

    type: str
    args: Mapping[str, Any] | None = None
    message: str | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type}
        if self.args is not None:
            data["args"] = dict(self.args)
        if self.message is not None:
            data["message"] = self.message
        return data


def jsonable_answer(answer: Any) -> Any:
    """``answer`` with every :class:`ActionDecision` in it as a plain dict (for storing)."""
    if isinstance(answer, ActionDecision):
        return answer.as_json()
    if isinstance(answer, list | tuple):
        return [jsonable_answer(item) for item in answer]
    return answer


# -- reading interrupts ------------------------------------------------------------------


def _is_legacy_request(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("action_request"), dict)
        and isinstance(value.get("config"), dict)
    )


def _legacy_actions(value: Any) -> tuple[InterruptAction, ...] | None:
    requests = value if isinstance(value, list) else [value]
    if not requests or not all(_is_legacy_request(r) for r in requests):
        return None
    actions = []
    for request in requests:
        action_request, config = request["action_request"], request["config"]
        actions.append(
            InterruptAction(
                name=str(action_request.get("action", "")),
                args=dict(action_request.get("args") or {}),
                description=request.get("description"),
                allowed_decisions=tuple(d for key, d in _LEGACY_DECISIONS if config.get(key)),
            )
        )
    return tuple(actions)


def _schema_decisions(schema: Any) -> tuple[str, ...]:
    """Decision types a per_call ``response_schema`` allows (``type`` consts/enums in it)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            type_prop = node.get("properties", {}).get("type")
            if isinstance(type_prop, dict):
                values = [type_prop.get("const"), *type_prop.get("enum", [])]
                found.extend(v for v in values if v in _MIDDLEWARE_DECISIONS)
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(schema)
    return tuple(dict.fromkeys(found))


def _middleware_actions(
    value: Any, response_schema: dict[str, Any] | None
) -> tuple[tuple[InterruptAction, ...], bool] | None:
    if not isinstance(value, dict):
        return None
    if value.get("type") == "tool_approval" and isinstance(value.get("name"), str):
        allowed = _schema_decisions(response_schema) or _MIDDLEWARE_DECISIONS
        action = InterruptAction(
            name=value["name"],
            args=dict(value.get("args") or {}),
            description=value.get("description"),
            allowed_decisions=allowed,
        )
        return (action,), True
    requests, configs = value.get("action_requests"), value.get("review_configs")
    if not isinstance(requests, list) or not isinstance(configs, list):
        return None
    by_name = {c.get("action_name"): c for c in configs if isinstance(c, dict)}
    actions = []
    for index, request in enumerate(requests):
        if not isinstance(request, dict):
            return None
        name = str(request.get("name", ""))
        # The middleware writes one review config per action, in order; match by name if a
        # producer did not.
        config = configs[index] if index < len(configs) else None
        if not isinstance(config, dict) or config.get("action_name") not in (None, name):
            config = by_name.get(name) or {}
        actions.append(
            InterruptAction(
                name=name,
                args=dict(request.get("args") or {}),
                description=request.get("description"),
                allowed_decisions=tuple(config.get("allowed_decisions") or _MIDDLEWARE_DECISIONS),
                args_schema=config.get("args_schema"),
            )
        )
    return tuple(actions), False


def normalise_interrupt(
    interrupt: Mapping[str, Any],
    *,
    thread_id: str | None = None,
    checkpoint_id: str | None = None,
    task_id: str | None = None,
    node: str | None = None,
    namespace: Sequence[str] = (),
) -> InterruptRecord:
    """One wire interrupt (``{"id", "value", "response_schema"?}``; old servers may send
    ``interrupt_id``, or no id) as a record."""
    value = interrupt.get("value")
    interrupt_id = interrupt.get("id") or interrupt.get("interrupt_id")
    schema = interrupt.get("response_schema")
    common: dict[str, Any] = {
        "interrupt_id": str(interrupt_id) if interrupt_id else None,
        "raw_value": value,
        "thread_id": thread_id,
        "checkpoint_id": checkpoint_id,
        "task_id": task_id,
        "node": node,
        "namespace": tuple(namespace),
        "response_schema": schema if isinstance(schema, dict) else None,
    }
    legacy = _legacy_actions(value)
    if legacy is not None:
        return InterruptRecord(format="legacy", actions=legacy, **common)
    middleware = _middleware_actions(value, common["response_schema"])
    if middleware is not None:
        actions, per_call = middleware
        return InterruptRecord(format="middleware", actions=actions, per_call=per_call, **common)
    return InterruptRecord(format="generic", **common)


def interrupts_from_state(
    state: Mapping[str, Any], *, thread_id: str | None = None
) -> list[InterruptRecord]:
    """Records for the interrupts pending at a thread state (``GET /threads/{id}/state``):
    from each task (which gives the node), then any left only in the flat list."""
    checkpoint = state.get("checkpoint") or {}
    checkpoint_id = checkpoint.get("checkpoint_id") or state.get("checkpoint_id")
    thread_id = thread_id or checkpoint.get("thread_id")
    namespace = tuple(n for n in str(checkpoint.get("checkpoint_ns") or "").split("|") if n)
    records: list[InterruptRecord] = []
    seen: set[str] = set()
    for task in state.get("tasks") or []:
        for interrupt in task.get("interrupts") or []:
            record = normalise_interrupt(
                interrupt,
                thread_id=thread_id,
                checkpoint_id=checkpoint_id,
                task_id=task.get("id"),
                node=task.get("name"),
                namespace=namespace,
            )
            if record.interrupt_id is None or record.interrupt_id not in seen:
                records.append(record)
                seen.add(record.interrupt_id or "")
    for interrupt in state.get("interrupts") or []:
        interrupt_id = interrupt.get("id") or interrupt.get("interrupt_id")
        if interrupt_id and interrupt_id in seen:
            continue
        records.append(
            normalise_interrupt(
                interrupt, thread_id=thread_id, checkpoint_id=checkpoint_id, namespace=namespace
            )
        )
    return records


def needs_human(thread: Mapping[str, Any]) -> bool:
    """The thread waits on an ``interrupt()`` someone must answer (contract §4)."""
    interrupts = thread.get("interrupts") or {}
    return thread.get("status") == "interrupted" and any(interrupts.values())


def is_paused_at_breakpoint(thread: Mapping[str, Any]) -> bool:
    """Interrupted with nothing to answer: a static breakpoint, or an ``update_state`` that
    left nodes pending. Continue it with a run whose input is ``None``."""
    interrupts = thread.get("interrupts") or {}
    return thread.get("status") == "interrupted" and not any(interrupts.values())


# -- composing resumes -------------------------------------------------------------------

_MISSING: Any = object()


def _label(record: InterruptRecord) -> str:
    where = f" at node {record.node!r}" if record.node else ""
    return f"interrupt {record.interrupt_id or '(no id)'}{where}"


def _check_json(value: Any, record: InterruptRecord) -> None:
    if value is None:
        # Command(resume=None) is no resume at all: the run fails on the server.
        raise InputError(f"{_label(record)}: null is not an answer; give a JSON value")
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{_label(record)}: the answer is not JSON: {exc}") from None


def _decision_type(decision: Any) -> Any:
    if isinstance(decision, ActionDecision):
        return decision.type
    return (
        decision
        if isinstance(decision, str)
        else (decision.get("type") if isinstance(decision, Mapping) else None)
    )


def _is_action_request(given: Mapping[str, Any], action: InterruptAction) -> bool:
    """A bare dict given as a legacy edit is a whole ``ActionRequest`` only if it is exactly one
    for this action: else it is the arguments (which may hold keys named ``action``/``args``)."""
    return (
        set(given) == {"action", "args"}
        and given["action"] == action.name
        and isinstance(given["args"], Mapping)
    )


def _as_list(answer: Any, record: InterruptRecord, noun: str) -> list[Any]:
    if isinstance(answer, list | tuple):
        items = list(answer)
    elif isinstance(answer, Mapping) and isinstance(answer.get("decisions"), list):
        items = list(answer["decisions"])
    else:
        items = [answer]
    wanted = len(record.actions)
    if len(items) != wanted:
        names = ", ".join(repr(a.name) for a in record.actions)
        raise InputError(
            f"{_label(record)}: {wanted} action{'s' if wanted != 1 else ''} ({names}) "
            f"{'need' if wanted != 1 else 'needs'} exactly one {noun} each, in order; "
            f"got {len(items)}"
        )
    return items


def _check_allowed(
    kind: Any, action: InterruptAction, position: int, record: InterruptRecord
) -> str:
    if not isinstance(kind, str) or not kind:
        raise InputError(
            f"{_label(record)}: decision {position} for {action.name!r} has no type; "
            f"use one of: {', '.join(action.allowed_decisions)}"
        )
    if action.allowed_decisions and kind not in action.allowed_decisions:
        raise InputError(
            f"{_label(record)}: decision {position} for {action.name!r} is {kind!r}, which is "
            f"not allowed; allowed: {', '.join(action.allowed_decisions)}"
        )
    return kind


def _legacy_value(record: InterruptRecord, answer: Any) -> list[dict[str, Any]]:
    responses = []
    for position, (action, item) in enumerate(
        zip(record.actions, _as_list(answer, record, "response"), strict=True), 1
    ):
        kind = _check_allowed(_decision_type(item), action, position, record)
        typed = isinstance(item, ActionDecision)
        given: Any
        if isinstance(item, ActionDecision):
            given = item.message if kind == "response" else item.args
        else:
            given = item.get("args") if isinstance(item, Mapping) else None
        original = {"action": action.name, "args": action.args}
        args: Any
        if kind == "accept":
            args = original
        elif kind == "edit":
            if not typed and isinstance(given, Mapping) and _is_action_request(given, action):
                args = {"action": action.name, "args": dict(given["args"])}
            elif isinstance(given, Mapping):
                args = {"action": action.name, "args": dict(given)}
            else:
                raise InputError(
                    f"{_label(record)}: an 'edit' of {action.name!r} needs args= with the "
                    "edited arguments (a dict)"
                )
        elif kind == "response":
            if not isinstance(given, str) or not given.strip():
                raise InputError(
                    f"{_label(record)}: a 'response' to {action.name!r} needs args= with the "
                    "reply text"
                )
            args = given
        elif kind == "ignore":
            args = None
        else:
            raise InputError(f"{_label(record)}: unknown legacy response type {kind!r}")
        responses.append({"type": kind, "args": args})
    return responses


def _middleware_decision(
    record: InterruptRecord, action: InterruptAction, item: Any, position: int
) -> dict[str, Any]:
    kind = _check_allowed(_decision_type(item), action, position, record)
    extra: Mapping[str, Any] = (
        item.as_json()
        if isinstance(item, ActionDecision)
        else item
        if isinstance(item, Mapping)
        else {}
    )
    if kind == "approve":
        return {"type": "approve"}
    if kind == "edit":
        edited = None if isinstance(item, ActionDecision) else extra.get("edited_action")
        if isinstance(edited, Mapping) and isinstance(edited.get("args"), Mapping):
            return {
                "type": "edit",
                "edited_action": {
                    "name": str(edited.get("name") or action.name),
                    "args": dict(edited["args"]),
                },
            }
        if isinstance(extra.get("args"), Mapping):
            return {
                "type": "edit",
                "edited_action": {"name": action.name, "args": dict(extra["args"])},
            }
        raise InputError(
            f"{_label(record)}: decision {position} edits {action.name!r} but gives no "
            "edited arguments; pass {'type': 'edit', 'args': {...}}"
        )
    message = extra.get("message")
    if kind == "respond":
        if not isinstance(message, str) or not message.strip():
            raise InputError(
                f"{_label(record)}: decision {position} responds for {action.name!r} but has "
                "no message; pass {'type': 'respond', 'message': '...'}"
            )
        return {"type": "respond", "message": message}
    if kind == "reject":
        if message is not None and not isinstance(message, str):
            raise InputError(f"{_label(record)}: decision {position}: message must be a string")
        return {"type": "reject", "message": message} if message else {"type": "reject"}
    raise InputError(f"{_label(record)}: unknown decision type {kind!r}")


def _middleware_value(record: InterruptRecord, answer: Any) -> Any:
    items = _as_list(answer, record, "decision")
    decisions = [
        _middleware_decision(record, action, item, position)
        for position, (action, item) in enumerate(zip(record.actions, items, strict=True), 1)
    ]
    if record.per_call:
        return decisions[0]
    return {"decisions": decisions}


class ResumeComposer:
    """Builds the ``command.resume`` value for the interrupts pending on one thread, and
    checks it before anything is sent.

    Answers, per format (an :class:`ActionDecision` is taken wherever a decision is, and is the
    unambiguous way to give one):

    * legacy: ``{"type": "accept"}``, ``{"type": "edit", "args": {...}}``,
      ``{"type": "response", "args": "text"}``, ``{"type": "ignore"}`` (or the bare type
      string), or a list of those, one per action request;
    * middleware: a decision per action, in order — ``"approve"``, ``{"type": "edit",
      "args": {...}}`` (or ``"edited_action"``), ``{"type": "reject", "message"?: ...}``,
      ``{"type": "respond", "message": ...}``; a single decision when there is one action;
    * generic: any JSON value but null.

    Example:
        >>> composer = ResumeComposer(await client.get_interrupts(thread))
        >>> composer.compose(["approve", {"type": "reject", "message": "not this one"}])
        {'decisions': [{'type': 'approve'}, {'type': 'reject', 'message': 'not this one'}]}
    """

    def __init__(self, pending: Iterable[InterruptRecord]) -> None:
        self.pending = list(pending)

    def value_for(self, record: InterruptRecord, answer: Any) -> Any:
        """The resume value for one interrupt, in its format."""
        if record.format == "legacy":
            return _legacy_value(record, answer)
        if record.format == "middleware":
            return _middleware_value(record, answer)
        _check_json(answer, record)
        return answer

    def compose(self, answer: Any = _MISSING, *, by_id: Mapping[str, Any] | None = None) -> Any:
        """The value for ``command={"resume": ...}``.

        Give ``answer`` when exactly one interrupt is pending (the bare value is sent), or
        ``by_id={interrupt_id: answer}`` for any number of them (a map is sent; ids not in it
        stay pending). Raises ``InputError`` saying what is wrong before anything is sent.
        """
        pending = self.pending
        if not pending:
            raise InputError("nothing to resume: the thread has no pending interrupts")
        if by_id is None:
            if answer is _MISSING:
                raise InputError("give the answer, or by_id={interrupt_id: answer}")
            if len(pending) > 1:
                ids = ", ".join(str(r.interrupt_id) for r in pending)
                raise InputError(
                    f"{len(pending)} interrupts are pending ({ids}); a single value would fail "
                    "the run on the server: answer them by id with by_id={interrupt_id: answer}"
                )
            return self.value_for(pending[0], answer)
        if answer is not _MISSING:
            raise InputError("give either answer or by_id, not both")
        if not by_id:
            raise InputError("by_id is empty: answer at least one pending interrupt")
        records = {r.interrupt_id: r for r in pending if r.interrupt_id}
        unknown = [key for key in by_id if key not in records]
        if unknown:
            raise InputError(
                f"not pending on this thread: {', '.join(map(str, unknown))}; "
                f"pending: {', '.join(map(str, records)) or 'none with ids'}"
            )
        return {key: self.value_for(records[key], value) for key, value in by_id.items()}
