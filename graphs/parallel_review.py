"""parallel_review: two reviewers asked at once, answered separately by interrupt id.

Input: `{"document": "..."}` (a stock contract summary if omitted). `legal_review` and
`finance_review` start together and each pauses with a plain payload
`{"question": "...", "branch": "legal" | "finance", "document": "...",
"options": ["approve", "reject"]}`, so the operator sees two open questions on one
thread. Because two interrupts are pending, the resume must map interrupt ids to answers,
`Command(resume={id_legal: answer, id_finance: answer})`; a bare value makes the run fail.
Answering one id leaves the other pending.

An answer is `"approve"`, `"reject"` or `{"approved": bool, "note": "..."}`. `join`
records both and sets `decision`: `approved` only if both reviewers approved.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from typing_extensions import TypedDict

DEFAULT_DOCUMENT = (
    "Master services agreement with Globex: 24 months, 180,000 USD a year, net-60 "
    "payment terms, liability capped at fees paid, auto-renewal unless cancelled 90 days "
    "before the end of the term."
)

Branch = Literal["legal", "finance"]


class ReviewInput(TypedDict):
    document: NotRequired[str]


class ReviewState(ReviewInput):
    # One key per branch: both branches write in the same step, and distinct keys
    # need no reducer.
    legal: NotRequired[Any]
    finance: NotRequired[Any]
    decision: NotRequired[Literal["approved", "rejected"]]


QUESTIONS: dict[Branch, str] = {
    "legal": "Legal: are the liability and renewal terms acceptable?",
    "finance": "Finance: are the price and payment terms acceptable?",
}


def _ask(branch: Branch, state: ReviewState) -> dict[str, Any]:
    answer = interrupt(
        {
            "question": QUESTIONS[branch],
            "branch": branch,
            "document": state.get("document", DEFAULT_DOCUMENT),
            "options": ["approve", "reject"],
        }
    )
    return {branch: answer}


def legal_review(state: ReviewState) -> dict[str, Any]:
    return _ask("legal", state)


def finance_review(state: ReviewState) -> dict[str, Any]:
    return _ask("finance", state)


def _approves(answer: object) -> bool:
    if isinstance(answer, dict):
        return answer.get("approved") is True
    return answer == "approve"


def join(state: ReviewState) -> dict[str, Any]:
    both = _approves(state.get("legal")) and _approves(state.get("finance"))
    return {"decision": "approved" if both else "rejected"}


builder = StateGraph(ReviewState, input_schema=ReviewInput)
builder.add_node("legal_review", legal_review)
builder.add_node("finance_review", finance_review)
builder.add_node("join", join)
builder.add_edge(START, "legal_review")
builder.add_edge(START, "finance_review")
builder.add_edge(["legal_review", "finance_review"], "join")
builder.add_edge("join", END)
graph = builder.compile(name="parallel_review")
