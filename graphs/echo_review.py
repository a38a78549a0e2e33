"""echo_review: asks exactly what it is given and keeps exactly what it is answered.

Input: `{"asks": [<interrupt value>, ...]}`. Each value is asked by its own `ask` task, all in
parallel (one `Send` each), so n values leave n interrupts pending on one thread, in any format:
an agent-inbox list of `HumanInterrupt`, a middleware `HITLRequest`, a plain question. Each
answer is stored untouched in `received` under the ask's position (`"0"`, `"1"`, ...), which
makes the final state a record of exactly what the graph received from the console.
Answering some of the interrupts leaves the others pending.
"""

from __future__ import annotations

from typing import Annotated, Any, NotRequired, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send, interrupt


def _merge(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    return {**(left or {}), **(right or {})}


class EchoInput(TypedDict):
    asks: list[Any]


class EchoState(EchoInput):
    received: NotRequired[Annotated[dict[str, Any], _merge]]


class Ask(TypedDict):
    position: int
    value: Any


def fan_out(state: EchoState) -> list[Send]:
    return [Send("ask", Ask(position=n, value=v)) for n, v in enumerate(state["asks"])]


def ask(state: Ask) -> dict[str, Any]:
    return {"received": {str(state["position"]): interrupt(state["value"])}}


builder = StateGraph(EchoState, input_schema=EchoInput)
builder.add_node("ask", ask)
builder.add_conditional_edges(START, fan_out, ["ask"])
builder.add_edge("ask", END)
graph = builder.compile(name="echo_review")
