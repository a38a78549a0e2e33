"""Code written for ``langgraph_sdk`` runs on ours: every public method and keyword of its
clients (``get_client()``'s async namespaces and ``get_sync_client()``'s) exists on ours,
unless it is listed below with the reason it is deliberately different.

The reference is the installed ``langgraph-sdk`` (pinned in requirements-dev.txt); a new
release that adds a method or keyword fails this test until it is matched or listed."""

from __future__ import annotations

import inspect
import re
import typing
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client as lg_get_client
from langgraph_sdk import get_sync_client as lg_get_sync_client

import switchboard
from switchboard import Client, SyncClient, get_client, get_sync_client

NAMESPACES = ("assistants", "threads", "runs", "crons", "store")

# (namespace, method) → why we do not have it.
MISSING_METHODS = {
    ("threads", "stream"): (
        "langgraph_sdk 0.4's experimental thread stream (run_start_timeout=, transport=); "
        "follow a thread with threads.join_stream instead"
    ),
}

# (namespace, method, keyword) → why we do not take it.
MISSING_KEYWORDS = {
    ("threads", "get_state", "select"): (
        "langgraph-api 0.16.7 (the reference server) does not accept select on state reads"
    ),
    ("threads", "get_history", "select"): (
        "langgraph-api 0.16.7 (the reference server) does not accept select on history"
    ),
    ("threads", "update", "return_minimal"): (
        "we always return the updated thread: callers read it, and the body is small"
    ),
    ("assistants", "search", "response_format"): (
        "we return the list; page with offset= (X-Pagination-Next is not a real total)"
    ),
    ("runs", "stream", "version"): (
        "our stream items are always StreamPart(event, data, id), the v1 shape; v2's dicts "
        "are not offered"
    ),
}
for method in ("stream", "create", "wait"):
    MISSING_KEYWORDS[("runs", method, "checkpoint_during")] = (
        "deprecated by langgraph_sdk itself in favour of durability=, which we take"
    )
    MISSING_KEYWORDS[("runs", method, "langsmith_tracing")] = (
        "LangSmith tracing of a run: neither langgraph dev nor Aegra acts on it"
    )
MISSING_KEYWORDS[("runs", "stream", "feedback_keys")] = (
    "LangSmith feedback keys: neither langgraph dev nor Aegra acts on them"
)

# Client-level attributes of langgraph_sdk's clients that ours do not expose.
MISSING_ATTRIBUTES = {
    "http": "raw HTTP access stays private (every endpoint has a method); use headers=/params="
}


def _keywords(method: Any) -> set[str]:
    """Every keyword the method accepts, including ``**options: Unpack[TypedDict]`` keys."""
    names = set()
    for param in inspect.signature(method).parameters.values():
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            # "Unpack[StreamRunOptions]": the TypedDict's keys are the keywords.
            function = inspect.unwrap(getattr(method, "__func__", method))
            match = re.fullmatch(r"Unpack\[(\w+)\]", str(param.annotation))
            assert match, param.annotation
            typed_dict = function.__globals__[match.group(1)]
            names |= set(typing.get_type_hints(typed_dict))
        elif param.kind is not inspect.Parameter.VAR_POSITIONAL:
            names.add(param.name)
    return names - {"self"}


def _methods(namespace: Any) -> dict[str, Any]:
    return {
        name: getattr(namespace, name)
        for name in dir(namespace)
        if not name.startswith("_") and callable(getattr(namespace, name))
    }


@pytest.fixture(scope="module")
def clients() -> Any:
    lg_async = lg_get_client(url="http://127.0.0.1:9")
    lg_sync = lg_get_sync_client(url="http://127.0.0.1:9")
    ours_async = get_client(url="http://127.0.0.1:9")
    ours_sync = get_sync_client(url="http://127.0.0.1:9")
    yield {"async": (lg_async, ours_async), "sync": (lg_sync, ours_sync)}
    ours_sync.close()
    lg_sync.close()


@pytest.mark.parametrize("kind", ["async", "sync"])
@pytest.mark.parametrize("namespace", NAMESPACES)
def test_every_langgraph_sdk_method_and_keyword_is_ours_too(
    clients: Any, kind: str, namespace: str
) -> None:
    theirs, ours = clients[kind]
    gaps = []
    for name, method in _methods(getattr(theirs, namespace)).items():
        if (namespace, name) in MISSING_METHODS:
            assert not hasattr(getattr(ours, namespace), name), f"{namespace}.{name} is there now"
            continue
        mine = getattr(getattr(ours, namespace), name, None)
        if mine is None:
            gaps.append(f"{namespace}.{name}")
            continue
        missing = _keywords(method) - _keywords(mine)
        for keyword in sorted(missing):
            if (namespace, name, keyword) not in MISSING_KEYWORDS:
                gaps.append(f"{namespace}.{name}({keyword}=)")
    assert gaps == []


def _positional(method: Any) -> list[str]:
    names = [
        OUR_NAMES.get(p.name, p.name)
        for p in inspect.signature(method).parameters.values()
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    # Nobody passes headers= or params= by position.
    return [n for n in names if n not in ("self", "headers", "params")]


# Our seed names and the official ones they stand for.
OUR_NAMES = {
    "thread": "thread_id",
    "run": "run_id",
    "assistant": "assistant_id",
    "state_update": "values",
}


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_arguments_passed_by_position_land_where_langgraph_sdk_puts_them(
    clients: Any, namespace: str
) -> None:
    theirs, ours = clients["async"]
    wrong = []
    for name, method in _methods(getattr(theirs, namespace)).items():
        mine = getattr(getattr(ours, namespace), name, None)
        if mine is None:
            continue
        expected, got = _positional(method), _positional(mine)
        if (namespace, name) == ("threads", "get_state"):
            # Ours is (thread, checkpoint_id): a checkpoint dict given second is taken as
            # the checkpoint (test_an_official_keyword_reaches_the_server...).
            expected = ["thread_id"]
        if got[: len(expected)] != expected:
            wrong.append(f"{namespace}.{name}: {got} != {expected}")
    assert wrong == []


def test_the_listed_differences_are_still_different() -> None:
    """A listed difference that we have since matched must leave the list."""
    client = get_client(url="http://127.0.0.1:9")
    for (namespace, name, keyword), reason in MISSING_KEYWORDS.items():
        assert reason
        assert keyword not in _keywords(getattr(getattr(client, namespace), name)), (
            namespace,
            name,
            keyword,
        )
    for attribute in MISSING_ATTRIBUTES:
        assert not hasattr(client, attribute)
        assert hasattr(lg_get_client(url="http://127.0.0.1:9"), attribute)


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_the_clients_have_langgraph_sdks_attributes_and_closing_method(
    clients: Any, kind: str
) -> None:
    theirs, ours = clients[kind]
    public = {name for name in dir(theirs) if not name.startswith("_")}
    for name in public - set(MISSING_ATTRIBUTES):
        assert hasattr(ours, name), name
    assert ("aclose" if kind == "async" else "close") in public


@pytest.mark.parametrize(
    ("method", "official", "ours"),
    [
        (Client.get_thread, "thread_id", "thread"),
        (Client.get_run, "run_id", "run"),
        (Client.get_assistant, "assistant_id", "assistant"),
        (Client.update_thread_state, "values", "state_update"),
        (SyncClient.get_thread_state, "thread_id", "thread"),
        (SyncClient.cancel_run, "run_id", "run"),
    ],
)
def test_the_flat_methods_take_both_keyword_names(method: Any, official: str, ours: str) -> None:
    parameters = inspect.signature(method).parameters
    assert parameters[official].kind is inspect.Parameter.KEYWORD_ONLY
    assert ours in parameters


async def test_an_official_keyword_reaches_the_server_as_the_seed_one_would() -> None:
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path, request.url.query.decode()))
        return httpx.Response(200, json={"thread_id": "t1", "run_id": "r1"})

    # Typed as Any: the official names are accepted at run time; the signatures that mypy
    # reads spell ours.
    client: Any
    async with Client("http://x", transport=httpx.MockTransport(handler)) as client:
        await client.get_thread(thread_id="t1")
        await client.threads.get(thread_id="t1", params={"trace": "1"})
        await client.runs.get(thread_id="t1", run_id="r1")
        await client.get_run(thread="t1", run="r1")
        await client.threads.get_state("t1", {"checkpoint_id": "c1", "checkpoint_ns": ""})
        with pytest.raises(switchboard.InputError, match="both"):
            await client.get_thread(thread="t1", thread_id="t2")
    assert seen == [
        ("GET", "/threads/t1", ""),
        ("GET", "/threads/t1", "trace=1"),
        ("GET", "/threads/t1/runs/r1", ""),
        ("GET", "/threads/t1/runs/r1", ""),
        ("POST", "/threads/t1/state/checkpoint", ""),
    ]


def test_get_client_reads_the_api_key_from_the_environment_as_langgraph_sdk_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LANGGRAPH_API_KEY", raising=False)
    monkeypatch.setenv("LANGSMITH_API_KEY", "from-env")
    assert get_client(url="http://x")._http._headers["x-api-key"] == "from-env"
    assert "x-api-key" not in get_client(url="http://x", api_key=None)._http._headers
    assert get_client(url="http://x", api_key="given")._http._headers["x-api-key"] == "given"
    assert get_client().url == "http://localhost:8123"
