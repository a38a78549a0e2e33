"""flaky: a run that fails on request, to show error handling in the console.

Input: `{"fail": false, "message": "flaky failed on purpose", "fail_at": "process"}`.
The graph is `prepare` -> `process` -> `finish`. With `"fail": true`, the node named by
`fail_at` raises `ValueError(message)`: the run stream ends with an `error` event
`{"error": "ValueError", "message": message}` and the thread's status becomes `error`.
Otherwise the run succeeds with `{"result": "ok", "steps": ["prepare", "process",
"finish"]}`.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, NotRequired, get_args

from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

Step = Literal["prepare", "process", "finish"]


class FlakyInput(TypedDict):
    fail: NotRequired[bool]
    message: NotRequired[str]
    fail_at: NotRequired[Step]


class FlakyState(FlakyInput):
    steps: Annotated[list[str], operator.add]
    result: NotRequired[str]


def _step(name: Step, state: FlakyState) -> dict[str, Any]:
    if state.get("fail") and state.get("fail_at", "process") == name:
        raise ValueError(state.get("message", "flaky failed on purpose"))
    return {"steps": [name]}


def prepare(state: FlakyState) -> dict[str, Any]:
    # A misspelt step would otherwise make a requested failure silently not happen.
    if state.get("fail_at", "process") not in get_args(Step):
        raise ValueError(f"fail_at must be one of {get_args(Step)}, got {state['fail_at']!r}")
    return _step("prepare", state)


def process(state: FlakyState) -> dict[str, Any]:
    return _step("process", state)


def finish(state: FlakyState) -> dict[str, Any]:
    return {**_step("finish", state), "result": "ok"}


builder = StateGraph(FlakyState, input_schema=FlakyInput)
builder.add_node("prepare", prepare)
builder.add_node("process", process)
builder.add_node("finish", finish)
builder.add_edge(START, "prepare")
builder.add_edge("prepare", "process")
builder.add_edge("process", "finish")
builder.add_edge("finish", END)
graph = builder.compile(name="flaky")
