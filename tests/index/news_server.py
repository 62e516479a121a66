"""A real HTTP server on 127.0.0.1 for the fetch, feed and watch tests: pages, feeds and robots.txt
set per path, with the awkward behaviours of real sites (slow, huge, redirects, 304, failures)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from newsdesk.config import REPO_ROOT
from tests.support import free_port

PAGES = REPO_ROOT / "bench" / "pages"
"""Real-looking news pages (menus, cookie banners, related stories) with their gold article text."""


def page(name: str) -> str:
    """The HTML of ``bench/pages/NAME.html``."""
    return (PAGES / f"{name}.html").read_text(encoding="utf-8")


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str = ""
    """Answer 304 to a request whose If-None-Match names it."""
    delay: float = 0.0
    """Seconds before the answer starts (a slow host)."""
    stream_bytes: int = 0
    """Send this many bytes in pieces, without Content-Length (a huge page that does not say so)."""
    fail_times: int = 0
    """Answer 503 to the first N requests."""


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up early (a timeout, a size bound) is what the tests provoke: not an error."""


def rss(title: str, items: list[dict[str, str]]) -> str:
    """An RSS 2.0 feed whose items have the given elements (title, link, guid, pubDate, description)."""

    def item(fields: dict[str, str]) -> str:
        return "<item>" + "".join(f"<{k}>{v}</{k}>" for k, v in fields.items()) + "</item>"

    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://example.org/</link><description>d</description>"
        + "".join(item(i) for i in items)
        + "</channel></rss>"
    )


class NewsServer:
    """``routes`` maps a path to what it serves; everything else is 404. ``seen`` lists the requests."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = free_port()
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                server.seen.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = server.routes.get(self.path)
                if route is None:
                    self._send(404, b"not found", "text/plain", {})
                    return
                if route.delay:
                    time.sleep(route.delay)
                if route.fail_times > 0:
                    route.fail_times -= 1
                    self._send(503, b"busy", "text/plain", {})
                    return
                headers = dict(route.headers)
                if route.etag:
                    headers["ETag"] = route.etag
                    if self.headers.get("If-None-Match") == route.etag:
                        self._send(304, b"", "", headers)
                        return
                if route.stream_bytes:
                    self.send_response(route.status)
                    self.send_header("Content-Type", route.content_type)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    block = b"<p>" + b"x" * 65530 + b"</p>"
                    try:
                        for _ in range(route.stream_bytes // len(block) + 1):
                            self.wfile.write(block)
                    except OSError:
                        pass  # the client hung up once it had read enough: that is the point
                    self.close_connection = True
                    return
                self._send(route.status, route.body, route.content_type, headers)

            def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str]) -> None:
                self.send_response(status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = _QuietServer((host, self.port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def serve(self, path: str, body: str | bytes = b"", **options: object) -> str:
        """Serve ``body`` at ``path``; returns its URL."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **options)  # type: ignore[arg-type]
        return self.url(path)

    def requests_for(self, path: str) -> int:
        return sum(1 for seen in self.seen if seen.path == path)

    def __enter__(self) -> NewsServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
