"""Structured logs name what they are about: a relay's lines carry its run's id, and error
reporting turns on with a DSN alone."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.runs.models import Run
from dashboard.embedded import BASE_DIR
from tests.fixtures.workers import start_chatty

RELAY_TASK = "apps.runs.tasks.relay_run"


def _json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.django_db(transaction=True)
def test_every_line_a_relay_writes_carries_its_run_id(start_relay_worker, oscar, deployment_a):
    worker = start_relay_worker(concurrency=4, env={"LOG_FORMAT": "json"})
    runs = [start_chatty(oscar, deployment_a, chunks=10, rate=50) for _ in range(2)]
    deadline = time.monotonic() + 90
    while Run.objects.filter(pk__in=[r.pk for r in runs], finished_at__isnull=True).exists():
        assert time.monotonic() < deadline, "the runs did not finish"
        time.sleep(0.2)
    time.sleep(0.5)  # the task's last line follows the run's end

    lines = _json_lines(worker.log())
    relay_lines = [line for line in lines if line.get("task") == RELAY_TASK]
    for run in runs:
        mine = [line for line in relay_lines if line.get("run_id") == run.pk]
        assert {line["message"] for line in mine} >= {
            f"task {RELAY_TASK} started",
            f"task {RELAY_TASK} ended: SUCCESS",
        }, mine
    assert all("run_id" in line and "task_id" in line for line in relay_lines)
    # And whatever the relay itself says (it is quiet when all goes well).
    said = [line for line in lines if line["logger"] == "apps.runs.relay"]
    assert all(line.get("run_id") in {run.pk for run in runs} for line in said), said
    assert all(line["process"] for line in lines)


class _Collector(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"] or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.received.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


def _log_an_error(**env: str) -> subprocess.CompletedProcess[str]:
    script = (
        "import django, logging; django.setup(); "
        "logging.getLogger('apps.runs.relay').error('the relay fell over: %s', 'probe-7731')"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=BASE_DIR,
        env={**clean, "DJANGO_SETTINGS_MODULE": "dashboard.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_error_reporting_sends_errors_when_a_dsn_is_set_and_nothing_without():
    _Collector.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        without = _log_an_error()
        assert without.returncode == 0, without.stderr
        assert _Collector.received == []

        dsn = f"http://publickey@127.0.0.1:{server.server_port}/42"
        reported = _log_an_error(SENTRY_DSN=dsn)
        assert reported.returncode == 0, reported.stderr
        assert any(b"probe-7731" in body for body in _Collector.received), _Collector.received
    finally:
        server.shutdown()
