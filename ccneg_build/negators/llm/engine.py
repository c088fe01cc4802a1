"""The request engine: cache first, then bounded concurrency, pacing, timeout and retries.

One :meth:`RequestEngine.answer` call turns a :class:`ChatRequest` into an :class:`Answer`
and never raises for a bad request: after the last attempt it reports a reason code
instead, so one bad row never stops a run. Only :class:`FatalBackendError` (a refused key,
an unknown model) propagates, because then every request would fail the same way.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import Any

from ccneg_build.negators.llm.accounting import Usage
from ccneg_build.negators.llm.backend import (
    BackendError,
    ChatRequest,
    Completion,
    LLMBackend,
    PermanentError,
    TransientError,
)
from ccneg_build.negators.llm.cache import RequestCache, request_key
from ccneg_build.negators.llm.pacing import RateLimiter, RetryPolicy

log = logging.getLogger(__name__)

RETRIES_EXHAUSTED = "llm_retries_exhausted"
REQUEST_REFUSED = "llm_request_refused"
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
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.concurrency)
        stage = self.usage.stage(request.stage)
        estimate = request.prompt_chars() // 4 + EXPECTED_OUTPUT_TOKENS
        last: BackendError | None = None
        async with self._semaphore:
            for attempt in range(1, self.retry.max_attempts + 1):
                await self.limiter.acquire(estimate)
                try:
                    completion = await _with_deadline(self.backend.complete(request, self.timeout), self.timeout + 5.0)
                except asyncio.TimeoutError:
                    last = TransientError("llm_timeout", f"no answer within {self.timeout:g} s")
                except PermanentError as exc:
                    stage.failures += 1
                    return Answer(None, exc.code, self.backend.redact(str(exc)), attempts=attempt)
                except TransientError as exc:
                    last = exc
                else:
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
                if attempt < self.retry.max_attempts:
                    stage.retries += 1
                    delay = self.retry.delay(attempt, last.retry_after, self._rng)
                    log.debug("%s attempt %d failed (%s); retrying in %.2f s", request.stage, attempt, last.code, delay)
                    await asyncio.sleep(delay)
        stage.failures += 1
        assert last is not None
        detail = f"gave up after {self.retry.max_attempts} attempts; last error {last.code}: {last}"
        return Answer(None, RETRIES_EXHAUSTED, self.backend.redact(detail), attempts=self.retry.max_attempts)

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
