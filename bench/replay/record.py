"""Record the demo graphs' run streams from a real ``langgraph dev`` into fixtures for the replay
upstream (``bench/replay/server.py``). Run once; the fixtures are committed:

    python -m bench.replay.record

Starts ``langgraph dev`` serving graphs/ on a free port, streams each recorded graph once with
every stream mode the console asks for, and writes ``bench/replay/fixtures/<graph>.json``:
``{"graph", "input", "stream_mode", "events": [[event, data], ...]}`` in the order the server sent
them (ids are not kept: the replay numbers its own). Runs that stop at an interrupt are not
recorded: the replay has no checkpoints to resume.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

BASE = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
STREAM_MODE: list[Any] = ["values", "updates", "messages-tuple", "custom"]
# Small and unpaced: the replay paces and lengthens them (chatty's message chunks repeat).
RECORDINGS: dict[str, dict[str, Any]] = {
    "chatty": {"chunks": 12, "rate": 0, "text": "the replay upstream streams recorded runs"},
}


def record(url: str, graph: str, input: dict[str, Any]) -> list[list[Any]]:
    from switchboard import SyncClient

    with SyncClient(url=url) as client:
        thread = client.create_thread()
        return [
            [part.event, part.data]
            for part in client.stream_run(
                thread["thread_id"], assistant_id=graph, input=input, stream_mode=STREAM_MODE
            )
        ]


def main() -> int:
    sys.path.insert(0, str(BASE))
    from dashboard.embedded import graph_server

    FIXTURES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, graph_server(Path(tmp), Path(tmp) / "log") as url:
        for graph, input in RECORDINGS.items():
            events = record(url, graph, input)
            fixture = {"graph": graph, "input": input, "stream_mode": STREAM_MODE, "events": events}
            path = FIXTURES / f"{graph}.json"
            path.write_text(json.dumps(fixture, indent=1) + "\n")
            print(f"{path.relative_to(BASE)}: {len(events)} events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
