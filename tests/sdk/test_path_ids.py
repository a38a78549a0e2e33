"""Ids go into request paths, and no id may change which route a request reaches: httpx removes
dot segments, so a thread id ``..`` would send ``GET /threads/../state`` as ``GET /state``, and
cancelling run ``.`` would post to ``/threads/{id}/runs/cancel``, another route. Such ids are
refused before anything is sent (the console passes ids from its own URLs, which anyone can type).
Assistants are looked up by name first, so only the UUID found goes into a path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from switchboard import InputError
from tests.sdk.helpers import scripted

Make = Callable[..., Any]
THREAD = "11111111-1111-1111-1111-111111111111"

CALLS: dict[str, Callable[[Any, str], Any]] = {
    "get_thread": lambda client, bad: client.get_thread(bad),
    "delete_thread": lambda client, bad: client.delete_thread(bad),
    "get_thread_state": lambda client, bad: client.get_thread_state(bad),
    "state at a checkpoint": lambda client, bad: client.get_thread_state(THREAD, bad),
    "create_run": lambda client, bad: client.create_run(bad, {}),
    "get_run": lambda client, bad: client.get_run(THREAD, bad),
    "cancel_run": lambda client, bad: client.cancel_run(THREAD, bad),
    "crons.delete": lambda client, bad: client.crons.delete(bad),
}


@pytest.mark.parametrize("bad", [".", ".."])
@pytest.mark.parametrize("call", sorted(CALLS))
async def test_a_dot_segment_id_is_refused_before_anything_is_sent(
    make: Make, call: str, bad: str
) -> None:
    transport, seen = scripted([])
    client = make(transport)

    with pytest.raises(InputError, match="is not an id"):
        await CALLS[call](client, bad)

    assert seen.requests == []


async def test_ids_with_slashes_and_question_marks_stay_one_segment(make: Make) -> None:
    transport, seen = scripted([httpx.Response(200, json={"thread_id": "a/../b?c=.."})])
    client = make(transport)

    await client.get_thread("a/../b?c=..")

    assert seen.requests[0].url.raw_path == b"/threads/a%2F..%2Fb%3Fc%3D.."
