"""Client-side pacing: requests-per-minute and tokens-per-minute limits, and retry backoff.

Limits are enforced before a request leaves, so a run stays under a provider's quota
instead of learning it from 429s. Each worker process gets its share of the limits.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass


class RateLimiter:
    """Spaces requests evenly (``rpm``) and keeps a token bucket (``tpm``); ``None`` = no limit.

    Even spacing rather than bursts mirrors how providers count and is what the paper did
    (one call every 1.5 s is ``--rpm 40``).
    """

    def __init__(self, rpm: float | None = None, tpm: float | None = None) -> None:
        self.rpm = rpm if rpm and rpm > 0 else None
        self.tpm = tpm if tpm and tpm > 0 else None
        self._next_slot = 0.0
        self._tokens = float(self.tpm or 0.0)
        self._refilled = time.monotonic()
        self._lock = asyncio.Lock() if (self.rpm or self.tpm) else None

    async def acquire(self, tokens: int = 0) -> None:
        """Wait until one request of about ``tokens`` tokens may be sent."""
        if self._lock is None:
            return
        async with self._lock:
            if self.rpm:
                now = time.monotonic()
                wait = self._next_slot - now
                if wait > 0:
                    await asyncio.sleep(wait)
                self._next_slot = max(now, self._next_slot) + 60.0 / self.rpm
            if self.tpm:
                need = min(float(tokens), self.tpm)  # a huge request still goes, alone
                while True:
                    self._refill()
                    if self._tokens >= need:
                        self._tokens -= need
                        break
                    await asyncio.sleep((need - self._tokens) * 60.0 / self.tpm)

    def settle(self, estimated: int, actual: int) -> None:
        """Correct the bucket once the provider reports the real token count."""
        if self.tpm and actual > 0:
            self._refill()
            self._tokens = min(self.tpm, self._tokens + estimated - actual)

    def _refill(self) -> None:
        now = time.monotonic()
        assert self.tpm is not None
        self._tokens = min(self.tpm, self._tokens + (now - self._refilled) * self.tpm / 60.0)
        self._refilled = now


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded attempts, and the server's Retry-After."""

    max_attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 60.0
    max_retry_after: float = 600.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        backoff = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        jittered = backoff * (0.5 + 0.5 * rng.random())
        if retry_after is not None:
            # The server knows best: wait at least what it asked, plus a little jitter so
            # that many waiting requests do not return in one burst.
            return min(self.max_retry_after, retry_after) * (1.0 + 0.1 * rng.random())
        return jittered
