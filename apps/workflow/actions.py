"""What "approve", "reject" and "ignore" mean for each interrupt format, and what a composed
resume value decided, per action. Pure: no database, no network.

Bulk decisions and timeouts turn one word into the answer the SDK's ``ResumeComposer`` takes
for an item's format (hitl-formats.md):

=========== ======================== =========================== ====================
action      legacy (agent-inbox)     middleware (v1 HITL)        generic / breakpoint
=========== ======================== =========================== ====================
approve     ``accept`` each request  ``approve`` each tool call  not applicable
reject      not applicable           ``reject`` (+ the comment)  not applicable
ignore      ``ignore`` each request  not applicable              not applicable
=========== ======================== =========================== ====================

"Not applicable" is a refusal with a sentence, never a silent skip; whether the type is among
an action's ``allowed_decisions`` is left to the composer, which refuses it in its own words.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from switchboard import InterruptAction, InterruptRecord

_LEGACY = {"approve": "accept", "ignore": "ignore"}
_MIDDLEWARE = {"approve": "approve", "reject": "reject"}


class NotApplicable(ValueError):
    """The action has no meaning for this item; the message says why and what to do instead."""


def _names(actions: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str(a.get("name", "")) for a in actions if isinstance(a, Mapping)]


def answer_for(
    kind: str, actions: Sequence[Mapping[str, Any]], action: str, message: str = ""
) -> tuple[list[dict[str, Any]], str]:
    """The composer answer (one entry per action request, in order) that carries out ``action``
    on an item of format ``kind``, and the summary the inbox stores with the decision."""
    if kind == "breakpoint":
        raise NotApplicable(
            "A breakpoint has nothing to approve or reject: continue it from its thread page."
        )
    if kind == "generic":
        raise NotApplicable(
            "A free-form question needs its own answer: open it on its thread page."
        )
    names = _names(actions)
    if not names:
        raise NotApplicable("This item lists no action to decide: open it on its thread page.")
    if kind == "legacy":
        chosen = _LEGACY.get(action)
        if chosen is None:
            raise NotApplicable(
                "Agent-inbox requests have no reject: ignore them, or reply from the thread page."
            )
        answers: list[dict[str, Any]] = [{"type": chosen} for _ in names]
    elif kind == "middleware":
        chosen = _MIDDLEWARE.get(action)
        if chosen is None:
            raise NotApplicable("Tool-call reviews have no ignore: reject them instead.")
        answers = []
        for _ in names:
            answer: dict[str, Any] = {"type": chosen}
            if chosen == "reject" and message.strip():
                answer["message"] = message.strip()
            answers.append(answer)
    else:
        raise NotApplicable(f"Items of kind {kind!r} cannot be decided in bulk.")
    return answers, ", ".join(f"{chosen} {name}" for name in names)


def record_of(
    *,
    interrupt_id: str,
    kind: str,
    actions: Sequence[Mapping[str, Any]],
    raw_value: Any = None,
    node: str = "",
    per_call: bool = False,
    response_schema: Any = None,
) -> InterruptRecord:
    """The SDK record of a stored inbox item, for checking an answer locally with the composer
    (the inbox re-checks against the live thread before anything is sent)."""
    fmt = kind if kind in ("legacy", "middleware") else "generic"
    return InterruptRecord(
        interrupt_id=interrupt_id or None,
        format=fmt,  # type: ignore[arg-type]
        raw_value=raw_value,
        node=node or None,
        per_call=per_call,
        response_schema=response_schema if isinstance(response_schema, dict) else None,
        actions=tuple(
            InterruptAction(
                name=str(a.get("name", "")),
                args=dict(a.get("args") or {}),
                description=a.get("description"),
                allowed_decisions=tuple(str(d) for d in a.get("allowed_decisions") or ()),
                args_schema=a.get("args_schema"),
            )
            for a in actions
            if isinstance(a, Mapping)
        ),
    )


def decision_types(
    kind: str,
    actions: Sequence[Mapping[str, Any]],
    resume_value: Any,
    *,
    node: str = "",
    decision_action: str = "answer",
) -> list[tuple[str, str]]:
    """``(tool or action name, decision type)`` for each action a decision covered.

    ``resume_value`` is what the interrupt got (legacy: ``[HumanResponse]``; middleware:
    ``{"decisions": [...]}`` or one decision for the per-call variant; generic: anything).
    Decisions that did not answer (continue, mark resolved, state edits) count as one choice
    named after the decision.
    """
    names = _names(actions)
    label = node or "(question)"
    if decision_action in ("continue", "resolve", "edit_state", "run", "cancel"):
        return [(name, decision_action) for name in names] or [(label, decision_action)]
    if kind == "legacy" and isinstance(resume_value, list):
        types = [str(r.get("type", "?")) if isinstance(r, Mapping) else "?" for r in resume_value]
        return list(zip(names, types, strict=False))
    if kind == "middleware":
        if isinstance(resume_value, Mapping) and isinstance(resume_value.get("decisions"), list):
            decisions = resume_value["decisions"]
        else:
            decisions = [resume_value]
        types = [str(d.get("type", "?")) if isinstance(d, Mapping) else "?" for d in decisions]
        return list(zip(names, types, strict=False))
    return [(label, "answer")]


def fingerprint(values: Mapping[int, Any]) -> str:
    """Identifies exactly what would be sent: a second approver must approve the same values."""
    blob = json.dumps(sorted(values.items()), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()
