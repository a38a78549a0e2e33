"""chatty: one long streamed reply, for live views and benchmarks.

Input: `{"chunks": N = 50, "rate": chunks per second = 20 (0 = as fast as possible),
"text": optional}`. The reply is exactly N message chunks, chunk i being the i-th word of
`text` (cycled; a stock sentence by default), so the operator sees an assistant message
grow word by word. About every tenth of the way, and at the end, a `custom` event reports
`{"emitted": i, "total": N}` for a progress bar. The final state holds that one message.

Chunks are produced lazily and counted, never collected, so N = 100,000 costs the final
message and little else.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator, Sequence
from typing import Annotated, NotRequired

from _scripted import ScriptedChatModel, ScriptedTurn, tokenize
from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

DEFAULT_TEXT = (
    "Switchboard streams every token the agent writes, so an operator can watch a long "
    "answer take shape and step in before it goes out."
)


class ChattyInput(TypedDict):
    chunks: NotRequired[int]
    rate: NotRequired[float]
    text: NotRequired[str]


class ChattyState(ChattyInput):
    messages: Annotated[list[AnyMessage], add_messages]


def _words(text: str, count: int) -> Iterator[str]:
    words = [" " + word.lstrip() for word in tokenize(text)]
    if not words:
        raise ValueError("text must contain at least one word")
    stream = itertools.islice(itertools.cycle(words), count)
    return itertools.chain([next(stream).lstrip()], stream)


async def chat(state: ChattyState) -> dict[str, list[AnyMessage]]:
    total = state.get("chunks", 50)
    rate = state.get("rate", 20.0)
    text = state.get("text") or DEFAULT_TEXT
    if total < 1:
        raise ValueError(f"chunks must be at least 1, got {total}")
    if rate < 0:
        raise ValueError(f"rate must be 0 (unpaced) or positive, got {rate}")

    def script(_: Sequence[BaseMessage]) -> ScriptedTurn:
        return ScriptedTurn(tokens=_words(text, total))

    model = ScriptedChatModel(script=script, tokens_per_second=rate)
    write = get_stream_writer()
    every = max(1, total // 10)
    reply = io.StringIO()
    message_id: str | None = None
    emitted = 0
    async for chunk in model.astream_text([HumanMessage(f"Stream {total} chunks.")]):
        emitted += 1
        message_id = chunk.id
        reply.write(chunk.text)
        if emitted % every == 0 or emitted == total:
            write({"emitted": emitted, "total": total})
    # Same id as the streamed chunks, so `messages` mode does not send the reply twice.
    return {"messages": [AIMessage(content=reply.getvalue(), id=message_id)]}


builder = StateGraph(ChattyState, input_schema=ChattyInput)
builder.add_node("chat", chat)
builder.add_edge(START, "chat")
builder.add_edge("chat", END)
graph = builder.compile(name="chatty")
