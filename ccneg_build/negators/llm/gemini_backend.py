"""``--backend gemini``: Google's ``google-genai`` client (the successor of the PaLM API the paper used).

The key comes only from ``GEMINI_API_KEY`` or ``GOOGLE_API_KEY``. The SDK's own retries are
switched off (one attempt): the engine retries, so attempts are bounded and counted once.
``--base-url`` reaches a proxy or a local server speaking the same REST shape.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from typing import Any

from ccneg_build.negators.llm.messages import ChatRequest, Completion
from ccneg_build.negators.llm.backend import (
    FatalBackendError,
    LLMBackend,
    PermanentError,
    TransientError,
    parse_retry_after,
)

DEFAULT_MODEL = "gemini-2.5-flash-lite"
API_KEY_ENVS = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
_DELAY = re.compile(r"^\s*([0-9.]+)s\s*$")


class GeminiBackend(LLMBackend):
    """``generate_content`` through ``google.genai.Client(...).aio`` with JSON output."""

    name = "gemini"

    def __init__(self, model: str | None, params: dict[str, Any], *, base_url: str | None = None,
                 timeout: float = 60.0) -> None:
        super().__init__(model or DEFAULT_MODEL, params)
        try:
            from google import genai
            from google.genai import errors, types
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise FatalBackendError(
                "--backend gemini needs the google-genai package: pip install 'ccneg[llm]'"
            ) from exc
        key = next((os.environ[name] for name in API_KEY_ENVS if os.environ.get(name)), None)
        if not key:
            raise FatalBackendError(
                f"--backend gemini needs an API key: export {API_KEY_ENVS[0]}=... (or {API_KEY_ENVS[1]})"
            )
        self._secrets = (key,)
        self._types, self._errors = types, errors
        self.base_url = base_url
        http_options = types.HttpOptions(
            base_url=base_url,
            api_version="v1beta",  # JSON-schema output and system instructions live here
            timeout=int(timeout * 1000),
            retry_options=types.HttpRetryOptions(attempts=1),
        )
        self._client = genai.Client(api_key=key, http_options=http_options)

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["base_url"] = self.base_url
        return info

    def _config(self, request: ChatRequest) -> Any:
        params = {name: value for name, value in self.params.items() if value is not None}
        return self._types.GenerateContentConfig(
            system_instruction=request.system,
            response_mime_type="application/json",
            response_json_schema=request.schema or None,
            **params,
        )

    def _contents(self, request: ChatRequest) -> list[Any]:
        types = self._types
        return [
            types.Content(role="model" if role == "assistant" else "user", parts=[types.Part(text=text)])
            for role, text in request.turns
        ]

    async def complete(self, request: ChatRequest, timeout: float) -> Completion:
        errors = self._errors
        try:
            response = await self._client.aio.models.generate_content(
                model=self.model, contents=self._contents(request), config=self._config(request)
            )
        except errors.APIError as exc:
            raise _status_error(exc) from exc
        except (asyncio.TimeoutError, TimeoutError) as exc:
            raise TransientError("llm_timeout", f"no answer within {timeout:g} s") from exc
        except ValueError as exc:  # an unparsable body (e.g. truncated JSON)
            raise TransientError("llm_bad_http_body", f"unreadable response body: {type(exc).__name__}") from exc
        except Exception as exc:  # noqa: BLE001 - aiohttp / httpx transport errors differ by install
            if _is_transport_error(exc):
                raise TransientError("llm_connection", f"connection failed: {type(exc).__name__}") from exc
            raise
        try:
            text = response.text
        except Exception:  # noqa: BLE001 - the SDK raises on odd candidate shapes
            text = None
        usage = getattr(response, "usage_metadata", None)
        return Completion(
            text=text or "",
            tokens_in=int(getattr(usage, "prompt_token_count", 0) or 0),
            tokens_out=int(getattr(usage, "candidates_token_count", 0) or 0),
        )

    async def probe(self, timeout: float) -> None:
        """``models.get`` of the configured model; any HTTP answer means the server is there."""
        try:
            await self._client.aio.models.get(model=self.model)
        except self._errors.APIError:
            return
        except (asyncio.TimeoutError, TimeoutError) as exc:
            raise TransientError("llm_timeout", f"no answer within {timeout:g} s") from exc
        except Exception as exc:  # noqa: BLE001 - transports differ by install
            if _is_transport_error(exc) and not isinstance(exc, ValueError):
                raise TransientError("llm_connection", f"connection failed: {type(exc).__name__}") from exc
            return  # an answer the SDK could not read: still an answer

    async def aclose(self) -> None:
        try:
            await self._client.aio.aclose()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass


def _is_transport_error(exc: Exception) -> bool:
    # The SDK's transport differs by install (aiohttp, httpx, or its fork httpx2/httpcore2).
    names = {cls.__module__.split(".")[0] for cls in type(exc).__mro__}
    transports = ("aiohttp", "httpx", "httpcore", "h11")
    return any(name.startswith(transports) for name in names) or isinstance(exc, (ConnectionError, OSError))


def _retry_delay(exc: Any) -> float | None:
    """Retry-After header, else the ``RetryInfo.retryDelay`` ("30s") Google puts in error details."""
    delay = parse_retry_after(getattr(getattr(exc, "response", None), "headers", None))
    if delay is not None:
        return delay
    details = getattr(exc, "details", None)
    try:
        items = details.get("error", {}).get("details", []) if isinstance(details, dict) else []
        for item in items:
            match = _DELAY.match(str(item.get("retryDelay", "")))
            if match:
                return float(match.group(1))
    except (AttributeError, TypeError, ValueError):
        return None
    return None


def _status_error(exc: Any) -> Exception:
    status = int(getattr(exc, "code", 0) or 0)
    if status in (401, 403):
        return FatalBackendError(f"the server refused the API key (HTTP {status}); check {API_KEY_ENVS[0]}")
    if status == 404:
        return FatalBackendError("HTTP 404: unknown --model or wrong --base-url")
    if status == 429:
        return TransientError("llm_rate_limited", "HTTP 429 rate limited", retry_after=_retry_delay(exc))
    if status >= 500 or status in (408, 409):
        return TransientError("llm_server_error", f"HTTP {status}", retry_after=_retry_delay(exc))
    message = " ".join(str(getattr(exc, "message", "") or "").split())[:200]
    return PermanentError("llm_request_refused", f"HTTP {status}: {message or json.dumps(getattr(exc, 'status', ''))}")
