"""The error tree and how HTTP answers map onto it (pure)."""

from __future__ import annotations

import json
import pickle

import pytest

from switchboard import errors
from switchboard._errors import error_for_status, run_failed

BUSY = "Thread is already running a task. Wait for it to finish or choose a different multitask strategy."


def _error(
    status: int, body: bytes, path: str = "/threads/t1", **headers: str
) -> errors.SwitchboardError:
    return error_for_status(status, content=body, headers=headers, method="POST", path=path)


def test_the_tree_is_the_documented_one() -> None:
    assert all(
        issubclass(cls, errors.SwitchboardError)
        for cls in (
            errors.AuthenticationError,
            errors.InputError,
            errors.GraphError,
            errors.APIError,
        )
    )
    assert issubclass(errors.GraphNotFoundError, errors.GraphError)
    assert issubclass(errors.RunFailedError, errors.GraphError)
    for cls in (
        errors.NotFoundError,
        errors.RedirectError,
        errors.ConflictError,
        errors.RateLimitError,
        errors.ServerError,
        errors.APIConnectionError,
        errors.APITimeoutError,
    ):
        assert issubclass(cls, errors.APIError)
    assert issubclass(errors.ThreadBusyError, errors.ConflictError)
    assert set(errors.__all__) == {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, Exception)
    }


@pytest.mark.parametrize(
    ("status", "body", "path", "expected"),
    [
        (
            400,
            b'{"detail":"You must provide a thread_id when resuming."}',
            "/runs",
            errors.InputError,
        ),
        (401, b'{"detail":"Invalid API key"}', "/threads", errors.AuthenticationError),
        (403, b'{"detail":"Forbidden"}', "/threads", errors.AuthenticationError),
        (404, b'{"detail":"Thread with ID t1 not found"}', "/threads/t1", errors.NotFoundError),
        (404, b'{"detail":"Not Found"}', "/assistants/a1/schemas", errors.GraphNotFoundError),
        (409, json.dumps({"detail": BUSY}).encode(), "/threads/t1/runs", errors.ThreadBusyError),
        (
            409,
            b'{"detail":"Thread t1 has in-flight runs: [...]"}',
            "/threads/t1/state",
            errors.ThreadBusyError,
        ),
        (409, b'{"detail":"Thread with ID t1 already exists"}', "/threads", errors.ConflictError),
        (413, b"", "/threads", errors.InputError),
        (422, b'{"detail":"Invalid thread ID: must be a UUID"}', "/threads/x", errors.InputError),
        (
            422,
            b'{"detail":"Invalid assistant: \'nope\'. Must be either:..."}',
            "/threads/t1/runs",
            errors.GraphNotFoundError,
        ),
        (429, b'{"detail":"slow down"}', "/threads", errors.RateLimitError),
        (500, b"Internal Server Error", "/threads/t1/history", errors.ServerError),
        (503, b"", "/ok", errors.ServerError),
        (418, b"I'm a teapot", "/ok", errors.APIError),
        (302, b"", "/threads/t1", errors.RedirectError),
        (307, b'{"detail":"moved"}', "/threads/t1/runs/wait", errors.RedirectError),
        (304, b"", "/ok", errors.RedirectError),
    ],
)
def test_each_answer_maps_to_its_error(status: int, body: bytes, path: str, expected: type) -> None:
    error = _error(status, body, path)
    assert type(error) is expected
    assert error.status_code == status


def test_a_busy_thread_under_reject_is_a_thread_busy_error_with_the_servers_detail() -> None:
    error = _error(
        409,
        json.dumps({"detail": BUSY}).encode(),
        "/threads/t1/runs/stream",
        **{"x-request-id": "req-7"},
    )
    assert isinstance(error, errors.ThreadBusyError)
    assert error.status_code == 409
    assert error.detail.startswith(BUSY)
    assert error.request_id == "req-7"
    assert str(error) == f"409: {BUSY} [POST /threads/t1/runs/stream] (request id req-7)"


def test_a_plain_text_500_keeps_its_text_as_the_detail() -> None:
    error = _error(500, b"Internal Server Error", "/threads/t1/history")
    assert error.detail == "Internal Server Error [POST /threads/t1/history]"
    assert error.body == "Internal Server Error"


def test_a_rate_limit_error_knows_how_long_the_server_asked_to_wait() -> None:
    error = _error(429, b"", "/threads", **{"retry-after": "3"})
    assert isinstance(error, errors.RateLimitError)
    assert error.retry_after == 3.0


def test_a_redirect_says_where_it_pointed_and_that_it_was_not_followed() -> None:
    target = "http://169.254.169.254/latest/meta-data/"
    error = _error(
        302, b"<html>moved</html>", "/threads/t1", location=target, **{"x-request-id": "r9"}
    )
    assert isinstance(error, errors.RedirectError)
    assert isinstance(error, errors.APIError)
    assert (error.status_code, error.location, error.request_id) == (302, target, "r9")
    assert error.detail == (
        f"redirect (302) to {target}; redirects are never followed [POST /threads/t1]"
    )
    silent = _error(301, b"", "/ok")
    assert isinstance(silent, errors.RedirectError)
    assert silent.location is None
    assert "without a Location" in silent.detail
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is errors.RedirectError
    assert (copy.location, copy.status_code, copy.detail) == (target, 302, error.detail)


def test_errors_survive_pickling_for_celery() -> None:
    error = _error(
        409, json.dumps({"detail": BUSY}).encode(), "/threads/t1/runs", **{"x-request-id": "r"}
    )
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is errors.ThreadBusyError
    assert (copy.status_code, copy.detail, copy.request_id) == (409, error.detail, "r")
    failed = pickle.loads(
        pickle.dumps(run_failed({"error": "ValueError", "message": "boom"}, run_id="r1"))
    )
    assert (failed.error_type, failed.detail, failed.run_id) == ("ValueError", "boom", "r1")


def test_a_failed_run_says_what_the_graph_raised() -> None:
    error = run_failed({"error": "ValueError", "message": "kaboom"}, run_id="r1", event_id="17-0")
    assert isinstance(error, errors.RunFailedError)
    assert error.status_code is None
    assert (error.error_type, error.detail, error.event_id) == ("ValueError", "kaboom", "17-0")
    assert str(error) == "run failed: ValueError: kaboom (run r1)"
