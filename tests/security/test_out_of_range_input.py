"""Issue 14, row 14: eleven kinds of 500 from dates, numbers and nesting out of range.

Each is now a form error (400 where a form was submitted, the first page where a page link was
broken), never a 500. Dates, numbers and nesting are read by one set of helpers,
``dashboard/strict.py``; these hit the real URLs.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from apps.runs.models import Run
from dashboard.keyset import BadCursor, decode_cursor, encode_cursor

EARLY = "0001-01-01T00:00:00+01:00"  # before year 1 once in UTC
LATE = "9999-12-31T23:59:59-01:00"  # after year 9999 once in UTC
DEEP = "[" * 100_000 + "]" * 100_000


def cursor(when: str, pk: int = 1) -> str:
    return base64.urlsafe_b64encode(json.dumps([when, pk]).encode()).decode().rstrip("=")


@dataclass
class Case:
    name: str
    url: str
    data: dict[str, Any] = field(default_factory=dict)
    method: str = "get"
    status: int = 400
    says: str = "Dates must lie between"


CASES = [
    Case("1 thread filter updated_after early", "/threads/", {"updated_after": EARLY}),
    Case("2 thread filter updated_before late", "/threads/", {"updated_before": LATE}),
    Case(
        "3 thread cursor early",
        "/threads/",
        {"after": cursor(EARLY)},
        says="This page link is broken",
    ),
    Case(
        "4 thread cursor late",
        "/threads/",
        {"before": cursor(LATE)},
        says="This page link is broken",
    ),
    # The inbox starts again from the first page on a broken link (its view's choice).
    Case("5 inbox cursor early", "/inbox/", {"after": cursor(EARLY)}, status=200, says="Inbox"),
    Case("6 inbox cursor late", "/inbox/", {"after": cursor(LATE)}, status=200, says="Inbox"),
    Case("7 audit date_to 9999-12-31", "/audit/", {"date_to": "9999-12-31"}),
    # Not a 500 with TIME_ZONE=UTC, but one east of it: the same helper refuses it everywhere.
    Case("8 audit date_from 0001-01-01", "/audit/", {"date_from": "0001-01-01"}),
    Case(
        "9 metadata filter NaN",
        "/threads/",
        {"meta": "order=NaN"},
        says="JSON numbers must be finite",
    ),
    Case(
        "10 metadata filter 1e999",
        "/threads/",
        {"meta": "order=1e999"},
        says="is out of range",
    ),
    Case(
        "11a run input NaN",
        "/runs/new/",
        {"input": '{"n": NaN}'},
        method="post",
        says="JSON numbers must be finite",
    ),
    Case(
        "11b run input 1e999",
        "/runs/new/",
        {"input": '{"n": 1e999}'},
        method="post",
        says="is out of range",
    ),
    Case(
        "11c run input nested 100,000 deep",
        "/runs/new/",
        {"input": DEEP},
        method="post",
        says="levels deep",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name.replace(" ", "-"))
def test_an_out_of_range_value_is_a_form_error_not_a_500(
    case: Case, client: Client, alice: Any, deployment_a: Any
):
    client.force_login(alice)
    data = dict(case.data)
    if case.method == "post":
        data.update(
            deployment=deployment_a.pk,
            assistant_id="echo_review",
            stream_mode=["values"],
            multitask_strategy="reject",
        )

    r = getattr(client, case.method)(case.url, data)

    assert r.status_code == case.status, r.content.decode()[:2000]
    assert case.says in r.content.decode()
    assert not Run.objects.exists()


@pytest.mark.parametrize("when", [EARLY, LATE, "0001-01-01T00:00:00", "9999-12-31T00:00:00"])
def test_a_cursor_out_of_range_is_broken(when: str) -> None:
    with pytest.raises(BadCursor):
        decode_cursor(cursor(when))


@pytest.mark.parametrize(
    "raw",
    ['["2026-01-01T00:00:00+00:00", true]', "[" * 5000, '["x", 1]', '"only"', "NaN"],
)
def test_a_cursor_that_is_not_a_date_and_a_key_is_broken(raw: str) -> None:
    token = base64.urlsafe_b64encode(raw.encode()).decode()
    with pytest.raises(BadCursor):
        decode_cursor(token)


def test_a_cursor_in_range_round_trips() -> None:
    when = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    assert decode_cursor(encode_cursor(when, 42)) == (when, 42)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("get", "/inbox/", {"thread": "a\x00b"}),
        (
            "post",
            "/inbox/{deployment}/00000000-0000-0000-0000-000000000000/",
            {"checkpoint_id": "\x00"},
        ),
        ("get", "/threads/", {"q": "\x00"}),
    ],
    ids=["inbox-thread-filter", "decision-checkpoint", "thread-search"],
)
def test_a_nul_character_anywhere_is_a_400(
    method: str, url: str, data: dict[str, str], client: Client, alice: Any, deployment_a: Any
):
    client.force_login(alice)

    r = getattr(client, method)(url.format(deployment=deployment_a.pk), data)

    assert r.status_code == 400
    assert b"NUL character" in r.content
