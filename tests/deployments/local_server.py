"""A real HTTP server on 127.0.0.1 for tests that need a deployment to misbehave in a precise way
(redirect, refuse the key, hang). It records every request it gets."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"ok": true}'


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    peer_port: int = 0  # the client's port: which connection the request came on


@dataclass
class LocalServer:
    url: str
    requests: list[Recorded]


@contextmanager
def local_server(
    answer: Callable[[Recorded], Answer],
    *,
    keep_alive: bool = False,
    tls: ssl.SSLContext | None = None,
) -> Iterator[LocalServer]:
    requests: list[Recorded] = []

    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.1 keeps connections open between requests; HTTP/1.0 closes each one.
        protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            recorded = Recorded(
                self.command,
                self.path,
                {k.lower(): v for k, v in self.headers.items()},
                self.client_address[1],
            )
            requests.append(recorded)
            reply = answer(recorded)
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = _handle

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls is not None else "http"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LocalServer(f"{scheme}://127.0.0.1:{server.server_address[1]}", requests)
    finally:
        server.shutdown()
        server.server_close()
