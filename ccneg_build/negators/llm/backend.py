"""The one interface every LLM backend implements, and the errors it may raise.

A backend turns one :class:`ChatRequest` into one :class:`Completion` and nothing more:
retries, rate limits, caching, concurrency and accounting live in the engine, so that a
new provider is one small file (see ``openai_backend.py`` and ``gemini_backend.py``).
"""

from __future__ import annotations

import abc
from typing import Any

from ccneg_build.negators.base import BackendError as RunStoppingError
from ccneg_build.negators.llm.messages import ChatRequest, Completion
from ccneg_build.options.llm import LLMOptions


class BackendError(Exception):
    """A request failed; ``code`` is a short machine-readable reason."""

    code = "llm_error"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransientError(BackendError):
    """Worth retrying: 429, 5xx, timeouts, dropped connections."""

    def __init__(self, code: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, retry_after=retry_after)
        self.code = code


class PermanentError(BackendError):
    """Retrying cannot help for this request (e.g. 400 for this prompt): reject the row."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class FatalBackendError(RunStoppingError):
    """Retrying cannot help for any request (missing or refused key, unknown model): stop the run.

    A subclass of :class:`ccneg_build.negators.base.BackendError` so that ``ccneg-build`` prints it as one
    line and exits with code 2, and the runner lets it stop the run instead of rejecting
    every row of the batch.
    """


class LLMBackend(abc.ABC):
    """A provider client. Subclasses set ``name`` and implement :meth:`complete`.

    The class itself is what the registry names (``"name": "module:Class"``):
    :mod:`ccneg_build.negators.compose` wraps a client made by :meth:`from_options` in the
    two-stage LLM negator.
    """

    name: str = "llm"

    def __init__(self, model: str, params: dict[str, Any]) -> None:
        self.model = model
        self.params = dict(params)
        self._secrets: tuple[str, ...] = ()

    @classmethod
    def from_options(cls, options: LLMOptions, params: dict[str, Any]) -> "LLMBackend":
        """The client for a run's LLM flags. Override when the constructor takes other flags."""
        return cls(options.model, params, base_url=options.base_url, timeout=options.timeout)  # type: ignore[call-arg]

    def redact(self, text: str) -> str:
        """``text`` with every credential this backend holds replaced by ``***``.

        Provider error messages sometimes quote the key back; every detail that reaches a
        log, a rejected row or the manifest passes through here first.
        """
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    def generation_params(self) -> dict[str, Any]:
        """Everything besides the prompt that shapes the answer: part of the cache key."""
        return dict(sorted(self.params.items()))

    def describe(self) -> dict[str, Any]:
        """Settings for the manifest. Never includes keys or tokens."""
        return {"backend": self.name, "model": self.model, "params": self.generation_params()}

    @abc.abstractmethod
    async def complete(self, request: ChatRequest, timeout: float) -> Completion:
        """Send one request; raise :class:`TransientError` / :class:`PermanentError` on failure."""

    def server(self) -> str:
        """Where requests go, for error messages: the base URL or the provider's API."""
        return getattr(self, "base_url", None) or f"the {self.name} API"

    async def probe(self, timeout: float) -> None:
        """One cheap request that shows the server answers at all.

        Raise :class:`TransientError` only when it cannot be reached (refused connection,
        DNS, timeout); any HTTP answer, even an error status, means it is there.
        """

    async def aclose(self) -> None:
        """Release the HTTP client."""


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    if headers is None:
        return None
    try:
        millis = headers.get("retry-after-ms")
        if millis is not None:
            return max(0.0, float(millis) / 1000.0)
        value = headers.get("retry-after")
    except Exception:  # noqa: BLE001 - foreign header containers; a hint is optional
        return None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime
    import datetime as _dt

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)
    return max(0.0, (when - _dt.datetime.now(_dt.timezone.utc)).total_seconds())
