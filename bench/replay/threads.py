"""A replay upstream of many threads for B9: several deployments in one cheap process.

    python -m bench.replay.threads --ports 8201,8202 [--threads 10000] [--churn 0.5]

Each port is one deployment holding ``--threads`` idle threads, and speaks what the thread
index and the inbox read: ``POST /threads/search`` (newest ``updated_at`` first, ``limit``,
``offset``, ``ids``, ``status``, ``select``; ``X-Pagination-Next``), ``POST /threads/count``,
``GET /threads/{t}``, ``GET /threads/{t}/state``, ``GET /threads/{t}/runs``, ``GET /ok``.
``--churn`` threads a second per deployment are touched (their ``updated_at`` moves), as the
team's applications would. Two routes drive the bench:

- ``POST /bench/interrupt``: a new thread is busy at once, then, ``busy`` seconds later (body,
  default 0.3), pauses at an interrupt; the answer (sent then) gives its ``thread_id`` and
  ``interrupted_at`` (Unix time, this machine's clock);
- ``GET /bench/stats``: the requests this deployment answered, the bench's own excepted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.replay.server import MAX_BODY, HTTPError, _response

SELECTABLE = {
    "thread_id",
    "created_at",
    "updated_at",
    "state_updated_at",
    "metadata",
    "config",
    "status",
    "values",
    "interrupts",
}


def _iso(when: datetime) -> str:
    return when.isoformat()


@dataclass(eq=False)
class Thread:
    thread_id: str
    created_at: datetime
    updated_at: datetime
    status: str = "idle"
    interrupt_id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        question = {"question": "Approve the refund?", "amount": 42.5}
        return {
            "thread_id": self.thread_id,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "state_updated_at": _iso(self.updated_at),
            "metadata": self.metadata,
            "config": {},
            "status": self.status,
            "values": {"messages": [{"type": "human", "content": "Please refund order A-1."}]},
            "interrupts": (
                {"task-1": [{"id": self.interrupt_id, "value": question}]}
                if self.interrupt_id
                else {}
            ),
            "error": None,
        }

    def state(self) -> dict[str, Any]:
        data = self.as_dict()
        interrupts = data["interrupts"].get("task-1", [])
        checkpoint = {
            "thread_id": self.thread_id,
            "checkpoint_ns": "",
            "checkpoint_id": str(uuid.uuid5(uuid.NAMESPACE_URL, self.interrupt_id or "none")),
        }
        return {
            "values": data["values"],
            "next": ["review"] if interrupts else [],
            "tasks": [
                {
                    "id": "task-1",
                    "name": "review",
                    "path": [],
                    "error": None,
                    "interrupts": interrupts,
                    "checkpoint": None,
                    "state": None,
                    "result": None,
                }
            ]
            if interrupts
            else [],
            "metadata": {"graph_id": "refund_approval", "step": 1, "source": "loop"},
            "created_at": data["updated_at"],
            "checkpoint": checkpoint,
            "parent_checkpoint": None,
            "interrupts": interrupts,
            "checkpoint_id": checkpoint["checkpoint_id"],
            "parent_checkpoint_id": None,
        }


class Deployment:
    """One deployment's threads, newest ``updated_at`` first."""

    def __init__(self, port: int, threads: int) -> None:
        self.port = port
        self.requests = 0
        now = datetime.now(UTC)
        graph = {"graph_id": "refund_approval", "assistant_id": "refund_approval"}
        self.order: list[Thread] = [
            Thread(
                str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench:{port}:{i}")),
                now - timedelta(days=2, seconds=i),
                now - timedelta(seconds=60 + i),
                metadata={**graph, "bench": "freshness"},
            )
            for i in range(threads)
        ]
        self.by_id = {t.thread_id: t for t in self.order}

    def touch(self, thread: Thread, status: str, interrupt_id: str = "") -> None:
        thread.status, thread.interrupt_id = status, interrupt_id
        thread.updated_at = datetime.now(UTC)
        if thread.thread_id in self.by_id:
            self.order.remove(thread)
        self.by_id[thread.thread_id] = thread
        self.order.insert(0, thread)

    def search(self, body: dict[str, Any]) -> tuple[list[dict[str, Any]], int | None]:
        offset, limit = int(body.get("offset") or 0), int(body.get("limit") or 10)
        if (
            body.get("sort_by", "updated_at") != "updated_at"
            or body.get("sort_order", "desc") != "desc"
        ):
            raise HTTPError(400, "This replay sorts by updated_at desc only.")
        rows = self.order
        if body.get("ids"):
            rows = [self.by_id[i] for i in body["ids"] if i in self.by_id]
        if body.get("status"):
            rows = [t for t in rows if t.status == body["status"]]
        page = rows[offset : offset + limit]
        select = set(body.get("select") or SELECTABLE) & SELECTABLE
        more = offset + limit if offset + limit < len(rows) else None
        return [{k: v for k, v in t.as_dict().items() if k in select} for t in page], more

    def thread(self, thread_id: str) -> Thread:
        found = self.by_id.get(thread_id)
        if found is None:
            raise HTTPError(404, f"Thread with ID {thread_id} not found")
        return found


async def _interrupt(deployment: Deployment, body: dict[str, Any]) -> dict[str, Any]:
    thread = Thread(
        str(uuid.uuid4()),
        datetime.now(UTC),
        datetime.now(UTC),
        metadata={"graph_id": "refund_approval", "assistant_id": "refund_approval"},
    )
    deployment.touch(thread, "busy")
    await asyncio.sleep(float(body.get("busy") or 0.3))
    deployment.touch(thread, "interrupted", uuid.uuid4().hex)
    return {"thread_id": thread.thread_id, "interrupted_at": time.time()}


async def _answer(deployment: Deployment, method: str, path: str, body: Any) -> bytes:
    parts = path.strip("/").split("/")
    if path.startswith("/bench/"):
        if path == "/bench/interrupt" and method == "POST":
            return _response(200, await _interrupt(deployment, body))
        if path == "/bench/stats":
            return _response(200, {"requests": deployment.requests})
        raise HTTPError(404, "Not Found")
    deployment.requests += 1
    if path == "/ok":
        return _response(200, {"ok": True})
    if path == "/threads/search" and method == "POST":
        rows, more = deployment.search(body)
        extra = b"x-pagination-next: %d\r\n" % more if more is not None else b""
        return _response(200, rows, extra)
    if path == "/threads/count" and method == "POST":
        return _response(200, len(deployment.order))
    if len(parts) >= 2 and parts[0] == "threads" and method == "GET":
        thread = deployment.thread(parts[1])
        if len(parts) == 2:
            return _response(200, thread.as_dict())
        if parts[2:] == ["state"]:
            return _response(200, thread.state())
        if parts[2:] == ["runs"]:
            return _response(200, [])
    raise HTTPError(404, "Not Found")


async def serve(
    deployment: Deployment, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            request_line, *lines = head.decode("latin-1").split("\r\n")
            method, target, _ = request_line.split(" ", 2)
            headers = {}
            for line in lines:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            if length > MAX_BODY:
                writer.write(_response(400, {"detail": "Body too large."}))
                return
            raw = await reader.readexactly(length) if length else b""
            path = target.split("?", 1)[0].rstrip("/") or "/"
            try:
                answer = await _answer(deployment, method, path, json.loads(raw) if raw else {})
            except HTTPError as error:
                answer = _response(error.status, {"detail": error.detail})
            except (ValueError, TypeError, KeyError) as error:
                answer = _response(400, {"detail": str(error)})
            writer.write(answer)
            await writer.drain()
    finally:
        writer.close()


async def churn(deployment: Deployment, per_second: float) -> None:
    """Touch a random idle thread now and then, as the team's applications would."""
    pick = random.Random(deployment.port)
    while per_second > 0:
        await asyncio.sleep(pick.expovariate(per_second))
        thread = deployment.order[pick.randrange(len(deployment.order))]
        if thread.status == "idle":
            deployment.touch(thread, "idle")


async def main_async(host: str, ports: list[int], threads: int, per_second: float) -> None:
    deployments = [Deployment(port, threads) for port in ports]
    servers = []
    for deployment in deployments:
        servers.append(
            await asyncio.start_server(
                functools.partial(serve, deployment), host, deployment.port, backlog=1024
            )
        )
    tasks = [asyncio.create_task(churn(d, per_second)) for d in deployments]
    print(f"threads replay on {host} ports {ports}, {threads} threads each", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers), *tasks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--ports", required=True, help="comma-separated, one per deployment")
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--churn", type=float, default=0.5, help="threads touched a second")
    args = parser.parse_args()
    ports = [int(p) for p in args.ports.split(",")]
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main_async(args.host, ports, args.threads, args.churn))
    return 0


if __name__ == "__main__":
    sys.exit(main())
