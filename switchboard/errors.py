"""Every error the SDK raises, in one tree::

    SwitchboardError
    ├── AuthenticationError        401 / 403
    ├── InputError                 400 / 413 / 422 and local validation (bad resume payload, ...)
    ├── GraphError                 graph / assistant problems
    │   ├── GraphNotFoundError     404 on an assistant or graph, or "Invalid assistant" (422)
    │   └── RunFailedError         the run itself failed (stream ``error`` event, ``__error__``)
    └── APIError                   everything else on the wire
        ├── RedirectError          3xx: never followed; ``location`` says where it pointed
        ├── NotFoundError          404 on threads / runs
        ├── NotSupportedError      405 / 501: this server lacks the endpoint (``feature`` names it)
        ├── ConflictError          409
        │   └── ThreadBusyError    409 because the thread has a run in flight
        ├── RateLimitError         429
        ├── ServerError            5xx
        ├── APIConnectionError     transport failures (refused, reset, dropped mid-body)
        └── APITimeoutError        connect / read / write / pool timeouts, stream item timeouts

Each carries ``status_code`` (``None`` when no HTTP response was involved), ``detail`` (the
server's ``{"detail": ...}`` string, or its plain-text body) and ``request_id``
(``x-request-id``). Errors pickle, so they cross Celery task boundaries intact.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "ConflictError",
    "GraphError",
    "GraphNotFoundError",
    "InputError",
    "NotFoundError",
    "NotSupportedError",
    "RateLimitError",
    "RedirectError",
    "RunFailedError",
    "ServerError",
    "SwitchboardError",
    "ThreadBusyError",
]


def _rebuild(cls: type[SwitchboardError], state: dict[str, Any]) -> SwitchboardError:
    err = cls.__new__(cls)
    Exception.__init__(err, state.get("detail", ""))
    err.__dict__.update(state)
    return err


class SwitchboardError(Exception):
    """Root of every error raised by ``switchboard``."""

    status_code: int | None
    detail: str
    request_id: str | None
    body: Any

    def __init__(
        self,
        detail: str,
        *,
        status_code: int | None = None,
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status_code = status_code
        self.request_id = request_id
        self.body = body

    def __str__(self) -> str:
        prefix = f"{self.status_code}: " if self.status_code is not None else ""
        suffix = f" (request id {self.request_id})" if self.request_id else ""
        return f"{prefix}{self.detail}{suffix}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), dict(self.__dict__)))


class AuthenticationError(SwitchboardError):
    """The deployment refused the credentials (401) or the action (403)."""


class InputError(SwitchboardError):
    """The request was invalid: rejected by the server (400/413/422) or caught locally."""


class GraphError(SwitchboardError):
    """A problem with an assistant, a graph, or a run of it."""


class GraphNotFoundError(GraphError):
    """The assistant or graph does not exist on this deployment."""


class RunFailedError(GraphError):
    """The run itself failed: the graph raised (HTTP was fine).

    ``error_type`` is the exception type the server reports (``"ValueError"``), ``detail`` its
    message; ``run_id``/``thread_id`` when known, and ``event_id`` of the ``error`` event on a
    resumable stream (a relay stores it like any other event id).
    """

    def __init__(
        self,
        detail: str,
        *,
        error_type: str | None = None,
        run_id: str | None = None,
        thread_id: str | None = None,
        event_id: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(detail, body=body)
        self.error_type = error_type
        self.run_id = run_id
        self.thread_id = thread_id
        self.event_id = event_id

    def __str__(self) -> str:
        kind = f"{self.error_type}: " if self.error_type else ""
        where = f" (run {self.run_id})" if self.run_id else ""
        return f"run failed: {kind}{self.detail}{where}"


class APIError(SwitchboardError):
    """Any other failure talking to the deployment."""


class RedirectError(APIError):
    """3xx: the deployment answered with a redirect. The SDK never follows one (a redirect
    could send the API key, or the request itself, to another host, such as a cloud metadata
    address); ``location`` is the ``Location`` it pointed to, as sent (possibly relative), or
    ``None`` when it did not say."""

    def __init__(
        self,
        detail: str,
        *,
        location: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(detail, status_code=status_code, request_id=request_id, body=body)
        self.location = location


class NotFoundError(APIError):
    """404 on a thread, run or checkpoint."""


class NotSupportedError(APIError):
    """405 / 501: this server does not offer the endpoint (e.g. ``POST /threads/count`` on
    Aegra). ``feature`` names the call (``"count_threads"``) so a caller can say, in a
    sentence, what this deployment cannot do, and carry on without it."""

    feature: str | None = None

    def __str__(self) -> str:
        if self.feature:
            return f"this server does not support {self.feature} ({self.detail})"
        return super().__str__()


class ConflictError(APIError):
    """409: the request conflicts with the resource's current state."""


class ThreadBusyError(ConflictError):
    """409 because the thread has a run in flight (``multitask_strategy="reject"``, or a state
    update while a run is pending or running)."""


class RateLimitError(APIError):
    """429 after the retries allowed; ``retry_after`` seconds as the server asked, if it did."""

    retry_after: float | None = None


class ServerError(APIError):
    """5xx from the deployment (its body may be plain text, not JSON)."""


class APIConnectionError(APIError):
    """The request or the response body did not make it across the network."""


class APITimeoutError(APIError):
    """A timeout: connecting, reading, writing, waiting for a pooled connection, or waiting
    for the next item of a sync stream."""
