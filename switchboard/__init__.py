"""Switchboard SDK: async and sync clients for LangGraph Server deployments.

    from switchboard import Client, SyncClient
    from switchboard import get_client, get_sync_client  # langgraph_sdk's entry points

``Client`` is the implementation (async); ``SyncClient`` runs it on a private loop thread.
Errors form one tree rooted at ``SwitchboardError`` (see ``switchboard.errors``).
"""

from __future__ import annotations

from switchboard import errors, types
from switchboard._async import Client
from switchboard._batch import BatchProgress, BatchResult
from switchboard._entry import get_client, get_sync_client
from switchboard._hitl import (
    InterruptAction,
    InterruptRecord,
    ResumeComposer,
    interrupts_from_state,
    is_paused_at_breakpoint,
    needs_human,
)
from switchboard._http import RunStream
from switchboard._sync import SyncClient, SyncRunStream
from switchboard._version import __version__
from switchboard.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ConflictError,
    GraphError,
    GraphNotFoundError,
    InputError,
    NotFoundError,
    NotSupportedError,
    RateLimitError,
    RedirectError,
    RunFailedError,
    ServerError,
    SwitchboardError,
    ThreadBusyError,
)
from switchboard.types import (
    MultitaskStrategy,
    RunCreated,
    StreamMode,
    StreamPart,
    ThreadStreamMode,
)

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BatchProgress",
    "BatchResult",
    "Client",
    "ConflictError",
    "GraphError",
    "GraphNotFoundError",
    "InputError",
    "InterruptAction",
    "InterruptRecord",
    "MultitaskStrategy",
    "NotFoundError",
    "NotSupportedError",
    "RateLimitError",
    "RedirectError",
    "ResumeComposer",
    "RunCreated",
    "RunFailedError",
    "RunStream",
    "ServerError",
    "StreamMode",
    "StreamPart",
    "SwitchboardError",
    "SyncClient",
    "SyncRunStream",
    "ThreadBusyError",
    "ThreadStreamMode",
    "__version__",
    "errors",
    "get_client",
    "get_sync_client",
    "interrupts_from_state",
    "is_paused_at_breakpoint",
    "needs_human",
    "types",
]
