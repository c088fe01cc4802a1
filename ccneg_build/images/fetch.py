"""The asynchronous HTTP side of the image step: many downloads in flight, each bounded.

Each URL gets at most ``1 + retries`` attempts. Only failures that may pass (timeouts,
dropped connections, 408, 429, 5xx) are retried, with exponential backoff; a 404 or an
HTML page is final at once. Bodies are streamed and cut at ``max_bytes`` so a huge file
is never held in memory, and the ``X-Robots-Tag`` opt-outs are read from the headers
before the body is fetched. Decoding runs in worker threads so the event loop keeps
the network busy. Every connection and redirect hop passes :mod:`.guard`, which refuses
private, loopback, link-local, multicast and reserved addresses.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Callable, Sequence
from urllib.parse import urlsplit

import httpx

from ccneg_core.image_decode import ImageRejected
from ccneg_build.images.prepare import StoredImage, check_content_type, prepare_image
from ccneg_build.images.guard import AddressGuard, guarded_client_options
from ccneg_build.options.images import ImageOptions, http_reason

_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class ImageFailure:
    """Why a row has no image."""

    reason: str
    detail: str


@dataclass(frozen=True)
class ImageOutcome:
    """The end of one row's download: an image or a failure, and how many requests it took."""

    id: str
    url: str | None
    image: StoredImage | None
    failure: ImageFailure | None
    attempts: int

    @property
    def ok(self) -> bool:
        return self.image is not None


class _Retryable(Exception):
    def __init__(self, reason: str, detail: str, wait_s: float | None = None) -> None:
        super().__init__(detail)
        self.reason, self.detail, self.wait_s = reason, detail, wait_s


#: The longest ``Retry-After`` we honour; a server asking for more gets its row failed instead.
MAX_RETRY_AFTER_S = 60.0


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header given in seconds (HTTP dates are ignored)."""
    if not value or not value.strip().isdigit():
        return None
    return float(value.strip())


def opt_out_directive(values: Sequence[str], directives: Sequence[str]) -> str | None:
    """The first opt-out directive found in ``X-Robots-Tag`` header values, else ``None``.

    A value may name a user agent (``"otherbot: noai"``); we honour opt-outs addressed to
    any agent, the cautious reading.
    """
    wanted = {d.lower() for d in directives}
    for value in values:
        for part in value.split(","):
            token = part.rsplit(":", 1)[-1].strip().lower()
            if token in wanted:
                return token
    return None


class ImageFetcher:
    """Downloads and prepares the images of many URLs concurrently.

    ``fetch`` is synchronous (it runs its own event loop), so the same object serves the
    local engine's worker processes and Ray tasks alike.
    """

    def __init__(self, options: ImageOptions | None = None) -> None:
        self.options = options or ImageOptions()

    def fetch(
        self,
        items: Sequence[tuple[str, str | None]],
        on_outcome: Callable[[ImageOutcome], None] | None = None,
    ) -> list[ImageOutcome]:
        """Fetch ``(id, url)`` pairs; return outcomes in input order.

        ``on_outcome`` is called as each download ends (in completion order), which is
        how the store persists finished images before the whole batch is done.
        """
        if not items:
            return []
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # the usual case: no event loop in this thread
            return asyncio.run(self._fetch_all(items, on_outcome))
        # called from inside a running loop (a notebook, an async app): run ours in a thread
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, self._fetch_all(items, on_outcome)).result()

    async def _fetch_all(
        self,
        items: Sequence[tuple[str, str | None]],
        on_outcome: Callable[[ImageOutcome], None] | None,
    ) -> list[ImageOutcome]:
        options = self.options
        limits = httpx.Limits(max_connections=options.concurrency, max_keepalive_connections=options.concurrency)
        semaphore = asyncio.Semaphore(options.concurrency)
        guard = AddressGuard(options.allow_private_networks)
        async with httpx.AsyncClient(
            timeout=httpx.Timeout(options.timeout_s),
            follow_redirects=True,
            max_redirects=options.max_redirects,
            headers={"User-Agent": options.user_agent, "Accept": "image/*"},
            trust_env=True,
            **guarded_client_options(guard, limits),
        ) as client:

            hosts: dict[str, asyncio.Semaphore] = {}

            async def one(item_id: str, url: str | None) -> ImageOutcome:
                host = urlsplit(url or "").netloc.lower()
                per_host = hosts.setdefault(host, asyncio.Semaphore(options.max_per_host))
                outcome = await self._fetch_one(client, item_id, url, (per_host, semaphore))
                if on_outcome is not None:
                    on_outcome(outcome)
                return outcome

            return list(await asyncio.gather(*(one(i, u) for i, u in items)))

    async def _fetch_one(self, client: httpx.AsyncClient, item_id: str, url: str | None,
                         slots: tuple[asyncio.Semaphore, asyncio.Semaphore]) -> ImageOutcome:
        """All attempts for one URL; a slot (per host, then global) is held only while a request runs."""
        options = self.options
        per_host, overall = slots
        problem = _url_problem(url)
        if problem:
            return ImageOutcome(item_id, url, None, ImageFailure(*problem), 0)
        attempts = 0
        while True:
            attempts += 1
            try:
                async with per_host, overall:  # politeness first, then the global limit
                    image = await asyncio.wait_for(self._attempt(client, str(url)), options.timeout_s * 3)
                return ImageOutcome(item_id, url, image, None, attempts)
            except ImageRejected as rejected:
                failure = ImageFailure(rejected.reason, rejected.detail)
                return ImageOutcome(item_id, url, None, failure, attempts)
            except (_Retryable, httpx.TimeoutException, asyncio.TimeoutError, httpx.TransportError) as error:
                failure = _failure_of(error, options)
                if attempts > options.retries:
                    return ImageOutcome(item_id, url, None, failure, attempts)
                delay = options.backoff_s * (2 ** (attempts - 1)) * (0.5 + random.random())
                asked = getattr(error, "wait_s", None)
                if asked is not None:
                    if asked > MAX_RETRY_AFTER_S:
                        return ImageOutcome(item_id, url, None, failure, attempts)
                    delay = max(delay, asked)
                await asyncio.sleep(delay)

    async def _attempt(self, client: httpx.AsyncClient, url: str) -> StoredImage:
        options = self.options
        try:
            async with client.stream("GET", url) as response:
                _check_response(response, options)
                data = await _read_limited(response, options.max_bytes)
                content_type = response.headers.get("content-type")
        except httpx.TooManyRedirects:
            raise ImageRejected("redirect_loop", f"more than {options.max_redirects} redirects") from None
        except httpx.InvalidURL as error:
            raise ImageRejected("bad_url", str(error)) from None
        except httpx.RemoteProtocolError as error:
            raise _Retryable("connection_error", f"the server broke the protocol ({error})") from None
        return await asyncio.to_thread(prepare_image, data, content_type, options)


def _url_problem(url: str | None) -> tuple[str, str] | None:
    if not url:
        return ("no_url", "the row has no image URL")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ("bad_url", f"{url[:80]!r} is not an http(s) URL")
    return None


def _check_response(response: httpx.Response, options: ImageOptions) -> None:
    """Status, opt-outs, declared type and declared length: all before reading the body."""
    status = response.status_code
    if status in _RETRY_STATUSES:
        wait_s = retry_after_seconds(response.headers.get("retry-after"))
        raise _Retryable(http_reason(status), f"the server answered {status}", wait_s)
    if status != 200:
        raise ImageRejected(http_reason(status), f"the server answered {status}")
    if options.honor_optouts:
        directive = opt_out_directive(response.headers.get_list("x-robots-tag"), options.optout_directives)
        if directive:
            raise ImageRejected("opted_out", f"X-Robots-Tag says {directive!r}")
    check_content_type(response.headers.get("content-type"))
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > options.max_bytes:
        raise ImageRejected("too_large", f"content-length {declared} is more than the limit of {options.max_bytes}")


async def _read_limited(response: httpx.Response, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.aiter_bytes():
        total += len(chunk)
        if total > max_bytes:
            raise ImageRejected("too_large", f"the body is more than the limit of {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _failure_of(error: Exception, options: ImageOptions) -> ImageFailure:
    if isinstance(error, _Retryable):
        return ImageFailure(error.reason, error.detail)
    if isinstance(error, (httpx.TimeoutException, asyncio.TimeoutError)):
        return ImageFailure("timeout", f"no complete answer within the timeout ({options.timeout_s:g} s per read)")
    return ImageFailure("connection_error", f"{type(error).__name__}: {error}"[:200])
