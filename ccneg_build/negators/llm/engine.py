"""The request engine: cache first, then bounded concurrency, pacing, timeout and retries.

One :meth:`RequestEngine.answer` call turns a :class:`ChatRequest` into an :class:`Answer`.
An answer about the request itself (a 4xx refusal of this prompt) is a reason code, so one
bad row never stops a run. A *transport* failure (refused connection, timeout, 429/5xx)
that outlasts the retry budget is no verdict on the row: the request raises
:class:`RequestOwed` and its row is owed, not rejected. After ``stop_after`` such requests
in a row (no answer in between), or when the one probe sent before the first request
cannot reach the server, :class:`ServiceUnreachable` stops the run; while requests are
failing that way, the others get one attempt each instead of the full budget, so a dead
or hanging server stops a run after one retry budget, not one per row.
:class:`FatalBackendError` (a refused key, an unknown model) also propagates.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import Any

from ccneg_build.negators.llm.accounting import Usage
from ccneg_build.negators.llm.messages import ChatRequest, Completion
from ccneg_build.negators.llm.backend import (
    BackendError,
    LLMBackend,
    PermanentError,
    TransientError,
)
from ccneg_build.negators.base import ServiceUnreachable
from ccneg_build.negators.llm.cache import RequestCache, request_key
from ccneg_build.negators.llm.pacing import RateLimiter, RetryPolicy

log = logging.getLogger(__name__)

REQUEST_REFUSED = "llm_request_refused"
#: Requests in a row that may fail by transport (after their retries) before the run stops.
STOP_AFTER_FAILED_REQUESTS = 3


class RequestOwed(Exception):
    """One request got no answer after every retry because of transport failures."""
#: Tokens an answer is assumed to take before the provider reports the real count.
EXPECTED_OUTPUT_TOKENS = 120


@dataclass(frozen=True)
class Answer:
    """The outcome of one request: a completion, or a reason code after the last attempt."""

    completion: Completion | None
    reason: str | None = None
    detail: str = ""
    from_cache: bool = False
    attempts: int = 0

    @property
    def text(self) -> str | None:
        return self.completion.text if self.completion else None


class RequestEngine:
    """Sends requests for one backend; shares the cache, limits and usage across them."""

    def __init__(
        self,
        backend: LLMBackend,
        cache: RequestCache,
        *,
        prompt_version: str,
        prompt_digest: str,
        concurrency: int = 16,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        usage: Usage | None = None,
        rng: random.Random | None = None,
        stop_after: int = STOP_AFTER_FAILED_REQUESTS,
    ) -> None:
        self.backend = backend
        self.cache = cache
        self.prompt_version = prompt_version
        self.prompt_digest = prompt_digest
        self.concurrency = max(1, int(concurrency))
        self.limiter = limiter or RateLimiter()
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.usage = usage or Usage()
        self._rng = rng or random.Random()
        self._params = backend.generation_params()
        self._semaphore: asyncio.Semaphore | None = None
        self._inflight: dict[str, asyncio.Future[Answer]] = {}
        self.stop_after = max(1, int(stop_after))
        #: requests that failed by transport since the last answer (the outage counter)
        self.failed_in_a_row = 0
        self._probe: asyncio.Future[None] | None = None
        self._stopped: ServiceUnreachable | None = None

    def key(self, request: ChatRequest) -> str:
        return request_key(
            backend=self.backend.name,
            model=self.backend.model,
            prompt_version=self.prompt_version,
            prompt_digest=self.prompt_digest,
            params=self._params,
            request=request,
        )

    async def answer(self, request: ChatRequest) -> Answer:
        """The cached answer, or a fresh one; identical requests in flight are sent once."""
        key = self.key(request)
        stage = self.usage.stage(request.stage)
        cached = self.cache.get(key)
        if cached is not None:
            stage.cache_hits += 1
            return Answer(completion=cached, from_cache=True)
        pending = self._inflight.get(key)
        if pending is not None:  # a duplicate caption: wait for the first request's answer
            stage.cache_hits += 1
            answer = await asyncio.shield(pending)
            return Answer(answer.completion, answer.reason, answer.detail, from_cache=answer.completion is not None)
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            answer = await self._send(key, request)
            future.set_result(answer)
            return answer
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        finally:
            del self._inflight[key]

    async def _send(self, key: str, request: ChatRequest) -> Answer:
        await self._probe_once()
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.concurrency)
        stage = self.usage.stage(request.stage)
        estimate = request.prompt_chars() // 4 + EXPECTED_OUTPUT_TOKENS
        last: BackendError | None = None
        attempts = 0
        async with self._semaphore:
            for attempt in range(1, self.retry.max_attempts + 1):
                if self._stopped is not None:  # another request already stopped the run
                    raise self._stopped
                attempts = attempt
                await self.limiter.acquire(estimate)
                try:
                    completion = await _with_deadline(self.backend.complete(request, self.timeout), self.timeout + 5.0)
                except asyncio.TimeoutError:
                    last = TransientError("llm_timeout", f"no answer within {self.timeout:g} s")
                except PermanentError as exc:
                    self.failed_in_a_row = 0  # the server answered
                    stage.failures += 1
                    return Answer(None, exc.code, self.backend.redact(str(exc)), attempts=attempt)
                except TransientError as exc:
                    last = exc
                else:
                    self.failed_in_a_row = 0
                    self.limiter.settle(estimate, completion.tokens_in + completion.tokens_out)
                    # Commit before use: a kill after this line never pays for this answer twice.
                    self.cache.put(
                        key, stage=request.stage, backend=self.backend.name, model=self.backend.model,
                        prompt_version=self.prompt_version, completion=completion,
                    )
                    stage.requests += 1
                    stage.tokens_in += completion.tokens_in
                    stage.tokens_out += completion.tokens_out
                    return Answer(completion, attempts=attempt)
                if attempt < self.retry.max_attempts and not self.failed_in_a_row:
                    stage.retries += 1
                    delay = self.retry.delay(attempt, last.retry_after, self._rng)
                    log.debug("%s attempt %d failed (%s); retrying in %.2f s", request.stage, attempt, last.code, delay)
                    await asyncio.sleep(delay)
                else:  # the budget is spent, or the server is already failing other requests
                    break
        stage.failures += 1
        assert last is not None
        self.failed_in_a_row += 1
        detail = self.backend.redact(f"{self.server()}: gave up after {attempts} attempts; last error {last.code}: {last}")
        if self.failed_in_a_row >= self.stop_after:
            self._stopped = ServiceUnreachable(
                f"the LLM server {self.server()} is unreachable: {self.failed_in_a_row} requests in a row failed "
                f"after every retry (last error {last.code}: {self.backend.redact(str(last))}); finished shards and "
                "answered requests are kept: rerun the same command when the server is back"
            )
            raise self._stopped
        raise RequestOwed(detail)

    def server(self) -> str:
        """The server's address for messages (never with credentials)."""
        return self.backend.redact(self.backend.server())

    async def _probe_once(self) -> None:
        """Before the first request this process sends: one probe; an unreachable server stops the run."""
        if self._probe is None:
            self._probe = asyncio.ensure_future(self._run_probe())
        await asyncio.shield(self._probe)

    async def _run_probe(self) -> None:
        try:
            await _with_deadline(self.backend.probe(self.timeout), self.timeout + 5.0)
        except asyncio.TimeoutError:
            problem = f"no answer within {self.timeout:g} s"
        except TransientError as exc:
            problem = f"{exc.code}: {exc}"
        else:
            return
        raise ServiceUnreachable(
            f"the LLM server {self.server()} is unreachable ({self.backend.redact(problem)}); nothing was sent: "
            "start it (or fix --base-url) and rerun the same command"
        )

    def describe(self) -> dict[str, Any]:
        return {
            "concurrency": self.concurrency,
            "rpm": self.limiter.rpm,
            "tpm": self.limiter.tpm,
            "timeout_s": self.timeout,
            "max_attempts": self.retry.max_attempts,
        }


async def _with_deadline(coroutine: Any, seconds: float) -> Any:
    """A hard deadline on top of the client's own timeouts (a server may drip bytes forever).

    ``asyncio.timeout`` (3.11+) costs no extra task per request, unlike ``wait_for``.
    """
    timeout = getattr(asyncio, "timeout", None)
    if timeout is None:  # Python 3.10
        return await asyncio.wait_for(coroutine, seconds)
    async with timeout(seconds):
        return await coroutine
