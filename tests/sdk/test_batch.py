"""run_batch: bounded, paced, retried without starting a second run, never stopped by one failure."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
import pytest

from switchboard import BatchResult, InputError, RunFailedError


class FakeDeployment:
    """Threads and /wait runs for flaky-like inputs ``{"n": int, "fail"?: bool}``; a wait for
    ``lose_response`` inputs starts the run and then drops the connection."""

    def __init__(self) -> None:
        self.runs: dict[str, list[dict[str, Any]]] = {}
        self.waits = 0
        self.in_flight = self.peak = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        if method == "POST" and path == "/threads":
            body = json.loads(request.content)
            self.runs.setdefault(body["thread_id"], [])
            return httpx.Response(
                200, json={"thread_id": body["thread_id"], "metadata": body["metadata"]}
            )
        if match := re.fullmatch(r"/threads/([^/]+)/runs", path):
            return httpx.Response(200, json=self.runs[match[1]][:1])
        if match := re.fullmatch(r"/threads/([^/]+)/runs/wait", path):
            self.waits += 1
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            await asyncio.sleep(0.01)
            self.in_flight -= 1
            value = json.loads(request.content)["input"]
            run = {"run_id": f"run-{value['n']}", "result": {"n": value["n"]}}
            self.runs[match[1]].append(run)
            if value.get("lose_response") and len(self.runs[match[1]]) == 1:
                raise httpx.ReadError("connection reset after the run started")
            if value.get("fail"):
                return httpx.Response(
                    200, json={"__error__": {"error": "ValueError", "message": "bad input"}}
                )
            return httpx.Response(200, json=run["result"])
        if match := re.fullmatch(r"/threads/([^/]+)/runs/([^/]+)/join", path):
            return httpx.Response(200, json=self.runs[match[1]][0]["result"])
        raise AssertionError(f"unexpected {method} {path}")


class Recorder:
    def __init__(self) -> None:
        self.events: list[Any] = []

    def start(self, total: int | None) -> None:
        self.events.append(("start", total))

    def advance(self, result: BatchResult) -> None:
        self.events.append(("advance", result.ok))

    def stop(self) -> None:
        self.events.append("stop")


async def test_a_batch_returns_one_result_per_input_in_order_and_survives_failures(
    make: Any,
) -> None:
    deployment = FakeDeployment()
    client = make(httpx.MockTransport(deployment))
    progress = Recorder()
    inputs = [{"n": 0}, {"n": 1, "fail": True}, {"n": 2, "lose_response": True}, {"n": 3}, {"n": 4}]
    results = await client.run_batch(inputs, "flaky", max_concurrency=2, progress=progress)

    assert [r.index for r in results] == [0, 1, 2, 3, 4]
    assert [r.ok for r in results] == [True, False, True, True, True]
    assert [r.output for r in results if r.ok] == [{"n": 0}, {"n": 2}, {"n": 3}, {"n": 4}]
    assert isinstance(results[1].error, RunFailedError)
    assert results[1].attempts == 1
    # The lost response was recovered by joining the run that existed, not by a second run.
    assert (results[2].attempts, results[2].run_id) == (2, "run-2")
    assert deployment.waits == 5
    assert deployment.peak <= 2
    assert progress.events[0] == ("start", 5)
    assert progress.events[-1] == "stop"
    assert (
        sorted(e for e in progress.events[1:-1]) == [("advance", False)] + [("advance", True)] * 4
    )


async def test_a_batch_paces_its_requests(make: Any) -> None:
    client = make(httpx.MockTransport(FakeDeployment()))
    loop = asyncio.get_running_loop()
    start = loop.time()
    results = await client.run_batch(
        [{"n": n} for n in range(2)], "flaky", max_concurrency=2, max_requests_per_minute=1200
    )
    # Three requests per input (thread, run lookup, wait), one every 50 ms.
    assert loop.time() - start >= 0.25
    assert all(r.ok for r in results)


async def test_a_batch_takes_a_generator_and_shows_tqdm_progress(
    make: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make(httpx.MockTransport(FakeDeployment()))
    results = await client.run_batch(({"n": n} for n in range(3)), "flaky", progress="tqdm")
    assert [r.output for r in results] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert "batch: 3run" in capsys.readouterr().err  # a generator has no length: a count


async def test_a_batch_needs_an_assistant_and_sane_limits(make: Any) -> None:
    client = make(httpx.MockTransport(FakeDeployment()), assistant_id=None)
    with pytest.raises(InputError, match="needs an assistant"):
        await client.run_batch([{}], None)
    with pytest.raises(InputError, match="max_concurrency"):
        await client.run_batch([{}], "flaky", max_concurrency=0)


async def test_a_live_batch_runs_every_input_and_reports_each_failure(client: Any) -> None:
    inputs = [{}, {"fail": True, "message": "bad row"}, {"fail_at": "finish"}]
    results = await client.run_batch(inputs, "flaky", max_concurrency=3, progress="rich")
    assert [r.ok for r in results] == [True, False, True]
    assert results[0].output["steps"] == ["prepare", "process", "finish"]
    assert str(results[1].error).startswith("run failed: ValueError: bad row")
    assert all(r.thread_id for r in results)
    assert (await client.get_thread(results[1].thread_id))["status"] == "error"
