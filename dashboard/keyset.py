"""Opaque cursors for keyset pagination: a page ends at (sort value, pk), and the next page starts
strictly after it, so pages cost the same at any depth and stay stable while rows are added."""

from __future__ import annotations

import base64
import json
from datetime import datetime

from django.utils.dateparse import parse_datetime

from dashboard.strict import StrictInputError, check_datetime, parse_json


class BadCursor(ValueError):
    pass


def encode_cursor(value: datetime, pk: int) -> str:
    raw = json.dumps([value.isoformat(), pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        when, pk = parse_json(raw.decode(), max_bytes=200, max_depth=1)
        parsed = parse_datetime(when)
        if parsed is None or not isinstance(pk, int) or isinstance(pk, bool):
            raise BadCursor(cursor)
        # A date the database cannot compare (0001-01-01T00:00:00+01:00 is before year 1 in
        # UTC) is as broken as any other cursor.
        return check_datetime(parsed), pk
    except (StrictInputError, ValueError, TypeError) as error:
        raise BadCursor(cursor) from error
