"""Structured logs: one JSON object a line, each carrying the request or run it belongs to.

A request id is taken from an incoming ``X-Request-ID`` (when it is a sane token, so a client
cannot inject log syntax) or made, put in every log line written while the request is served,
and returned in the response's ``X-Request-ID``. A Celery task's lines carry its task id, and the
run id when the task is about a run (a relay), so ``grep`` on either finds everything it did.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

from asgiref.sync import iscoroutinefunction
from celery import Task
from celery.signals import task_postrun, task_prerun
from django.http import HttpRequest, HttpResponseBase
from django.utils.decorators import sync_and_async_middleware

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

# What the lines written now belong to; unset outside a request or task.
_context: ContextVar[dict[str, Any]] = ContextVar("switchboard_log_context", default={})  # noqa: B039
_task_tokens: dict[str, Token[dict[str, Any]]] = {}

request_log = logging.getLogger("switchboard.request")
task_log = logging.getLogger("switchboard.task")

# The attributes every LogRecord has; anything else on a record came from ``extra=`` and is kept.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def bind(**fields: Any) -> Token[dict[str, Any]]:
    """Add ``fields`` to every line logged in the current context until ``unbind(token)``."""
    return _context.set({**_context.get(), **fields})


def unbind(token: Token[dict[str, Any]]) -> None:
    _context.reset(token)


def current() -> dict[str, Any]:
    return dict(_context.get())


class ContextFilter(logging.Filter):
    """Copies the current request or run onto each record, for any formatter to use."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, process, message, then the context and any
    ``extra=`` fields; an exception as one string field."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.process_name = os.environ.get("SWITCHBOARD_PROCESS", "")

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": self.process_name or record.processName,
            "pid": record.process,
            "message": record.getMessage(),
        }
        line.update(
            (key, value)
            for key, value in record.__dict__.items()
            if key not in _STANDARD and not key.startswith("_")
        )
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def request_id_for(request: HttpRequest) -> str:
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    return offered if _SANE_ID.fullmatch(offered) else uuid.uuid4().hex


def _finish(
    request: HttpRequest, response: HttpResponseBase, request_id: str, started: float
) -> HttpResponseBase:
    response[REQUEST_ID_HEADER] = request_id
    request_log.info(
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return response


@sync_and_async_middleware
def request_id_middleware(
    get_response: Callable[[HttpRequest], Any],
) -> Callable[[HttpRequest], Any]:
    """Outermost middleware: binds the request id for everything the request logs, then logs
    one line for the request (method, path, status, duration) and returns the id."""
    if iscoroutinefunction(get_response):

        async def async_middleware(request: HttpRequest) -> HttpResponseBase:
            request_id, started = request_id_for(request), time.perf_counter()
            token = bind(request_id=request_id)
            try:
                response = await get_response(request)
                return _finish(request, response, request_id, started)
            finally:
                unbind(token)

        return async_middleware

    def middleware(request: HttpRequest) -> HttpResponseBase:
        request_id, started = request_id_for(request), time.perf_counter()
        token = bind(request_id=request_id)
        try:
            response: HttpResponseBase = get_response(request)
            return _finish(request, response, request_id, started)
        finally:
            unbind(token)

    return middleware


def _task_fields(task: Task[Any, Any], task_id: str, args: Any, kwargs: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"task_id": task_id, "task": task.name}
    try:
        bound = inspect.signature(task.run).bind_partial(*(args or ()), **(kwargs or {}))
    except TypeError:
        return fields
    # A relay's task takes the run's id: every line it writes then names the run.
    if "run_id" in bound.arguments:
        fields["run_id"] = bound.arguments["run_id"]
    return fields


def _on_task_start(
    sender: Task[Any, Any], task_id: str, args: Any = None, kwargs: Any = None, **_: Any
) -> None:
    _task_tokens[task_id] = bind(**_task_fields(sender, task_id, args, kwargs))
    task_log.info("task %s started", sender.name)


def _on_task_end(sender: Task[Any, Any], task_id: str, state: str = "", **_: Any) -> None:
    task_log.info("task %s ended: %s", sender.name, state, extra={"state": state})
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        unbind(token)


def connect_celery() -> None:
    """Give every task's lines its task id (and run id), in the thread that runs the task."""
    task_prerun.connect(_on_task_start, weak=False)
    task_postrun.connect(_on_task_end, weak=False)
