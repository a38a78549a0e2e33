"""support_agent: a LangChain v1 agent whose side effects wait for a person.

Input: `{"messages": [{"role": "user", "content": "Order A-1001 arrived broken. Please
refund $42.50 and email jane@example.com."}]}` (order id, amount and address are read
from the text, with defaults). The scripted model streams a short plan and calls two
tools at once, `issue_refund` then `send_email`. `HumanInTheLoopMiddleware` pauses before
either runs with ONE interrupt in the v1 format,
`{"action_requests": [{"name", "args", "description"} x2], "review_configs":
[{"action_name", "allowed_decisions": ["approve", "edit", "reject", "respond"]} x2]}`,
which the operator sees as two cards on one thread. The resume is
`{"decisions": [<for issue_refund>, <for send_email>]}`, one decision per action in that
order.

Each tool's result (its ToolMessage) ends with a JSON line
`{"tool": ..., "received": {<args the tool actually got>}, "status": ...}`, so an edit is
visible where it landed (the middleware prepends its own note to edited results). The
model then streams a final answer, token by token, saying what happened to each call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from _scripted import ScriptedChatModel, ScriptedTurn, tokenize
from langchain.agents import AgentState, create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolCall, ToolMessage
from langchain_core.tools import tool
from langgraph.runtime import Runtime

DEFAULT_ORDER = "A-1001"
DEFAULT_AMOUNT = 42.5
DEFAULT_EMAIL = "customer@example.com"


def _receipt(name: str, received: dict[str, Any], status: str) -> str:
    return json.dumps({"tool": name, "received": received, "status": status})


@tool
def issue_refund(order_id: str, amount: float, reason: str) -> str:
    """Refund an order to the customer's original payment method."""
    received = {"order_id": order_id, "amount": amount, "reason": reason}
    return _receipt("issue_refund", received, "refunded")


@tool
def send_email(to: str, subject: str, body: str) -> str:
    """Send an email to the customer."""
    return _receipt("send_email", {"to": to, "subject": subject, "body": body}, "sent")


def _propose(messages: Sequence[BaseMessage]) -> ScriptedTurn:
    asks = [message for message in messages if isinstance(message, HumanMessage)]
    text = asks[-1].text if asks else ""
    order = re.search(r"\b[A-Z]{1,3}-?\d{3,}\b", text)
    amount = re.search(r"\$\s?(\d+(?:\.\d{1,2})?)|(\d+(?:\.\d{1,2})?)\s?(?:USD|dollars)", text)
    email = re.search(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text)
    order_id = order.group(0) if order else DEFAULT_ORDER
    value = float(next(g for g in amount.groups() if g)) if amount else DEFAULT_AMOUNT
    to = email.group(0) if email else DEFAULT_EMAIL
    # Ids are fixed per conversation turn: deterministic, yet distinct across turns.
    turn = len(asks)
    calls = [
        ToolCall(
            name="issue_refund",
            args={"order_id": order_id, "amount": value, "reason": text or "customer request"},
            id=f"call_{turn}_issue_refund",
        ),
        ToolCall(
            name="send_email",
            args={
                "to": to,
                "subject": f"Your refund for order {order_id}",
                "body": f"We have refunded {value:.2f} USD for order {order_id}. Sorry!",
            },
            id=f"call_{turn}_send_email",
        ),
    ]
    plan = f"I'll refund {value:.2f} USD on order {order_id} and email {to} to confirm."
    return ScriptedTurn(tokens=tokenize(plan), tool_calls=calls)


def _outcome(result: ToolMessage, call: ToolCall) -> str:
    name = result.name or "the tool"
    content = result.text
    if result.status == "error" and content.startswith("User rejected"):
        reason = content.partition("with reason: ")[2]
        return f"I did not run {name}: the reviewer rejected it" + (
            f" ({reason})." if reason else "."
        )
    if result.status == "error":
        return f"{name} failed: {content}"
    try:
        receipt = json.loads(content.rsplit("\n", 1)[-1])
    except json.JSONDecodeError:
        receipt = None
    if not isinstance(receipt, dict) or "received" not in receipt:
        return f"For {name}, the reviewer answered instead: {content}"
    args = receipt["received"]
    edited = " (as edited by the reviewer)" if call["args"] != args else ""
    if receipt["tool"] == "issue_refund":
        return f"I refunded {args['amount']:.2f} USD on order {args['order_id']}{edited}."
    return f"I emailed {args['to']} about {args['subject']!r}{edited}."


def _summarise(messages: Sequence[BaseMessage]) -> ScriptedTurn:
    at, asked = next(
        (i, m)
        for i, m in reversed(list(enumerate(messages)))
        if isinstance(m, AIMessage) and m.tool_calls
    )
    results = {m.tool_call_id: m for m in messages[at + 1 :] if isinstance(m, ToolMessage)}
    # In call order: the middleware adds its answers for rejected calls before the rest.
    lines = [
        _outcome(result, call)
        for call in asked.tool_calls
        if (result := results.get(call["id"] or ""))
    ]
    answer = " ".join(["Here is what happened.", *lines, "Anything else I can help with?"])
    return ScriptedTurn(tokens=tokenize(answer))


def _turn(messages: Sequence[BaseMessage]) -> ScriptedTurn:
    # Deciding from the conversation, not from a counter, is what lets a resumed or
    # replayed thread get the right turn.
    if isinstance(messages[-1], ToolMessage):
        return _summarise(messages)
    return _propose(messages)


def _describe_refund(tool_call: ToolCall, state: AgentState[Any], runtime: Runtime[Any]) -> str:
    args = tool_call["args"]
    return (
        f"Refund **{args['amount']:.2f} USD** on order **{args['order_id']}**.\n\n"
        "Money leaves the account: check the amount against the order."
    )


def _describe_email(tool_call: ToolCall, state: AgentState[Any], runtime: Runtime[Any]) -> str:
    args = tool_call["args"]
    return f"Email **{args['to']}**: {args['subject']}\n\n> {args['body']}"


graph = create_agent(
    # About a hosted model's speed, so the console's live view has tokens to show.
    ScriptedChatModel(script=_turn, tokens_per_second=50),
    tools=[issue_refund, send_email],
    system_prompt="You are a support agent. Refunds and emails need a human's approval.",
    middleware=[
        HumanInTheLoopMiddleware(
            interrupt_on={
                "issue_refund": {
                    "allowed_decisions": ["approve", "edit", "reject", "respond"],
                    "description": _describe_refund,
                },
                "send_email": {
                    "allowed_decisions": ["approve", "edit", "reject", "respond"],
                    "description": _describe_email,
                },
            }
        )
    ],
    name="support_agent",
)
