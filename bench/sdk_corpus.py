"""The SSE bytes the SDK benchmark feeds to every client: a run of the ``chatty`` demo graph with
``stream_mode=["messages-tuple", "values", "updates", "custom"]`` and ``stream_resumable=True``,
byte for byte in the server's layout (CRLF lines, one ``data`` line, ``id: <ms>-<seq>``),
stretched to any number of events.

Events are produced lazily, so a 100,000-event body costs one event's memory at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

RUN_ID = "01a1fd31-7ff7-72d1-8678-1d98ff699f34"
THREAD_ID = "01a1fd31-7ff4-7600-a012-561342b71e61"
# The metadata the server attaches to each token (copied from a real capture).
_TOKEN_METADATA = {
    "created_by": "system",
    "graph_id": "chatty",
    "assistant_id": "ec5fdf46-34c5-5fad-999d-ec72476aca75",
    "run_attempt": 1,
    "langgraph_version": "1.2.22",
    "langgraph_api_version": "0.16.7",
    "langgraph_plan": "enterprise",
    "langgraph_host": "self-hosted",
    "langgraph_api_url": "http://127.0.0.1:12399",
    "thread_id": THREAD_ID,
    "run_id": RUN_ID,
    "ls_integration": "langgraph",
    "langgraph_step": 1,
    "langgraph_node": "chat",
    "langgraph_triggers": ["branch:to:chat"],
    "langgraph_path": ["__pregel_pull", "chat"],
    "langgraph_checkpoint_ns": "chat:2d0eaf8b-8ec6-6ebf-ce24-36ae05451982",
    "checkpoint_ns": "chat:2d0eaf8b-8ec6-6ebf-ce24-36ae05451982",
    "lc_versions": {"langchain-core": "1.7.2", "langchain": "1.4.7"},
}
_TEXT = (
    "Switchboard streams every token the agent writes, so an operator can watch a long answer "
    "take shape and step in before it goes out."
)
_WORDS = _TEXT.split()


def _prefix(name: str, data: object) -> bytes:
    payload = json.dumps(data, separators=(",", ":"))
    return f"event: {name}\r\ndata: {payload}\r\nid: 1795249242990-".encode()


def _token(index: int) -> object:
    word = _WORDS[index % len(_WORDS)]
    chunk: dict[str, object] = {
        "content": word if index == 0 else " " + word,
        "additional_kwargs": {},
        "response_metadata": {},
        "type": "AIMessageChunk",
        "name": None,
        "id": "lc_run--01a1fd31-8371-70fd-b128-3525ff556a9a",
        "tool_calls": [],
        "invalid_tool_calls": [],
        "usage_metadata": None,
        "tool_call_chunks": [],
        "chunk_position": None,
    }
    return [chunk, _TOKEN_METADATA]


# Encoded once: producing the body must cost next to nothing next to decoding it.
_TOKENS = [_prefix("messages", _token(i)) for i in range(len(_WORDS) + 1)]


def events(total: int) -> Iterator[bytes]:
    """``total`` events: metadata, values, then tokens with a ``custom`` progress event every
    tenth token, an ``updates`` and a last ``values`` at the end (what chatty sends)."""
    seq = 0

    def emit(prefix: bytes) -> bytes:
        nonlocal seq
        seq += 1
        return b"%s%d\r\n\r\n" % (prefix, seq)

    yield emit(_prefix("metadata", {"run_id": RUN_ID, "attempt": 1}))
    yield emit(_prefix("values", {"chunks": total, "rate": 0, "messages": []}))
    produced, token = 2, 0
    while produced < total - 2:
        # Token 0 has no leading space; later ones cycle through the words (25 = word 0).
        yield emit(_TOKENS[token % len(_WORDS) or (len(_WORDS) if token else 0)])
        token += 1
        produced += 1
        if token % 10 == 0 and produced < total - 2:
            yield emit(_prefix("custom", {"emitted": token, "total": total}))
            produced += 1
    reply = {"content": " ".join(_WORDS), "type": "ai", "id": "lc_run--01a1fd31"}
    yield emit(_prefix("updates", {"chat": {"messages": [reply]}}))
    yield emit(_prefix("values", {"chunks": total, "rate": 0, "messages": [reply]}))


def reads(total: int, *, size: int | None) -> Iterator[bytes]:
    """The body as network reads: ``size`` bytes each, or one event per read (``None``)."""
    if size is None:
        yield from events(total)
        return
    pending: list[bytes] = []
    length = 0
    for event in events(total):
        pending.append(event)
        length += len(event)
        if length >= size:
            block = b"".join(pending)
            for start in range(0, len(block) - size + 1, size):
                yield block[start : start + size]
            rest = block[len(block) - len(block) % size :]
            pending, length = [rest], len(rest)
    if length:
        yield b"".join(pending)
