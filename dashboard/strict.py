"""Strict parsing of what people type and send: JSON as JSON defines it, bounded in size and depth;
dates and numbers within the range everything downstream can hold.

Python's ``json`` accepts ``NaN`` and ``Infinity`` (JSON does not: a deployment or the database
refuses them later, after something was already sent), and recurses once per nesting level (100,000
levels is a ``RecursionError``, a 500). Everything a form, endpoint or websocket message turns into
a value sent to a deployment goes through here first, so it fails as a form error, before anything
is sent.

Dates go through here for the same reason: ``0001-01-01T00:00:00+01:00`` parses, then overflows
when converted to UTC (and ``9999-12-31`` when a day is added to it), deep in a query. Form fields
built on these helpers (``DateTimeField``, ``DateField``) turn that into a form error.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

MAX_JSON_BYTES = 1_000_000
MAX_JSON_DEPTH = 100
# What every JSON parser downstream (orjson in the LangGraph server, PostgreSQL's jsonb, browsers)
# reads without loss or error: 64-bit integers.
MAX_JSON_INT = 2**63 - 1
# A day of margin at each end of Python's calendar, so converting to UTC or adding a day (an
# inclusive "to" date) never leaves it.
EARLIEST = dt.datetime(1, 1, 2, tzinfo=dt.UTC)
LATEST = dt.datetime(9999, 12, 30, tzinfo=dt.UTC)


class StrictInputError(ValueError):
    """Input a person can correct: the message is a sentence for the form."""


class OutOfRange(StrictInputError):
    """A number or date that reads well but that JSON, Python or the database cannot hold."""


def _reject_constant(name: str) -> Any:
    raise OutOfRange(f"{name} is not a JSON value: JSON numbers must be finite.")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise OutOfRange(f"{text[:40]} is out of range: JSON numbers must be finite.")
    return number


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > 19 or abs(number := int(text)) > MAX_JSON_INT:
        raise OutOfRange(
            f"{text[:40]}{'…' if len(text) > 40 else ''} is out of range: whole numbers must "
            f"lie within ±{MAX_JSON_INT:,}."
        )
    return number


def _nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects, counted without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise StrictInputError(
            f"The JSON is {size:,} bytes; at most {max_bytes:,} bytes are accepted."
        )


def _check_depth(depth: int, max_depth: int) -> None:
    if depth > max_depth:
        raise StrictInputError(
            f"The JSON is nested {depth:,} levels deep; at most {max_depth} are accepted."
        )


def parse_json(
    text: str, *, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH
) -> Any:
    """The value of ``text``, or :class:`StrictInputError` saying what is wrong with it."""
    _check_size(len(text.encode("utf-8", "surrogatepass")), max_bytes)
    _check_depth(_nesting_depth(text), max_depth)
    try:
        return json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except json.JSONDecodeError as error:
        raise StrictInputError(
            f"This is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
        ) from error
    except RecursionError:
        # Only reachable through a nesting ``_nesting_depth`` did not count (never, in practice).
        raise StrictInputError("The JSON is nested too deeply.") from None


def check_json_value(
    value: Any, *, max_bytes: int = MAX_JSON_BYTES, max_depth: int = MAX_JSON_DEPTH
) -> None:
    """Refuse a value built in code that JSON cannot carry as it is: non-finite numbers, keys
    that are not strings, types JSON has no word for, too deep or too large."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            _check_depth(depth, max_depth)
            for key, child in item.items():
                if not isinstance(key, str):
                    raise StrictInputError(f"JSON object keys are strings, not {key!r}.")
                stack.append((child, depth + 1))
        elif isinstance(item, list | tuple):
            _check_depth(depth, max_depth)
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, float):
            if not math.isfinite(item):
                _reject_constant(repr(item))
        elif isinstance(item, int) and not isinstance(item, bool):
            if abs(item) > MAX_JSON_INT:
                _bounded_int(str(item))
        elif item is not None and not isinstance(item, str | int | bool):
            raise StrictInputError(f"{type(item).__name__} is not a JSON value.")
    _check_size(
        len(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")), max_bytes
    )


# -- numbers, dates and times ---------------------------------------------------------------


def parse_number(text: str) -> int | float:
    """A finite JSON number (``42``, ``-1.5``, ``1e3``) from ``text``; anything else, ``NaN``,
    ``1e999`` or an integer beyond 64 bits included, is a :class:`StrictInputError`."""
    stripped = text.strip()
    try:
        value = parse_json(stripped, max_bytes=100, max_depth=1) if stripped else None
    except OutOfRange:
        raise
    except StrictInputError:
        value = None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StrictInputError(f"{text[:40]!r} is not a number.")
    return value


def _range_error() -> OutOfRange:
    return OutOfRange(f"Dates must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (UTC).")


def check_datetime(value: dt.datetime) -> dt.datetime:
    """``value`` (naive: in the current time zone), aware, if it is within range once in UTC."""
    try:
        aware = value if timezone.is_aware(value) else timezone.make_aware(value)
        in_utc = aware.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise _range_error() from None
    if not EARLIEST <= in_utc <= LATEST:
        raise _range_error()
    return aware


def check_date(value: dt.date) -> dt.date:
    if not EARLIEST.date() <= value <= LATEST.date():
        raise _range_error()
    return value


def parse_iso_datetime(text: str) -> dt.datetime:
    """An ISO 8601 date and time within range, or :class:`StrictInputError`."""
    try:
        parsed = parse_datetime(text.strip())
    except ValueError:
        parsed = None
    if parsed is None:
        raise StrictInputError(f"{text[:40]!r} is not a date and time (ISO 8601).")
    return check_datetime(parsed)


class DateTimeField(forms.DateTimeField):
    """Django's field, with anything its value cannot be compared or stored as a form error."""

    def to_python(self, value: Any) -> dt.datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return check_datetime(parsed)
        except StrictInputError as error:
            raise forms.ValidationError(str(error), code="out_of_range") from None


class DateField(forms.DateField):
    """Django's field, with days at the edges of the calendar (where a day cannot be added or
    taken away) as a form error."""

    def to_python(self, value: Any) -> dt.date | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return check_date(parsed)
        except StrictInputError as error:
            raise forms.ValidationError(str(error), code="out_of_range") from None


class JSONTextField(forms.CharField):
    """A textarea of JSON: cleaned to its value by :func:`parse_json` (``""`` is ``empty``)."""

    def __init__(self, *args: Any, empty: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("strip", False)
        super().__init__(*args, **kwargs)
        self.empty = empty

    def clean(self, value: Any) -> Any:
        text = super().clean(value)
        if not str(text).strip():
            return self.empty
        try:
            return parse_json(str(text))
        except StrictInputError as error:
            raise forms.ValidationError(str(error), code="invalid_json") from None


# -- every request ----------------------------------------------------------------------------


def _holds_nul(data: Any) -> bool:
    return any("\x00" in key or any("\x00" in v for v in data.getlist(key)) for key in data)


class RefuseNulCharacters:
    """Answer 400 to a request whose path or parameters hold a NUL character.

    No form accepts one (Django's ``CharField`` refuses it) and PostgreSQL cannot store or even
    compare one: a NUL in a parameter a view filters on directly is an error deep in a query.
    Nobody types one, so refusing the request outright loses nothing a person wrote.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            "\x00" in request.path
            or _holds_nul(request.GET)
            or (request.method == "POST" and _holds_nul(request.POST))
        ):
            return HttpResponseBadRequest(
                "The request holds a NUL character, which no field accepts.",
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)
