"""JSON in and out. Uses ``orjson`` when it is importable (langgraph-api and langgraph-sdk
already install it) and the standard library otherwise; the two produce the same values."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from switchboard.errors import InputError


def _default(obj: Any) -> Any:
    dump = getattr(obj, "model_dump", None)
    if callable(dump) and not isinstance(obj, type):
        return dump()
    if isinstance(obj, set | frozenset):
        return list(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


loads: Callable[[bytes | str], Any]
try:
    import orjson
except ImportError:  # pragma: no cover - orjson is present wherever langgraph-api is
    loads = json.loads

    def _dumps(value: Any) -> bytes:
        return json.dumps(
            value, default=_default, separators=(",", ":"), ensure_ascii=False
        ).encode()
else:
    loads = orjson.loads
    _options = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY

    def _dumps(value: Any) -> bytes:
        return orjson.dumps(value, default=_default, option=_options)


def dumps(value: Any) -> bytes:
    """Serialize a request body; anything that is not JSON is the caller's mistake."""
    try:
        return _dumps(value)
    except TypeError as exc:
        raise InputError(f"request body is not JSON-serializable: {exc}") from None
