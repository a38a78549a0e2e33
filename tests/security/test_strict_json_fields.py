"""NaN, Infinity, 100,000-deep nesting and a 2 MB value in every JSON field of every form.

Each is a 400 with the form's error shown and the operator's text still in the form, and nothing
reaches the deployment: checked against the real ``langgraph dev`` (the thread's checkpoint, its
runs, the number of threads), not a mock.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from apps.inbox.models import Decision
from apps.runs.models import Run
from switchboard import SyncClient
from tests.fixtures.inbox import Paused

pytestmark = pytest.mark.django_db(transaction=True)

DEPTH = 100_000
BAD = {
    "nan": '{"amount": NaN}',
    "infinity": "[1, Infinity]",
    "1e999": '{"amount": 1e999}',
    "deep": "[" * DEPTH + "]" * DEPTH,
    "2mb": '{"blob": "' + "y" * (2 * 1024 * 1024) + '"}',
}
LEGACY = [
    {
        "action_request": {"action": "tag_order", "args": {"tags": ["a", "b"], "weight": 2}},
        "config": {
            "allow_accept": True,
            "allow_edit": True,
            "allow_respond": True,
            "allow_ignore": True,
        },
        "description": "Tag the order",
    }
]


@dataclass
class JsonField:
    """One JSON field of one form: how to pause a thread for it and what to POST."""

    name: str
    asks: list[Any] | None  # echo_review's input, or None for a form that needs no thread
    post: Callable[[Client, Paused | None, str, Any], Any]


def _base(p: Paused) -> dict[str, Any]:
    return {"checkpoint_id": p.checkpoint_id, "interrupt_id": [r.interrupt_id for r in p.rows]}


def _generic(client: Client, p: Paused | None, text: str, deployment: Any) -> Any:
    assert p
    return client.post(p.url, {**_base(p), f"i{p.row.pk}-json": text})


def _raw(client: Client, p: Paused | None, text: str, deployment: Any) -> Any:
    assert p
    return client.post(p.url, {**_base(p), "mode": "raw", "raw": text})


def _edited_arg(client: Client, p: Paused | None, text: str, deployment: Any) -> Any:
    assert p
    prefix = f"i{p.row.pk}-a0"
    return client.post(
        p.url,
        {
            **_base(p),
            f"{prefix}-type": "edit",
            f"{prefix}-arg-tags": text,
            f"{prefix}-arg-weight": "2",
        },
    )


def _edited_number(client: Client, p: Paused | None, text: str, deployment: Any) -> Any:
    assert p
    prefix = f"i{p.row.pk}-a0"
    return client.post(
        p.url,
        {**_base(p), f"{prefix}-type": "edit", f"{prefix}-arg-weight": text},
    )


def _edit_state(client: Client, p: Paused | None, text: str, deployment: Any) -> Any:
    assert p
    return client.post(
        f"{p.url}state/",
        {
            "checkpoint_id": p.checkpoint_id,
            "head_checkpoint_id": p.checkpoint_id,
            "values": text,
            "then_continue": "on",
            "step": "confirm",
            "interrupt_id": [r.interrupt_id for r in p.rows],
        },
    )


def _run_input(client: Client, p: Paused | None, text: str, deployment: Any) -> Any:
    return client.post(
        "/runs/new/",
        {
            "deployment": deployment.pk,
            "assistant_id": "echo_review",
            "input": text,
            "stream_mode": ["values"],
            "multitask_strategy": "reject",
        },
    )


# A metadata filter matches one scalar (``key=value``): the bad numbers are given bare.
SCALARS = {'{"amount": NaN}': "NaN", "[1, Infinity]": "Infinity", '{"amount": 1e999}': "1e999"}


def _metadata_filter(client: Client, p: Paused | None, text: str, deployment: Any) -> Any:
    return client.get("/threads/", {"meta": f"order={SCALARS.get(text, text)}"})


FIELDS = [
    JsonField("inbox generic answer", [{"question": "Ship it?"}], _generic),
    JsonField("inbox raw resume", [{"question": "Ship it?"}], _raw),
    JsonField("inbox edited JSON argument", [LEGACY], _edited_arg),
    JsonField("inbox edited number argument", [LEGACY], _edited_number),
    JsonField("edit state values", [{"question": "Ship it?"}], _edit_state),
    JsonField("run start input", None, _run_input),
    JsonField("thread metadata filter", None, _metadata_filter),
]


def _shown_back(page: str, text: str) -> bool:
    """The operator's text is in the page (escaped), whole: nothing typed is lost."""
    return html.escape(text, quote=False) in page or html.escape(text) in page


# A number field reads one number: nesting and size do not apply to it.
CASES = [
    pytest.param(field, bad, id=f"{bad}-{field.name.replace(' ', '-')}")
    for field in FIELDS
    for bad in BAD
    if not (field.name == "inbox edited number argument" and bad in ("deep", "2mb"))
]


@pytest.mark.parametrize(("field", "bad"), CASES)
def test_a_bad_json_value_is_a_400_with_nothing_sent_and_nothing_lost(
    field: JsonField,
    bad: str,
    client: Client,
    oscar: Any,
    paused: Callable[..., Paused],
    graph_client: SyncClient,
    deployment_a: Any,
):
    p = paused("echo_review", {"asks": field.asks}) if field.asks is not None else None
    before = graph_client.get_thread_state(p.thread_id) if p else None
    threads_before = graph_client.count_threads()
    client.force_login(oscar)
    text = BAD[bad]

    r = field.post(client, p, text, deployment_a)

    page = r.content.decode()
    assert r.status_code == 400, page[:2000]
    assert 'class="error' in page or 'role="alert"' in page
    if field.name == "thread metadata filter":
        text = SCALARS.get(text, text)
    if field.name != "thread metadata filter" or len(text) < 500:
        assert _shown_back(page, text), "the operator's text is not in the form any more"
    assert not Run.objects.exists()
    assert not Decision.objects.exists()
    assert graph_client.count_threads() == threads_before
    if p and before:
        after = graph_client.get_thread_state(p.thread_id)
        assert after["checkpoint"] == before["checkpoint"]
        assert len(graph_client.list_runs(p.thread_id)) == 1
