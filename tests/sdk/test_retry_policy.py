"""Retry, backoff, Retry-After and pacing decisions (pure)."""

from __future__ import annotations

import email.utils

import pytest

from switchboard._retry import (
    Pacer,
    RetryPolicy,
    TransportFailure,
    is_idempotent,
    parse_retry_after,
)


@pytest.mark.parametrize(
    ("method", "path", "idempotent"),
    [
        ("GET", "/threads/t1/state", True),
        ("POST", "/threads/search", True),
        ("POST", "/threads/count", True),
        ("POST", "/assistants/search", True),
        ("POST", "/threads/t1/history", True),
        ("POST", "/threads/t1/state/checkpoint", True),
        ("POST", "/threads", False),
        ("POST", "/threads/t1/runs", False),
        ("POST", "/threads/t1/runs/stream", False),
        ("POST", "/threads/t1/runs/wait", False),
        ("POST", "/threads/t1/state", False),
        ("PATCH", "/threads/t1", False),
        ("DELETE", "/threads/t1", False),
    ],
)
def test_only_reads_count_as_idempotent(method: str, path: str, idempotent: bool) -> None:
    assert is_idempotent(method, path) is idempotent


def test_retry_after_is_read_as_seconds_milliseconds_or_a_date() -> None:
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after": "0.5"}) == 0.5
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    date = email.utils.formatdate(1_000_010, usegmt=True)
    assert parse_retry_after({"retry-after": date}, now=1_000_000) == pytest.approx(10)
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(max_retries=10, initial_delay=0.5, max_delay=8.0)
    for attempt, base in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (8, 8.0)]:
        delays = {policy.delay(attempt) for _ in range(50)}
        assert all(d is not None and 0.75 * base <= d <= base for d in delays)
        assert len(delays) > 1  # jittered


def test_retry_after_is_honoured_and_a_too_long_one_is_not_waited_out() -> None:
    policy = RetryPolicy(max_retries=3)
    assert policy.delay(0, retry_after=2.0) == 2.0
    assert policy.delay(0, retry_after=3600.0) is None


def test_retries_stop_after_max_retries() -> None:
    policy = RetryPolicy(max_retries=2)
    assert policy.delay(1) is not None
    assert policy.delay(2) is None
    assert RetryPolicy(max_retries=0).delay(0) is None


def test_run_creation_is_retried_only_when_the_request_never_reached_the_server() -> None:
    policy = RetryPolicy()
    assert policy.retry_failure("connect", idempotent=False)
    assert policy.retry_failure("connect_timeout", idempotent=False)
    assert policy.retry_failure("pool_timeout", idempotent=False)
    sent: tuple[TransportFailure, ...] = ("read", "read_timeout", "write", "protocol")
    for failure in sent:
        assert not policy.retry_failure(failure, idempotent=False)
        assert policy.retry_failure(failure, idempotent=True)
    assert policy.retry_status(429, idempotent=False)
    assert not policy.retry_status(500, idempotent=False)
    assert not policy.retry_status(503, idempotent=False)
    assert policy.retry_status(503, idempotent=True)
    assert not policy.retry_status(404, idempotent=True)


def test_stream_reconnects_back_off_to_five_seconds_five_times() -> None:
    policy = RetryPolicy()
    bases = [1, 2, 4, 5, 5]
    for attempt, base in enumerate(bases):
        delay = policy.reconnect_delay(attempt)
        assert delay is not None
        assert base <= delay <= base * 1.25
    assert policy.reconnect_delay(5) is None


def test_the_pacer_spaces_requests_evenly_within_the_rate() -> None:
    pacer = Pacer(per_minute=120)  # one every 0.5 s
    assert [pacer.reserve(now=10.0) for _ in range(4)] == [0.0, 0.5, 1.0, 1.5]
    assert pacer.reserve(now=100.0) == 0.0  # idle time is not banked as a burst
    with pytest.raises(ValueError, match="positive"):
        Pacer(0)
