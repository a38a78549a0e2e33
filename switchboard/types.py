"""Typed shapes of what the LangGraph Server API sends and accepts.

Dict-shaped wire data is a ``TypedDict`` (as returned, never copied into classes); string
choices are ``StrEnum``s so callers may pass either ``StreamMode.VALUES`` or ``"values"``.
Timestamps stay ISO-8601 strings, exactly as the server sends them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Literal, NamedTuple, NotRequired, TypeAlias, TypedDict

__all__ = [
    "Assistant",
    "CancelAction",
    "Checkpoint",
    "Command",
    "Config",
    "DisconnectMode",
    "GraphDrawing",
    "GraphSchemas",
    "Interrupt",
    "MultitaskStrategy",
    "Run",
    "RunCreated",
    "RunStatus",
    "SortOrder",
    "StreamMode",
    "StreamPart",
    "Thread",
    "ThreadRef",
    "ThreadState",
    "ThreadStatus",
    "ThreadStreamMode",
    "ThreadTask",
    "UpdateStateResponse",
]


class StreamMode(enum.StrEnum):
    """What a run stream carries (contract §5.2). ``tools`` (tool calls starting, streaming,
    ending) and ``lifecycle`` (the run's and subgraphs' start and end) need langgraph-api
    ≥ 0.16 with a local graph; Aegra 0.11 does not emit them."""

    VALUES = "values"
    UPDATES = "updates"
    MESSAGES = "messages"
    MESSAGES_TUPLE = "messages-tuple"
    CUSTOM = "custom"
    EVENTS = "events"
    TASKS = "tasks"
    CHECKPOINTS = "checkpoints"
    DEBUG = "debug"
    TOOLS = "tools"
    LIFECYCLE = "lifecycle"


class MultitaskStrategy(enum.StrEnum):
    """What the server does with a new run while the thread already has one in flight."""

    REJECT = "reject"
    ROLLBACK = "rollback"
    INTERRUPT = "interrupt"
    ENQUEUE = "enqueue"


class ThreadStreamMode(enum.StrEnum):
    """Modes of the all-runs thread stream (``GET /threads/{id}/stream``)."""

    RUN_MODES = "run_modes"
    STATE_UPDATE = "state_update"
    LIFECYCLE = "lifecycle"


StreamModeName: TypeAlias = Literal[
    "values",
    "updates",
    "messages",
    "messages-tuple",
    "custom",
    "events",
    "tasks",
    "checkpoints",
    "debug",
    "tools",
    "lifecycle",
]
MultitaskStrategyName: TypeAlias = Literal["reject", "rollback", "interrupt", "enqueue"]
ThreadStatus: TypeAlias = Literal["idle", "busy", "interrupted", "error"]
RunStatus: TypeAlias = Literal["pending", "running", "error", "success", "timeout", "interrupted"]
DisconnectMode: TypeAlias = Literal["cancel", "continue"]
CancelAction: TypeAlias = Literal["interrupt", "rollback"]
SortOrder: TypeAlias = Literal["asc", "desc"]
IfExists: TypeAlias = Literal["raise", "do_nothing"]
IfNotExists: TypeAlias = Literal["create", "reject"]
Durability: TypeAlias = Literal["sync", "async", "exit"]
All: TypeAlias = Literal["*"]


class StreamPart(NamedTuple):
    """One server-sent event: ``event`` name, JSON-decoded ``data``, upstream ``id``.

    ``id`` is only set on resumable run streams and thread streams; ids may repeat.
    """

    event: str
    data: Any
    id: str | None


class RunCreated(TypedDict):
    """The run a stream belongs to, known from ``Content-Location`` before the first event."""

    run_id: str
    thread_id: str | None


class Config(TypedDict, total=False):
    tags: list[str]
    recursion_limit: int
    configurable: dict[str, Any]


class Checkpoint(TypedDict):
    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str | None
    checkpoint_map: NotRequired[dict[str, Any] | None]


class Interrupt(TypedDict):
    id: str | None
    value: Any
    response_schema: NotRequired[dict[str, Any] | None]


class Command(TypedDict, total=False):
    resume: Any
    update: dict[str, Any] | list[tuple[str, Any]] | None
    goto: Any


class ThreadError(TypedDict):
    error: str
    message: str


class Thread(TypedDict):
    thread_id: str
    created_at: str
    updated_at: str
    metadata: dict[str, Any]
    status: ThreadStatus
    values: Any
    config: NotRequired[dict[str, Any]]
    state_updated_at: NotRequired[str]
    interrupts: NotRequired[dict[str, list[Interrupt]]]
    error: NotRequired[ThreadError | None]
    extracted: NotRequired[dict[str, Any]]


class ThreadTask(TypedDict):
    id: str
    name: str
    path: NotRequired[list[Any]]
    error: str | None
    interrupts: list[Interrupt]
    checkpoint: Checkpoint | None
    state: ThreadState | None
    result: NotRequired[dict[str, Any] | None]


class ThreadState(TypedDict):
    values: Any
    next: list[str]
    tasks: list[ThreadTask]
    metadata: dict[str, Any] | None
    created_at: str | None
    checkpoint: Checkpoint | None
    parent_checkpoint: Checkpoint | None
    interrupts: list[Interrupt]
    checkpoint_id: NotRequired[str | None]
    parent_checkpoint_id: NotRequired[str | None]


class UpdateStateResponse(TypedDict):
    """The checkpoint an ``update_thread_state`` wrote (fork/resume from ``checkpoint_id``)."""

    checkpoint: Checkpoint
    checkpoint_id: NotRequired[str]
    configurable: NotRequired[dict[str, Any]]


class Run(TypedDict):
    run_id: str
    thread_id: str
    assistant_id: str
    created_at: str
    updated_at: str
    status: RunStatus
    metadata: dict[str, Any]
    multitask_strategy: MultitaskStrategyName | None
    kwargs: NotRequired[dict[str, Any]]
    cancel_reason: NotRequired[str | None]


class Assistant(TypedDict):
    assistant_id: str
    graph_id: str
    config: Config
    context: NotRequired[dict[str, Any]]
    metadata: dict[str, Any]
    name: str
    created_at: str
    updated_at: str
    version: int
    description: str | None


class GraphDrawing(TypedDict):
    """``GET /assistants/{id}/graph``: nodes and edges of the compiled graph."""

    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]


class GraphSchemas(TypedDict):
    graph_id: str
    input_schema: dict[str, Any] | None
    output_schema: dict[str, Any] | None
    state_schema: dict[str, Any] | None
    config_schema: dict[str, Any] | None
    context_schema: NotRequired[dict[str, Any] | None]


# Everywhere a thread is expected the caller may pass its id or the thread dict itself
# (what create_thread/search_threads returned), as the seed SDK allows.
ThreadRef: TypeAlias = str | Mapping[str, Any]
