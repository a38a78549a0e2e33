"""CPU per event in the run page's websocket consumer, before and after the live partials.

    python -m bench.consumer_cpu [--events 5000] [--viewers 1,10,50]

Feeds a chatty run's events (mostly streamed message chunks, some steps, state and custom events)
as group messages of 10 to ``RunConsumer.live`` of every viewer, in one process, with the socket
replaced at the transport seam (``base_send`` keeps the frame). "before" is the consumer as it
was: it sent each event's display ops as JSON, one encoding per viewer. "after" sends the event's
HTML frame, rendered from the page's templates by the first viewer of the process and reused
by the others (``apps.runs.live``). Prints µs of process CPU per event (all viewers), and per
event and viewer.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import time
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
django.setup()

from apps.runs.consumers import RunConsumer  # noqa: E402
from apps.runs.events import RunEventPayload, event_payload  # noqa: E402
from apps.runs.live import acquire  # noqa: E402
from apps.runs.models import Run  # noqa: E402

BATCH = 10


def chatty(run_id: int, count: int) -> list[RunEventPayload]:
    events: list[RunEventPayload] = []
    for seq in range(1, count + 1):
        data: Any
        if seq % 50 == 0:
            event, data = "values", {"messages": [{"type": "ai", "content": "x" * 200}], "n": seq}
        elif seq % 25 == 0:
            event, data = "updates", {"agent": {"step": seq, "note": "<ok> & 'fine'"}}
        elif seq % 10 == 0:
            event, data = "custom", {"progress": seq / count}
        else:
            chunk = {"type": "AIMessageChunk", "id": "reply", "content": f" token{seq} <&>"}
            event, data = "messages", [chunk, {"langgraph_node": "agent"}]
        events.append(event_payload(run_id, seq, event, data))
    return events


class Before(RunConsumer):
    """The consumer's forward before the partials: the ops as JSON, encoded per viewer."""

    async def forward(self, payload: RunEventPayload) -> None:
        await self.send_json(
            {
                "type": "event",
                "seq": payload["seq"],
                "event": payload["event"],
                "ops": payload["ops"],
            }
        )
        self.sent = payload["seq"]


def viewer(kind: type[RunConsumer], run_id: int, sent: list[int]) -> RunConsumer:
    consumer = kind()
    consumer.run = Run(pk=run_id)
    consumer.sent = consumer.acked = 0
    consumer.lagging = consumer.revoked = consumer.heard_live = False
    consumer.checked_at = math.inf  # no access re-check (it reads the database) in the loop
    consumer.checking = None
    consumer.lock = asyncio.Lock()
    consumer.renderer = acquire(run_id)
    consumer.behind = None

    async def base_send(message: dict[str, Any]) -> None:
        sent[0] += len(message["text"])
        # The page acknowledges what it applied: keep the flow-control window open.
        consumer.acked = consumer.sent

    consumer.base_send = base_send
    return consumer


async def measure(kind: type[RunConsumer], run_id: int, events: int, viewers: int) -> float:
    payloads = chatty(run_id, events)
    sent = [0]
    consumers = [viewer(kind, run_id, sent) for _ in range(viewers)]
    started = time.process_time()
    for start in range(0, events, BATCH):
        batch = payloads[start : start + BATCH]
        for consumer in consumers:
            await consumer.live(batch)
    spent = time.process_time() - started
    assert all(consumer.sent == events for consumer in consumers)
    return spent / events * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--viewers", default="1,10,50")
    args = parser.parse_args()
    print(
        f"{'viewers':>8} {'before µs/event':>16} {'after µs/event':>15} {'after µs/event·viewer':>22}"
    )
    asyncio.run(measure(RunConsumer, 10_000, 500, 1))  # templates loaded and compiled
    for run_id, viewers in enumerate(int(v) for v in args.viewers.split(",")):
        before = asyncio.run(measure(Before, 2 * run_id + 1, args.events, viewers))
        after = asyncio.run(measure(RunConsumer, 2 * run_id + 2, args.events, viewers))
        print(f"{viewers:>8} {before:>16.1f} {after:>15.1f} {after / viewers:>22.1f}")


if __name__ == "__main__":
    main()
