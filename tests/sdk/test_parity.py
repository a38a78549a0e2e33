"""The sync client mirrors the async one mechanically, and the public surface is guarded."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from typing import Any

import pytest

import switchboard
from switchboard import Client, SyncClient
from switchboard._crons import CronsNamespace
from switchboard._namespaces import AssistantsNamespace, RunsNamespace, ThreadsNamespace
from switchboard._store import StoreNamespace
from switchboard._sync import (
    SyncAssistantsNamespace,
    SyncCronsNamespace,
    SyncRunsNamespace,
    SyncStoreNamespace,
    SyncThreadsNamespace,
)

PAIRS = [
    (Client, SyncClient),
    (ThreadsNamespace, SyncThreadsNamespace),
    (RunsNamespace, SyncRunsNamespace),
    (AssistantsNamespace, SyncAssistantsNamespace),
    (CronsNamespace, SyncCronsNamespace),
    (StoreNamespace, SyncStoreNamespace),
]


def _public(cls: type) -> dict[str, Any]:
    found = {}
    for klass in reversed(cls.__mro__[:-1]):
        for name, member in vars(klass).items():
            if name.startswith("_") or not callable(getattr(member, "__func__", member)):
                continue
            found[name] = member
    return found


def _signature(member: Any) -> inspect.Signature:
    function = getattr(member, "__func__", member)
    signature = inspect.signature(function)
    params = [p for p in signature.parameters.values() if p.name not in ("self", "cls")]
    return signature.replace(parameters=params)


def _returns(annotation: Any) -> str:
    text = re.sub(r"\s+", "", str(annotation))
    return text.replace("SyncRunStream", "RunStream").replace("Self", "Client")


@pytest.mark.parametrize(("async_cls", "sync_cls"), PAIRS, ids=lambda c: c.__name__)
def test_every_async_method_has_a_sync_twin_with_the_same_signature(
    async_cls: type, sync_cls: type
) -> None:
    async_methods, sync_methods = _public(async_cls), _public(sync_cls)
    expected = set(async_methods) - {"aclose"} | ({"close"} if async_cls is Client else set())
    assert set(sync_methods) == expected
    for name, async_member in async_methods.items():
        if name == "aclose":
            continue
        a, s = _signature(async_member), _signature(sync_methods[name])
        a_params, s_params = list(a.parameters.values()), list(s.parameters.values())
        if name == "create" and async_cls is Client:
            s_params = [p for p in s_params if p.name != "item_timeout"]
        assert [(p.name, p.kind, p.default, p.annotation) for p in a_params] == [
            (p.name, p.kind, p.default, p.annotation) for p in s_params
        ], f"{sync_cls.__name__}.{name}"
        assert _returns(a.return_annotation) == _returns(s.return_annotation), name


def test_the_constructors_take_the_same_arguments_plus_item_timeout() -> None:
    a = list(inspect.signature(Client.__init__).parameters.values())
    s = list(inspect.signature(SyncClient.__init__).parameters.values())
    assert [(p.name, p.kind, p.default) for p in a] == [(p.name, p.kind, p.default) for p in s[:-1]]
    assert s[-1].name == "item_timeout"


def test_with_options_and_max_connections_are_the_same_on_both_clients() -> None:
    a, s = inspect.signature(Client.with_options), inspect.signature(SyncClient.with_options)
    assert [(p.name, p.kind, p.default, p.annotation) for p in a.parameters.values()] == [
        (p.name, p.kind, p.default, p.annotation) for p in s.parameters.values()
    ]
    assert list(a.parameters) == ["self", "max_retries", "timeout"]
    assert a.return_annotation == s.return_annotation == "Self"
    for method in (Client.__init__, Client.create, SyncClient.__init__, SyncClient.create):
        parameter = inspect.signature(method).parameters["max_connections"]
        assert (parameter.kind, parameter.default) == (inspect.Parameter.KEYWORD_ONLY, None)
    assert "max_connections" in (Client.__doc__ or "")
    assert "max_connections" in (SyncClient.__doc__ or "")


def test_the_async_methods_are_coroutines_and_the_sync_ones_are_not() -> None:
    for name, member in _public(Client).items():
        if name in ("stream_run", "join_stream", "join_thread_stream", "with_options"):
            assert not inspect.iscoroutinefunction(member)
        else:
            assert inspect.iscoroutinefunction(getattr(member, "__func__", member)), name
    for name, member in _public(SyncClient).items():
        assert not inspect.iscoroutinefunction(getattr(member, "__func__", member)), name


def test_the_seed_method_names_are_all_there() -> None:
    for name in (
        "create_thread",
        "get_thread_status",
        "get_thread_state",
        "update_thread_state",
        "get_state_history",
        "stream_run",
        "get_interrupts",
        "resume",
        "run_batch",
        "health",
        "info",
    ):
        assert callable(getattr(Client, name))
        assert callable(getattr(SyncClient, name))
    stream = inspect.signature(Client.stream_run).parameters
    assert {"checkpoint_id", "is_background", "multitask_strategy", "stream_mode"} <= set(stream)


def test_the_public_names_are_exactly_these() -> None:
    assert sorted(switchboard.__all__) == sorted(
        [
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
    )
    for name in switchboard.__all__:
        assert getattr(switchboard, name) is not None


def test_the_string_enums_take_plain_strings() -> None:
    assert switchboard.StreamMode("messages-tuple") == "messages-tuple"
    assert [m.value for m in switchboard.MultitaskStrategy] == [
        "reject",
        "rollback",
        "interrupt",
        "enqueue",
    ]


def test_the_sdk_imports_nothing_from_django_dashboard_or_apps() -> None:
    code = (
        "import sys, switchboard, switchboard._cli, switchboard._batch, switchboard.__main__"
        if False
        else "import sys, switchboard, switchboard._cli, switchboard._batch\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'dashboard', 'apps'))\n"
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
