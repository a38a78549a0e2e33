"""Strict parsing of what people type and send: JSON as JSON defines it, bounded in size and depth.

Python's ``json`` accepts ``NaN`` and ``Infinity`` (JSON does not: a deployment or the database
refuses them later, after something was already sent), and recurses once per nesting level (100,000
levels is a ``RecursionError``, a 500). Everything a form, endpoint or websocket message turns into
a value sent to a deployment goes through here first, so it fails as a form error, before anything
is sent.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_JSON_BYTES = 1_000_000
MAX_JSON_DEPTH = 100


class StrictInputError(ValueError):
    """Input a person can correct: the message is a sentence for the form."""


def _reject_constant(name: str) -> Any:
    raise StrictInputError(f"{name} is not a JSON value: JSON numbers must be finite.")


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
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise StrictInputError(
            f"This is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
        ) from error


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
        elif item is not None and not isinstance(item, str | int | bool):
            raise StrictInputError(f"{type(item).__name__} is not a JSON value.")
    _check_size(
        len(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")), max_bytes
    )
