"""Watching the launcher's process tree from outside, as an operator with ``ps`` would."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

# The console's readiness probe: its own database, Redis and a worker answer.
READINESS_PATH = "/readyz"


def descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def child_running(parent: int, marker: str) -> int:
    for pid in descendants(parent):
        if marker in cmdline(pid):
            return pid
    raise AssertionError(f"no process of {parent} runs {marker!r}")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {seconds:g} s"
        time.sleep(0.2)


def port_free(port: int) -> bool:
    """Whether a new server could listen on ``port`` now (nothing holds it)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    try:
        with urlopen(Request(url, headers=headers or {}), timeout=5) as response:
            return response.status, response.read()
    except HTTPError as error:
        return error.code, error.read()


def poll(url: str, seconds: float, ready: Callable[[int, bytes], bool], **kw: object) -> bytes:
    deadline = time.monotonic() + seconds
    last: object = "never answered"
    while time.monotonic() < deadline:
        try:
            status, body = get(url, **kw)  # type: ignore[arg-type]
            last = (status, body[:500])
            if ready(status, body):
                return body
        except OSError as error:
            last = error
        time.sleep(0.5)
    raise AssertionError(f"{url} not ready after {seconds:g} s: {last!r}")
