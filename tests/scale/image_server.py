"""A real HTTP image server on 127.0.0.1 for the image tests, with every failure we handle.

Routes (all GET):

* ``/img/<n>.<jpg|png|webp|gif>``  a generated image, different for every ``n``
* ``/octet/<n>.jpg``               a JPEG sent as ``application/octet-stream``
* ``/status/<code>``               that HTTP status with a short text body
* ``/flaky/<n>.jpg``               503 on the first request, the image afterwards
* ``/slow.jpg``                    sleeps ``slow_seconds`` before answering
* ``/truncated.jpg``               the first half of a JPEG
* ``/page.html``                   an HTML page
* ``/html-as-image.jpg``           an HTML page that claims to be ``image/jpeg``
* ``/bomb.png``                    a valid 20,000 x 20,000 PNG (about 50 KB on the wire)
* ``/loop/a`` <-> ``/loop/b``      a redirect loop
* ``/redirect/<n>.jpg``            one redirect to ``/img/<n>.jpg``
* ``/goto?to=<url>``               one redirect to any URL (another host, an odd address spelling)
* ``/noai.jpg``                    an image with ``X-Robots-Tag: noai``
* ``/big.jpg``                     a JPEG of about 300 KB (for a small ``max_bytes``)
* ``/busy/<n>.jpg``                429 with ``Retry-After: 1`` on the first request, then the image
* ``/busy-long/<n>.jpg``           429 with ``Retry-After: 3600``

:attr:`ImageServer.max_in_flight` is the most requests the server was answering at once.

Every request's path is appended to :attr:`ImageServer.requests` (thread-safe), which
is how tests prove that nothing stored is downloaded twice.
"""

from __future__ import annotations

import io
import struct
import threading
import time
import zlib
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

from tests.helpers.servers import WatchedThread, unwatch, watch

_FORMATS = {"jpg": ("JPEG", "image/jpeg"), "png": ("PNG", "image/png"), "webp": ("WEBP", "image/webp"), "gif": ("GIF", "image/gif")}


@lru_cache(maxsize=512)
def generated_image(n: int, ext: str, size: tuple[int, int] | None = None) -> bytes:
    """A deterministic picture for ``n``: a colour gradient plus a block, so files differ."""
    fmt, _ = _FORMATS[ext]
    width, height = size or (64 + (n % 5) * 16, 48 + (n % 3) * 16)
    image = Image.new("RGB", (width, height))
    pixels = image.load()
    for x in range(width):
        for y in range(height):
            pixels[x, y] = ((x * 4 + n * 37) % 256, (y * 5 + n * 11) % 256, (n * 53) % 256)
    buffer = io.BytesIO()
    if fmt == "GIF":
        image.convert("P").save(buffer, "GIF")
    else:
        image.save(buffer, fmt, quality=90) if fmt in ("JPEG", "WEBP") else image.save(buffer, fmt)
    return buffer.getvalue()


@lru_cache(maxsize=1)
def bomb_png(side: int = 20_000) -> bytes:
    """A real, valid 1-bit PNG of side x side pixels that compresses to a few tens of KB."""
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    raw = zlib.compress(row * side, 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


@lru_cache(maxsize=1)
def big_jpeg() -> bytes:
    import random

    rng = random.Random(7)
    image = Image.frombytes("RGB", (400, 400), bytes(rng.getrandbits(8) for _ in range(400 * 400 * 3)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=100)
    return buffer.getvalue()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # clients hanging up is normal here
        pass


class ImageServer:
    """Start with ``with ImageServer() as server:``; ``server.url("/img/1.jpg")``."""

    def __init__(self, slow_seconds: float = 3.0, image_delay: float = 0.0) -> None:
        self.slow_seconds = slow_seconds
        #: seconds every ``/img`` answer waits (to make a kill land in the middle of a run)
        self.image_delay = image_delay
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._seen_flaky: set[str] = set()
        self.in_flight = 0
        self.max_in_flight = 0
        self._httpd = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def count(self, path: str) -> int:
        with self._lock:
            return self.requests.count(path)

    def __enter__(self) -> "ImageServer":
        self._thread.start()
        self._watched = WatchedThread("the image server", self._thread)
        watch(self._watched)
        return self

    def __exit__(self, *exc: object) -> None:
        unwatch(self._watched)
        self._httpd.shutdown()
        self._httpd.server_close()

    def _log(self, path: str) -> None:
        with self._lock:
            self.requests.append(path)

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _first_time(self, path: str) -> bool:
        with self._lock:
            first = path not in self._seen_flaky
            self._seen_flaky.add(path)
            return first

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def send_body(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                path = self.path
                server._log(path)
                server._enter()
                parts = path.strip("/").split("/")
                try:
                    self.route(path, parts)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    server._leave()

            def route(self, path: str, parts: list[str]) -> None:
                if parts[0] == "img" and len(parts) == 2:
                    stem, _, ext = parts[1].partition(".")
                    if server.image_delay:
                        time.sleep(server.image_delay)
                    return self.send_body(200, generated_image(int(stem), ext), _FORMATS[ext][1])
                if parts[0] == "octet":
                    return self.send_body(200, generated_image(int(parts[1].split(".")[0]), "jpg"), "application/octet-stream")
                if parts[0] == "status":
                    return self.send_body(int(parts[1]), b"error page", "text/plain")
                if parts[0] == "flaky":
                    if server._first_time(path):
                        return self.send_body(503, b"try again", "text/plain")
                    return self.send_body(200, generated_image(int(parts[1].split(".")[0]), "jpg"), "image/jpeg")
                if path == "/slow.jpg":
                    time.sleep(server.slow_seconds)
                    return self.send_body(200, generated_image(0, "jpg"), "image/jpeg")
                if path == "/truncated.jpg":
                    data = generated_image(3, "jpg", (256, 256))
                    return self.send_body(200, data[: len(data) // 2], "image/jpeg")
                if path == "/page.html":
                    return self.send_body(200, b"<html><body>not a picture</body></html>", "text/html; charset=utf-8")
                if path == "/html-as-image.jpg":
                    return self.send_body(200, b"<!doctype html><html><body>oops</body></html>", "image/jpeg")
                if path == "/bomb.png":
                    return self.send_body(200, bomb_png(), "image/png")
                if parts[0] == "loop":
                    target = "/loop/b" if parts[1] == "a" else "/loop/a"
                    return self.send_body(302, b"", "text/plain", {"Location": target})
                if parts[0].startswith("goto?to="):
                    from urllib.parse import unquote

                    return self.send_body(302, b"", "text/plain", {"Location": unquote(parts[0][len("goto?to="):] +
                                                                                       "/" + "/".join(parts[1:]))})
                if parts[0] == "redirect":
                    return self.send_body(301, b"", "text/plain", {"Location": "/img/" + parts[1]})
                if path == "/noai.jpg":
                    return self.send_body(200, generated_image(5, "jpg"), "image/jpeg", {"X-Robots-Tag": "noindex, noai"})
                if parts[0] == "busy":
                    if server._first_time(path):
                        return self.send_body(429, b"slow down", "text/plain", {"Retry-After": "1"})
                    return self.send_body(200, generated_image(int(parts[1].split(".")[0]), "jpg"), "image/jpeg")
                if parts[0] == "busy-long":
                    return self.send_body(429, b"come back tomorrow", "text/plain", {"Retry-After": "3600"})
                if path == "/big.jpg":
                    return self.send_body(200, big_jpeg(), "image/jpeg")
                return self.send_body(404, b"no such file", "text/plain")

        return Handler
