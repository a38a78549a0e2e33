"""Pure mapping from an HTTP error response to the error tree in ``errors.py``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from switchboard._retry import parse_retry_after
from switchboard.errors import (
    APIError,
    AuthenticationError,
    ConflictError,
    GraphNotFoundError,
    InputError,
    NotFoundError,
    NotSupportedError,
    RateLimitError,
    RedirectError,
    RunFailedError,
    ServerError,
    SwitchboardError,
    ThreadBusyError,
)

# Substrings of the server's 409 details that mean "a run is in flight on this thread"
# (contract §1.1): ``reject`` on /runs*, and POST /threads/{id}/state while busy.
_BUSY_MARKERS = ("already running a task", "has in-flight runs")


def decode_error_body(content: bytes) -> tuple[str | None, Any]:
    """Return ``(detail, body)``: the ``detail``/``message``/``error`` string of a JSON body, or
    the text of a plain-text one (a 500 from uvicorn is ``Internal Server Error``)."""
    if not content:
        return None, None
    try:
        body = json.loads(content)
    except ValueError:
        text = content.decode("utf-8", "replace").strip()
        return (text[:2000] or None), text
    if isinstance(body, dict):
        for key in ("detail", "message", "error"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value, body
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return str(value["message"]), body
        return json.dumps(body)[:2000], body
    return (str(body)[:2000] if body is not None else None), body


def error_for_status(
    status: int,
    *,
    content: bytes,
    headers: Mapping[str, str],
    method: str,
    path: str,
    reason: str = "",
) -> SwitchboardError:
    """The exception for a non-2xx response to ``method path``. ``headers`` keys lower-case."""
    detail, body = decode_error_body(content)
    text = detail or f"{status} {reason}".strip()
    where = f"{method} {path}"
    kwargs: dict[str, Any] = {
        "status_code": status,
        "request_id": headers.get("x-request-id"),
        "body": body,
    }
    if 300 <= status < 400:
        location = headers.get("location") or None
        if location is None:
            said = f"redirect ({status}) without a Location; redirects are never followed"
        else:
            said = f"redirect ({status}) to {location}; redirects are never followed"
        return RedirectError(f"{said} [{where}]", location=location, **kwargs)
    message = f"{text} [{where}]"
    lowered = text.lower()
    if status in (401, 403):
        return AuthenticationError(message, **kwargs)
    if status == 404:
        if _is_assistant_path(path):
            return GraphNotFoundError(message, **kwargs)
        return NotFoundError(message, **kwargs)
    if status == 409:
        if any(marker in lowered for marker in _BUSY_MARKERS):
            return ThreadBusyError(message, **kwargs)
        return ConflictError(message, **kwargs)
    if status == 422 and lowered.startswith("invalid assistant"):
        return GraphNotFoundError(message, **kwargs)
    if status in (400, 413, 422):
        return InputError(message, **kwargs)
    if status in (405, 501):
        return NotSupportedError(message, **kwargs)
    if status == 429:
        err = RateLimitError(message, **kwargs)
        err.retry_after = parse_retry_after(headers)
        return err
    if status >= 500:
        return ServerError(message, **kwargs)
    return APIError(message, **kwargs)


def _is_assistant_path(path: str) -> bool:
    # Includes /assistants/search: a graph_id filter naming no graph is a 404 there.
    return path.startswith("/assistants/")


def run_failed(
    payload: Any,
    *,
    run_id: str | None = None,
    thread_id: str | None = None,
    event_id: str | None = None,
) -> RunFailedError:
    """The error for a stream ``error`` event or a ``{"__error__": ...}`` wait/join body."""
    if isinstance(payload, dict):
        error_type = payload.get("error")
        message = payload.get("message")
        return RunFailedError(
            str(message) if message is not None else str(error_type or "run failed"),
            error_type=str(error_type) if error_type is not None else None,
            run_id=run_id,
            thread_id=thread_id,
            event_id=event_id,
            body=payload,
        )
    return RunFailedError(
        str(payload), run_id=run_id, thread_id=thread_id, event_id=event_id, body=payload
    )
