"""A deployment that misbehaves on command: a tiny HTTP server on 127.0.0.1 the test controls.

``FaultServer.mode`` decides every answer, and can be changed while requests are in flight:

- ``"500"``: every request gets a 500 with a JSON body;
- ``"hang"``: requests are read and never answered, until the test ends (or ``release()``);
- ``"reset"``: the connection is closed as soon as the request was read, with no answer;
- ``"down"``: the listening socket is closed, so connections are refused (``up()`` reopens it on
  the same port).

It records every request (method and path), so tests can prove retries are bounded.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field


@dataclass
class Seen:
    method: str
    path: str


@dataclass
class FaultServer:
    mode: str
    port: int = 0
    seen: list[Seen] = field(default_factory=list)
    _released: threading.Event = field(default_factory=threading.Event)
    _listener: socket.socket | None = None
    _threads: list[threading.Thread] = field(default_factory=list)
    _held: list[socket.socket] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests(self, method: str | None = None, path_contains: str = "") -> list[Seen]:
        with self._lock:
            return [
                s
                for s in self.seen
                if (method is None or s.method == method) and path_contains in s.path
            ]

    # -- lifecycle -----------------------------------------------------------------------------

    def up(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        thread.start()
        self._threads.append(thread)

    def down(self) -> None:
        if self._listener is not None:
            with suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None

    def release(self) -> None:
        """Let go of every hanging connection (closed without an answer)."""
        self._released.set()
        with self._lock:
            held, self._held = self._held, []
        for conn in held:
            with suppress(OSError):
                conn.close()

    # -- serving -------------------------------------------------------------------------------

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        try:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(65536)
                if not chunk:
                    conn.close()
                    return
                head += chunk
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            method, path = [*request_line.split(" "), "", ""][:2]
            with self._lock:
                self.seen.append(Seen(method, path))
            mode = "hang" if self.mode == "down" else self.mode
            if mode == "hang" and not self._released.is_set():
                with self._lock:
                    self._held.append(conn)
                return  # never answered: release() or the end of the test closes it
            if mode == "500":
                body = b'{"detail": "Internal Server Error (fault injected)"}'
                conn.sendall(
                    b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )
            conn.close()  # "reset", or after the 500
        except OSError:
            with suppress(OSError):
                conn.close()


@contextmanager
def fault_server(mode: str) -> Iterator[FaultServer]:
    server = FaultServer(mode)
    server.up()
    if mode == "down":
        server.down()  # keep the port, refuse connections
    try:
        yield server
    finally:
        server.release()
        server.down()
