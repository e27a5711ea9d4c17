"""A small threaded HTTP server on 127.0.0.1 serving feed bytes per path, for ingest tests.

Per path: body, content type, status, ETag / Last-Modified validators (answering 304 to a
matching conditional request), an optional delay, and a number of initial failures. Every
request is logged with its headers so tests can assert what the client sent.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

LAST_MODIFIED = "Sat, 21 Nov 2026 10:00:00 GMT"


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "application/rss+xml"
    status: int = 200
    etag: str | None = None  # None: derived from the body when validators are on
    last_modified: str | None = LAST_MODIFIED
    validators: bool = True
    delay_s: float = 0.0
    fail_first: int = 0  # answer the first N requests with fail_status
    fail_status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    hits: int = 0


@dataclass
class LoggedRequest:
    path: str
    headers: dict[str, str]
    status: int


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[LoggedRequest] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                server._handle(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def add(self, path: str, body: bytes = b"", **options: object) -> str:
        self.routes[path] = Route(body=body, **options)  # type: ignore[arg-type]
        return self.url(path)

    def requests_for(self, path: str) -> list[LoggedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        route = self.routes.get(path)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        logged = LoggedRequest(path, headers, status=0)  # logged on arrival, status when answered
        with self._lock:
            self.requests.append(logged)
        status, body, extra = self._respond(route, headers)
        logged.status = status
        try:
            handler.send_response(status)
            for name, value in extra.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _respond(self, route: Route | None, headers: dict[str, str]
                 ) -> tuple[int, bytes, dict[str, str]]:
        if route is None:
            return 404, b"not found", {"Content-Type": "text/plain"}
        with self._lock:
            route.hits += 1
            hit = route.hits
        if route.delay_s:
            time.sleep(route.delay_s)
        if hit <= route.fail_first or route.status != 200:
            status = route.fail_status if hit <= route.fail_first else route.status
            return status, b"server error", {"Content-Type": "text/plain", **route.headers}
        extra = {"Content-Type": route.content_type, **route.headers}
        if route.validators:
            etag = route.etag or '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
            extra["ETag"] = etag
            if route.last_modified:
                extra["Last-Modified"] = route.last_modified
            if headers.get("if-none-match") == etag or (
                "if-none-match" not in headers
                and route.last_modified
                and headers.get("if-modified-since") == route.last_modified
            ):
                return 304, b"", {"ETag": etag}
        return 200, route.body, extra


@pytest.fixture(name="feed_server")
def feed_server_fixture() -> Iterator[FeedServer]:
    """Import ``feed_server_fixture`` into a test module to get the ``feed_server`` fixture."""
    server = FeedServer().start()
    try:
        yield server
    finally:
        server.stop()


def rss(items: list[tuple[str, str, str | None]], title: str = "Test feed",
        language: str | None = "en") -> bytes:
    """A small RSS 2.0 document from (title, link, pubDate) triples."""
    lang = f"<language>{language}</language>" if language else ""
    entries = "".join(
        f"<item><title>{t}</title><link>{link}</link>"
        + (f"<pubDate>{date}</pubDate>" if date else "")
        + f"<description>About {t}</description></item>"
        for t, link, date in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>http://example.org/</link>{lang}{entries}"
        f"</channel></rss>"
    ).encode()
