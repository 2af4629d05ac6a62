"""A local HTTP server (127.0.0.1 only) that replays recorded archive answers.

The archive clients (pyvo, astroquery) run unchanged against it: only their service address
points here. Each request is recorded (path and form fields) so tests can check the query sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest


@dataclass
class Reply:
    """What the server sends for one path."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/x-votable+xml"
    delay: float = 0.0


@dataclass
class RecordedArchive:
    """Routes (path -> Reply or callable(fields) -> Reply) and the requests received."""

    routes: dict[str, Reply | Callable[[dict[str, str]], Reply]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    url: str = ""

    def reply(self, path: str, answer: Reply | Callable[[dict[str, str]], Reply]) -> None:
        self.routes[path] = answer


def _handler(archive: RecordedArchive) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

        def _answer(self, fields: dict[str, str]) -> None:
            path = urlparse(self.path).path
            archive.requests.append((path, fields))
            route = archive.routes.get(path)
            if route is None:
                reply = Reply(b"no such page", 404, "text/plain")
            else:
                reply = route(fields) if callable(route) else route
            if reply.delay:
                time.sleep(reply.delay)
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests)

        def do_GET(self) -> None:
            query = parse_qs(urlparse(self.path).query)
            self._answer({k: v[0] for k, v in query.items()})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length).decode("utf-8", "replace")
            self._answer({k: v[0] for k, v in parse_qs(body).items()})

    return Handler


@pytest.fixture(name="archive")
def archive_fixture() -> Iterator[RecordedArchive]:
    """A running replay server; ``archive.url`` is its base address."""
    archive = RecordedArchive()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(archive))
    server.daemon_threads = True
    archive.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield archive
    finally:
        server.shutdown()
        server.server_close()
