"""A joined stream may send the end of its replay twice (the dev server subscribes to live events
before it replays); the relay stores each event once."""

from __future__ import annotations

from apps.runs.relay import _Overlap
from switchboard import StreamPart


def _parts(*items: tuple[str, str]) -> list[StreamPart]:
    return [StreamPart("messages", {"token": token}, event_id) for event_id, token in items]


def test_the_tail_of_a_replay_sent_again_is_dropped():
    overlap = _Overlap()
    stream = _parts(
        ("10-0", "a"), ("11-0", "b"), ("11-0", "c"), ("11-0", "b"), ("11-0", "c"), ("12-0", "d")
    )
    kept = [part.data["token"] for part in stream if not overlap.repeated(part)]
    assert kept == ["a", "b", "c", "d"]


def test_an_event_older_than_one_already_seen_is_dropped():
    overlap = _Overlap()
    kept = [
        p.data["token"]
        for p in _parts(("20-0", "x"), ("19-0", "old"), ("21-0", "y"))
        if not overlap.repeated(p)
    ]
    assert kept == ["x", "y"]


def test_events_without_ids_are_never_taken_for_repeats():
    overlap = _Overlap()
    parts = [StreamPart("values", {"n": 1}, None), StreamPart("values", {"n": 1}, None)]
    assert [overlap.repeated(part) for part in parts] == [False, False]
