"""refund_approval: a refund that waits for a person, in the agent-inbox (legacy) format.

Input: `{"customer": "ACME", "amount": 120.0, "reason": "..."}`. `draft_refund` prepares
the refund; `review` then pauses with one agent-inbox `HumanInterrupt` (action
`issue_refund`, every response allowed), which the operator sees as an approval card with
the customer, amount and reason. The reply is a list with one `HumanResponse`:

* `accept`: `issue_refund` pays out the drafted refund as is;
* `edit`: it pays out the reviewer's args instead (the inbox sends values as strings, so
  `"95.50"` or `"$1,200"` become amounts);
* `response`: no refund; the text is kept as the reviewer's feedback;
* `ignore`: no refund; the request is closed.

An answer the graph cannot use (an edit whose amount is not a positive number, a reply
that is not a list with one HumanResponse) does not fail the run: `review` asks again,
under a new interrupt id, with the problem in `problem` and atop the description.

The final state shows what happened: `outcome` (`refunded`, `feedback` or `ignored`),
`refund` (the args actually paid out, or null) and `feedback` (text, or null).
To stop before any money moves even after approval, run with
`interrupt_before=["issue_refund"]`.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal, NotRequired

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from typing_extensions import TypedDict


class RefundRequest(TypedDict):
    customer: str
    amount: float | str
    reason: NotRequired[str]


class RefundArgs(TypedDict):
    customer: str
    amount: float
    currency: str
    reason: str


Outcome = Literal["refunded", "feedback", "ignored"]


class RefundState(RefundRequest):
    draft: NotRequired[RefundArgs]
    outcome: NotRequired[Outcome]
    refund: NotRequired[RefundArgs | None]
    feedback: NotRequired[str | None]
    problem: NotRequired[str | None]


# The agent-inbox request schema (hitl-formats.md §2.1). langgraph ships it only as
# deprecated aliases, so it is spelled out here.
class ActionRequest(TypedDict):
    action: str
    args: dict[str, Any]


class HumanInterruptConfig(TypedDict):
    allow_ignore: bool
    allow_respond: bool
    allow_edit: bool
    allow_accept: bool


class HumanInterrupt(TypedDict):
    action_request: ActionRequest
    config: HumanInterruptConfig
    description: str | None


def _to_amount(value: object) -> float:
    """An amount from a number or from text such as "95.5", "$1,200.00" or "40 USD"."""
    if isinstance(value, bool):
        raise ValueError(f"amount must be a number, got {value!r}")
    if isinstance(value, int | float):
        amount = float(value)
    elif isinstance(value, str):
        cleaned = re.sub(r"[\s,$€£]|USD|EUR|GBP", "", value, flags=re.IGNORECASE)
        try:
            amount = float(cleaned)
        except ValueError:
            raise ValueError(f"amount must be a number, got {value!r}") from None
    else:
        raise ValueError(f"amount must be a number, got {value!r}")
    if not math.isfinite(amount) or amount <= 0:
        raise ValueError(f"amount must be positive, got {value!r}")
    return round(amount, 2)


def draft_refund(state: RefundState) -> dict[str, Any]:
    draft: RefundArgs = {
        "customer": state["customer"],
        "amount": _to_amount(state["amount"]),
        "currency": "USD",
        "reason": state.get("reason", ""),
    }
    return {"draft": draft}


def _edited(draft: RefundArgs, args: dict[str, Any]) -> RefundArgs:
    # Keys the reviewer left out keep the drafted value; unknown keys are dropped
    # because the refund system would reject them.
    return {
        "customer": str(args.get("customer", draft["customer"])),
        "amount": _to_amount(args.get("amount", draft["amount"])),
        "currency": str(args.get("currency", draft["currency"])),
        "reason": str(args.get("reason", draft["reason"])),
    }


def _decide(draft: RefundArgs, responses: object) -> dict[str, Any]:
    if not isinstance(responses, list) or len(responses) != 1:
        raise ValueError(f"expected a list with one HumanResponse, got {responses!r}")
    # A HumanResponse, `{"type": ..., "args": ...}`, checked field by field because it is
    # whatever JSON the reviewer's client sent. `refund` holds the approved args until
    # `issue_refund` pays them out.
    response: object = responses[0]
    match response:
        case {"type": "accept"}:
            return {"refund": draft}
        case {"type": "edit", "args": {"args": dict() as edited}}:
            return {"refund": _edited(draft, edited)}
        case {"type": "response", "args": str(text)}:
            return {"outcome": "feedback", "refund": None, "feedback": text}
        case {"type": "ignore"}:
            return {"outcome": "ignored", "refund": None, "feedback": None}
    raise ValueError(f"not an agent-inbox HumanResponse: {response!r}")


def review(state: RefundState) -> dict[str, Any]:
    draft = state["draft"]
    problem = state.get("problem")
    request: HumanInterrupt = {
        "action_request": {"action": "issue_refund", "args": dict(draft)},
        "config": {
            "allow_accept": True,
            "allow_edit": True,
            "allow_respond": True,
            "allow_ignore": True,
        },
        "description": (
            (f"**The last answer could not be used:** {problem}\n\n" if problem else "")
            + f"**{draft['customer']}** asks for a refund of "
            f"**{draft['amount']:.2f} {draft['currency']}**.\n\n"
            f"> {draft['reason'] or '(no reason given)'}\n\n"
            "Accept to refund as drafted, edit the amount, reply with feedback for the "
            "agent, or ignore to close the request without a refund."
        ),
    }
    try:
        return {**_decide(draft, interrupt([request])), "problem": None}
    except ValueError as error:
        # Asking again rather than failing: a resume that fails is saved with its
        # interrupt and replayed on every retry, so the thread could never be answered.
        return {"problem": str(error)}


def route_after_review(state: RefundState) -> str:
    if state.get("problem"):
        return "review"
    return "issue_refund" if state.get("refund") else END


def issue_refund(state: RefundState) -> dict[str, Any]:
    # A real deployment would call the payment provider here with exactly these args.
    return {"outcome": "refunded", "feedback": None}


builder = StateGraph(RefundState, input_schema=RefundRequest)
builder.add_node("draft_refund", draft_refund)
builder.add_node("review", review)
builder.add_node("issue_refund", issue_refund)
builder.add_edge(START, "draft_refund")
builder.add_edge("draft_refund", "review")
builder.add_conditional_edges("review", route_after_review, ["review", "issue_refund", END])
builder.add_edge("issue_refund", END)
graph = builder.compile(name="refund_approval")
