"""The SSE decoder, fed bytes directly (no I/O)."""

from __future__ import annotations

import json
import random

import pytest

from switchboard._sse import SSEDecoder
from switchboard.types import StreamPart

# Contract §5.3: a resumable stream that stops at an interrupt, byte for byte.
CAPTURE = (
    b'event: metadata\r\ndata: {"run_id":"01a1fcf5-1623-76af-8d38-d9b8d9beb164","attempt":1}\r\n'
    b"id: 1795245283709-0\r\n\r\n"
    b'event: values\r\ndata: {"topic":"cats","log":[]}\r\nid: 1795245283712-0\r\n\r\n'
    b": heartbeat\r\n\r\n"
    b'event: custom\r\ndata: {"progress":"drafting","topic":"cats"}\r\nid: 1795245283713-0\r\n\r\n'
    b'event: updates\r\ndata: {"__interrupt__":[{"value":{"question":"Approve?"},'
    b'"id":"f936ba8df9fbeac787945e9c9d92121d","response_schema":null}]}\r\n'
    b"id: 1795245283717-0\r\n\r\n"
)
EXPECTED = [
    StreamPart(
        "metadata",
        {"run_id": "01a1fcf5-1623-76af-8d38-d9b8d9beb164", "attempt": 1},
        "1795245283709-0",
    ),
    StreamPart("values", {"topic": "cats", "log": []}, "1795245283712-0"),
    StreamPart("custom", {"progress": "drafting", "topic": "cats"}, "1795245283713-0"),
    StreamPart(
        "updates",
        {
            "__interrupt__": [
                {
                    "value": {"question": "Approve?"},
                    "id": "f936ba8df9fbeac787945e9c9d92121d",
                    "response_schema": None,
                }
            ]
        },
        "1795245283717-0",
    ),
]


def decode(*chunks: bytes) -> list[StreamPart]:
    decoder = SSEDecoder()
    parts: list[StreamPart] = []
    for chunk in chunks:
        parts += decoder.feed(chunk)
    return parts + decoder.flush()


def test_it_decodes_the_servers_wire_format() -> None:
    assert decode(CAPTURE) == EXPECTED


def test_any_split_into_two_reads_gives_the_same_events() -> None:
    for split in range(1, len(CAPTURE)):
        assert decode(CAPTURE[:split], CAPTURE[split:]) == EXPECTED, split


def test_one_byte_at_a_time_gives_the_same_events() -> None:
    assert decode(*(CAPTURE[i : i + 1] for i in range(len(CAPTURE)))) == EXPECTED


@pytest.mark.parametrize("newline", [b"\n", b"\r", b"\r\n"])
def test_lf_cr_and_crlf_line_endings_are_all_accepted(newline: bytes) -> None:
    body = CAPTURE.replace(b"\r\n", newline)
    assert decode(body) == EXPECTED
    assert decode(*(body[i : i + 3] for i in range(0, len(body), 3))) == EXPECTED


def test_a_crlf_split_between_reads_is_one_line_ending() -> None:
    assert decode(b"event: a\r", b"\ndata: 1\r", b"\n\r", b"\n") == [StreamPart("a", 1, None)]


def test_comments_and_heartbeats_are_not_events() -> None:
    assert decode(b": heartbeat\r\n\r\n:\n\n") == []


def test_repeated_data_lines_join_with_newlines() -> None:
    assert decode(b'event: values\ndata: {"a":\ndata: 1}\n\n') == [
        StreamPart("values", {"a": 1}, None)
    ]


def test_data_that_is_not_json_is_passed_on_as_text() -> None:
    parts = decode(b"event: values\ndata: <html>Bad Gateway</html>\n\nevent: x\ndata: 2\n\n")
    assert parts == [
        StreamPart("values", "<html>Bad Gateway</html>", None),
        StreamPart("x", 2, None),
    ]


def test_an_event_without_data_has_none() -> None:
    assert decode(b"event: end\n\n") == [StreamPart("end", None, None)]


def test_data_without_an_event_name_is_a_message_event() -> None:
    assert decode(b"data: 3\n\n") == [StreamPart("message", 3, None)]


def test_the_last_event_id_carries_over_until_a_new_one_arrives() -> None:
    parts = decode(
        b"event: a\ndata: 1\nid: 7-0\n\nevent: b\ndata: 2\n\nid: 8-0\n\nevent: c\ndata: 3\n\n"
    )
    assert [p.id for p in parts] == ["7-0", "7-0", "8-0"]


def test_an_id_containing_nul_is_ignored() -> None:
    assert decode(b"event: a\ndata: 1\nid: 1-0\n\nevent: b\ndata: 2\nid: x\x00y\n\n")[1].id == "1-0"


def test_a_decoder_resumes_the_id_it_was_given() -> None:
    decoder = SSEDecoder(last_event_id="5-0")
    assert decoder.feed(b"event: a\ndata: 1\n\n") == [StreamPart("a", 1, "5-0")]


def test_fields_in_another_order_still_make_one_event() -> None:
    assert decode(b'id: 9-1\ndata: {"x": 1}\nevent: values\n\n') == [
        StreamPart("values", {"x": 1}, "9-1")
    ]
    assert decode(b"data: 1\nevent: a\ndata: 2\n\n") == [StreamPart("a", "1\n2", None)]


def test_unknown_fields_retry_and_a_byte_order_mark_are_ignored() -> None:
    body = b"\xef\xbb\xbfretry: 10\nfoo: bar\nevent: a\ndata: 1\n\n"
    assert decode(body) == [StreamPart("a", 1, None)]


def test_an_event_cut_off_by_the_end_of_the_body_is_not_dispatched() -> None:
    assert decode(b'event: a\ndata: 1\n\nevent: b\ndata: {"trunc') == [StreamPart("a", 1, None)]
    assert decode(b"event: a\ndata: 1\n\nevent: b\ndata: 2\r\n") == [StreamPart("a", 1, None)]


def _reference(body: bytes) -> list[StreamPart]:
    """The WHATWG algorithm, line by line, as plainly as possible."""
    text = body.decode().replace("\r\n", "\n").replace("\r", "\n")
    parts, event, data, last_id = [], "", None, None
    for line in text.split("\n")[:-1]:  # an unterminated last line is not a line
        if line == "":
            if data is not None or event:
                parts.append(
                    StreamPart(event or "message", json.loads(data) if data else None, last_id)
                )
            event, data = "", None
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data = value if data is None else data + "\n" + value
        elif name == "event":
            event = value
        elif name == "id":
            last_id = value or None
    return parts


def test_random_streams_split_at_random_decode_like_the_reference_algorithm() -> None:
    rng = random.Random(7)
    for _ in range(200):
        pieces = []
        for i in range(rng.randint(1, 12)):
            kind = rng.random()
            if kind < 0.1:
                pieces.append(": heartbeat\n\n")
            elif kind < 0.2:
                pieces.append(f'data: {{"n": {i}}}\nevent: odd\n\n')
            else:
                pieces.append(
                    f'event: values\ndata: {{"n": {i}, "s": "{"x" * rng.randint(0, 40)}"}}\n'
                )
                pieces.append(f"id: {i}-0\n\n" if rng.random() < 0.5 else "\n")
        newline = rng.choice(["\n", "\r\n", "\r"])
        body = "".join(pieces).replace("\n", newline).encode()
        cuts = sorted(rng.sample(range(1, len(body)), min(len(body) - 1, rng.randint(0, 8))))
        reads = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
        assert decode(*reads) == _reference(body)
