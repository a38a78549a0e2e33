"""Interrupt normalisation and the exact resume payloads (pure)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from switchboard import (
    InputError,
    InterruptRecord,
    ResumeComposer,
    is_paused_at_breakpoint,
    needs_human,
)
from switchboard._hitl import (
    ActionDecision,
    interrupts_from_state,
    jsonable_answer,
    normalise_interrupt,
)

REFUND_ARGS = {"customer": "ACME", "amount": 120.0, "currency": "USD", "reason": "broken"}
LEGACY = [
    {
        "action_request": {"action": "issue_refund", "args": REFUND_ARGS},
        "config": {
            "allow_accept": True,
            "allow_edit": True,
            "allow_respond": True,
            "allow_ignore": False,
        },
        "description": "**ACME** asks for a refund",
    }
]
MIDDLEWARE = {
    "action_requests": [
        {
            "name": "issue_refund",
            "args": {"order_id": "A-1001", "amount": 42.5},
            "description": "Refund",
        },
        {"name": "send_email", "args": {"to": "jane@example.com", "subject": "Refund"}},
    ],
    "review_configs": [
        {
            "action_name": "issue_refund",
            "allowed_decisions": ["approve", "edit", "reject", "respond"],
        },
        {"action_name": "send_email", "allowed_decisions": ["approve", "reject"]},
    ],
}
PER_CALL = {
    "type": "tool_approval",
    "tool_call_id": "call_1",
    "name": "delete_file",
    "args": {"path": "/etc/hosts"},
    "description": "Delete a file",
}
PER_CALL_SCHEMA = {
    "oneOf": [
        {"properties": {"type": {"const": "approve"}}},
        {"properties": {"type": {"const": "reject"}, "message": {"type": "string"}}},
    ]
}


def _record(value: Any, interrupt_id: str = "i1", **extra: Any) -> InterruptRecord:
    return normalise_interrupt({"id": interrupt_id, "value": value, **extra}, thread_id="t1")


def _state(*interrupts: tuple[str, str, Any]) -> dict[str, Any]:
    return {
        "checkpoint": {"checkpoint_id": "cp1", "thread_id": "t1", "checkpoint_ns": ""},
        "tasks": [
            {"id": f"task-{node}", "name": node, "interrupts": [{"id": iid, "value": value}]}
            for iid, node, value in interrupts
        ],
        "interrupts": [{"id": iid, "value": value} for iid, _, value in interrupts],
    }


def test_a_legacy_agent_inbox_interrupt_becomes_one_action_with_its_allowed_responses() -> None:
    record = _record(LEGACY)
    assert record.format == "legacy"
    (action,) = record.actions
    assert (action.name, action.args, action.description) == (
        "issue_refund",
        REFUND_ARGS,
        "**ACME** asks for a refund",
    )
    assert action.allowed_decisions == ("accept", "edit", "response")


def test_a_middleware_request_becomes_one_action_per_tool_call_in_order() -> None:
    record = _record(MIDDLEWARE)
    assert record.format == "middleware"
    assert [a.name for a in record.actions] == ["issue_refund", "send_email"]
    assert record.actions[1].allowed_decisions == ("approve", "reject")
    assert record.actions[0].description == "Refund"


def test_a_per_call_tool_approval_is_middleware_with_decisions_from_its_schema() -> None:
    record = _record(PER_CALL, response_schema=PER_CALL_SCHEMA)
    assert record.format == "middleware"
    assert record.actions[0].allowed_decisions == ("approve", "reject")


def test_anything_else_is_generic_and_keeps_its_raw_value() -> None:
    record = _record({"question": "ok?", "options": ["approve", "reject"]})
    assert record.format == "generic"
    assert record.actions == ()
    assert record.raw_value == {"question": "ok?", "options": ["approve", "reject"]}


def test_state_interrupts_carry_thread_checkpoint_task_and_node() -> None:
    records = interrupts_from_state(
        _state(("a", "legal_review", "x"), ("b", "finance_review", "y"))
    )
    assert [(r.interrupt_id, r.node, r.task_id, r.checkpoint_id, r.thread_id) for r in records] == [
        ("a", "legal_review", "task-legal_review", "cp1", "t1"),
        ("b", "finance_review", "task-finance_review", "cp1", "t1"),
    ]


def test_interrupts_only_in_the_flat_list_are_still_found() -> None:
    state = {"checkpoint": None, "tasks": [], "interrupts": [{"interrupt_id": "old", "value": 1}]}
    (record,) = interrupts_from_state(state, thread_id="t1")
    assert (record.interrupt_id, record.node, record.format) == ("old", None, "generic")


def test_a_breakpoint_is_not_an_interrupt_record_but_a_thread_status() -> None:
    assert (
        interrupts_from_state(
            {
                "checkpoint": None,
                "tasks": [{"id": "t", "name": "review", "interrupts": []}],
                "interrupts": [],
            }
        )
        == []
    )
    paused = {"status": "interrupted", "interrupts": {}}
    waiting = {"status": "interrupted", "interrupts": {"task": [{"id": "i", "value": 1}]}}
    assert is_paused_at_breakpoint(paused)
    assert not needs_human(paused)
    assert needs_human(waiting)
    assert not is_paused_at_breakpoint(waiting)
    assert not needs_human({"status": "idle", "interrupts": {}})


def test_records_serialise_to_json() -> None:
    data = _record(MIDDLEWARE).as_dict()
    assert json.loads(json.dumps(data))["actions"][1]["allowed_decisions"] == ["approve", "reject"]


# -- composing ------------------------------------------------------------------------------


def compose(value: Any, answer: Any) -> Any:
    return ResumeComposer([_record(value)]).compose(answer)


def test_legacy_accept_sends_the_original_action_request_in_a_list_of_one() -> None:
    assert compose(LEGACY, "accept") == [
        {"type": "accept", "args": {"action": "issue_refund", "args": REFUND_ARGS}}
    ]


def test_legacy_edit_sends_the_edited_action_request() -> None:
    assert compose(LEGACY, {"type": "edit", "args": {"amount": "95.50"}}) == [
        {"type": "edit", "args": {"action": "issue_refund", "args": {"amount": "95.50"}}}
    ]
    full = {"action": "issue_refund", "args": {"amount": 1}}
    assert compose(LEGACY, {"type": "edit", "args": full}) == [{"type": "edit", "args": full}]


def test_legacy_response_sends_the_text() -> None:
    assert compose(LEGACY, {"type": "response", "args": "call the customer"}) == [
        {"type": "response", "args": "call the customer"}
    ]


def test_a_legacy_response_type_the_interrupt_does_not_allow_is_refused() -> None:
    with pytest.raises(
        InputError, match=r"'ignore', which is not allowed; allowed: accept, edit, response"
    ):
        compose(LEGACY, "ignore")


def test_middleware_decisions_go_one_per_action_in_order() -> None:
    payload = compose(
        MIDDLEWARE,
        [
            {"type": "edit", "args": {"order_id": "A-1001", "amount": 40.0}},
            {"type": "reject", "message": "no"},
        ],
    )
    assert payload == {
        "decisions": [
            {
                "type": "edit",
                "edited_action": {
                    "name": "issue_refund",
                    "args": {"order_id": "A-1001", "amount": 40.0},
                },
            },
            {"type": "reject", "message": "no"},
        ]
    }
    assert compose(MIDDLEWARE, ["approve", "reject"]) == {
        "decisions": [{"type": "approve"}, {"type": "reject"}]
    }


def test_a_wrong_number_of_middleware_decisions_is_refused_with_the_count() -> None:
    with pytest.raises(
        InputError,
        match=r"2 actions \('issue_refund', 'send_email'\) need exactly one decision each, in order; got 1",
    ):
        compose(MIDDLEWARE, ["approve"])


def test_a_middleware_decision_type_the_action_does_not_allow_is_refused() -> None:
    with pytest.raises(
        InputError,
        match=r"decision 2 for 'send_email' is 'edit', which is not allowed; allowed: approve, reject",
    ):
        compose(MIDDLEWARE, ["approve", {"type": "edit", "args": {}}])


def test_a_respond_decision_without_a_message_is_refused() -> None:
    with pytest.raises(InputError, match="responds for 'issue_refund' but has no message"):
        compose(MIDDLEWARE, [{"type": "respond"}, "approve"])


def test_an_edit_without_arguments_is_refused() -> None:
    with pytest.raises(InputError, match="gives no edited arguments"):
        compose(MIDDLEWARE, ["edit", "approve"])


def test_a_per_call_approval_is_answered_with_one_decision() -> None:
    record = _record(PER_CALL, response_schema=PER_CALL_SCHEMA)
    assert ResumeComposer([record]).compose({"type": "reject", "message": "not /etc"}) == {
        "type": "reject",
        "message": "not /etc",
    }


def test_a_generic_interrupt_is_answered_with_the_json_value_itself() -> None:
    assert compose({"question": "?"}, {"approved": True, "note": "lgtm"}) == {
        "approved": True,
        "note": "lgtm",
    }
    with pytest.raises(InputError, match="not JSON"):
        compose({"question": "?"}, {1, 2})


def test_several_pending_interrupts_are_resumed_by_id() -> None:
    composer = ResumeComposer([_record({"q": 1}, "a"), _record(LEGACY, "b")])
    assert composer.compose(by_id={"a": "approve", "b": "accept"}) == {
        "a": "approve",
        "b": [{"type": "accept", "args": {"action": "issue_refund", "args": REFUND_ARGS}}],
    }
    assert composer.compose(by_id={"b": {"type": "response", "args": "later"}}) == {
        "b": [{"type": "response", "args": "later"}]
    }


def test_one_value_while_two_interrupts_are_pending_is_refused_locally() -> None:
    composer = ResumeComposer([_record({"q": 1}, "a"), _record({"q": 2}, "b")])
    with pytest.raises(InputError, match=r"2 interrupts are pending \(a, b\).*by_id"):
        composer.compose("approve")


def test_an_id_that_is_not_pending_is_refused() -> None:
    with pytest.raises(InputError, match="not pending on this thread: zzz; pending: i1"):
        ResumeComposer([_record({"q": 1})]).compose(by_id={"zzz": 1})


def test_nothing_pending_means_nothing_to_resume() -> None:
    with pytest.raises(InputError, match="no pending interrupts"):
        ResumeComposer([]).compose("approve")


# -- typed decisions: what the form layer hands over cannot be mistaken ----------------------

TOOL_ARGS_NAMED_LIKE_A_REQUEST = {"action": "deploy", "args": ["--force"], "target": "prod"}
LEGACY_DEPLOY = [
    {
        "action_request": {"action": "run_command", "args": TOOL_ARGS_NAMED_LIKE_A_REQUEST},
        "config": {
            "allow_accept": True,
            "allow_edit": True,
            "allow_respond": True,
            "allow_ignore": True,
        },
        "description": "Run a command",
    }
]


def test_a_typed_legacy_edit_sends_args_named_action_and_args_as_arguments() -> None:
    edited = {**TOOL_ARGS_NAMED_LIKE_A_REQUEST, "target": "staging"}
    assert compose(LEGACY_DEPLOY, ActionDecision(type="edit", args=edited)) == [
        {"type": "edit", "args": {"action": "run_command", "args": edited}}
    ]


def test_a_bare_legacy_edit_never_renames_the_action_or_drops_arguments() -> None:
    edited = {"action": "deploy", "args": {"x": 1}, "target": "staging"}
    assert compose(LEGACY_DEPLOY, {"type": "edit", "args": edited}) == [
        {"type": "edit", "args": {"action": "run_command", "args": edited}}
    ]
    # Exactly this action's request (its name, args a dict) is still read as the request.
    request = {"action": "run_command", "args": {"target": "staging"}}
    assert compose(LEGACY_DEPLOY, {"type": "edit", "args": request}) == [
        {"type": "edit", "args": request}
    ]


def test_typed_decisions_compose_like_their_dict_spelling() -> None:
    assert compose(LEGACY, ActionDecision(type="response", message="call them")) == [
        {"type": "response", "args": "call them"}
    ]
    assert compose(
        MIDDLEWARE,
        [
            ActionDecision(type="edit", args={"action": "x", "args": {}}),
            ActionDecision(type="reject", message="no"),
        ],
    ) == {
        "decisions": [
            {
                "type": "edit",
                "edited_action": {"name": "issue_refund", "args": {"action": "x", "args": {}}},
            },
            {"type": "reject", "message": "no"},
        ]
    }


def test_a_typed_answer_is_stored_as_plain_json() -> None:
    answer = [ActionDecision(type="edit", args={"a": 1}), ActionDecision(type="approve")]
    assert jsonable_answer(answer) == [{"type": "edit", "args": {"a": 1}}, {"type": "approve"}]
    assert json.loads(json.dumps(jsonable_answer(answer))) == jsonable_answer(answer)


@pytest.mark.parametrize("answer", [None, float("nan")], ids=["null", "nan"])
def test_a_generic_answer_of_null_or_nan_is_refused_before_sending(answer: Any) -> None:
    with pytest.raises(InputError):
        compose({"question": "ok?"}, answer)
    composer = ResumeComposer([_record("a?", "i1"), _record("b?", "i2")])
    with pytest.raises(InputError, match="null is not an answer"):
        composer.compose(by_id={"i1": "yes", "i2": None})
