"""``--backend openai``: the official ``openai`` client, for OpenAI and any compatible server.

``--base-url`` points it at vLLM, llama.cpp, Ollama, LM Studio, ... The key comes only from
``OPENAI_API_KEY`` (a local server that needs none gets a placeholder). The SDK's own
retries are switched off: the engine retries, so attempts are bounded and counted once.
"""

from __future__ import annotations

import os
from typing import Any

from ccneg_build.options.llm import RESPONSE_FORMATS
from ccneg_build.negators.llm.messages import ChatRequest, Completion
from ccneg_build.negators.llm.backend import (
    FatalBackendError,
    LLMBackend,
    PermanentError,
    TransientError,
    parse_retry_after,
)

DEFAULT_MODEL = "gpt-4o-mini"
API_KEY_ENV = "OPENAI_API_KEY"


class OpenAIBackend(LLMBackend):
    """Chat completions through ``openai.AsyncOpenAI``."""

    name = "openai"

    @classmethod
    def from_options(cls, options: Any, params: dict[str, Any]) -> "OpenAIBackend":
        """The client for a run's flags, including ``--response-format``."""
        return cls(options.model, params, base_url=options.base_url, response_format=options.response_format,
                   timeout=options.timeout)

    def __init__(self, model: str | None, params: dict[str, Any], *, base_url: str | None = None,
                 response_format: str = "auto", timeout: float = 60.0) -> None:
        super().__init__(model or DEFAULT_MODEL, params)
        try:
            import openai
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise FatalBackendError(
                "--backend openai needs the openai package: pip install 'ccneg[llm]'"
            ) from exc
        self._openai = openai
        key = os.environ.get(API_KEY_ENV)
        if not key:
            if base_url is None:
                raise FatalBackendError(
                    f"--backend openai needs an API key: export {API_KEY_ENV}=... "
                    "(or give --base-url for a local server that needs none)"
                )
            key = "not-needed"  # local OpenAI-compatible servers ignore the key
        else:
            self._secrets = (key,)
        if response_format == "auto":
            # Hosted OpenAI enforces JSON schemas; compatible servers vary, JSON mode is universal.
            response_format = "json_schema" if base_url is None else "json_object"
        if response_format not in RESPONSE_FORMATS:
            raise FatalBackendError(f"--response-format must be one of {', '.join(RESPONSE_FORMATS)}")
        self.response_format = response_format
        self.base_url = base_url
        self._client = openai.AsyncOpenAI(api_key=key, base_url=base_url, max_retries=0, timeout=timeout)

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["base_url"] = self.base_url
        info["response_format"] = self.response_format
        return info

    def generation_params(self) -> dict[str, Any]:
        params = super().generation_params()
        params["response_format"] = self.response_format
        return params

    def _format(self, request: ChatRequest) -> dict[str, Any] | None:
        if self.response_format == "json_schema":
            return {
                "type": "json_schema",
                "json_schema": {"name": request.schema_name, "schema": request.schema},
            }
        if self.response_format == "json_object":
            return {"type": "json_object"}
        if self.response_format == "json_object_schema":
            return {"type": "json_object", "schema": request.schema}
        return None

    def _body(self, request: ChatRequest) -> dict[str, Any]:
        """The chat-completions JSON body, built as plain data.

        It goes out through the client's public ``post`` (same HTTP stack, auth and errors
        as ``chat.completions.create``) and comes back as plain JSON, because the typed
        ``create`` walks every few-shot turn through the SDK's parameter transformer and
        builds response models: on a 2-core machine that cost more CPU than everything
        else in the pipeline together. We read two fields of the answer; a dict does.
        """
        messages = [{"role": "system", "content": request.system}]
        messages += [{"role": role, "content": text} for role, text in request.turns]
        body: dict[str, Any] = {"model": self.model, "messages": messages}
        for name, value in self.params.items():
            if value is None or (name == "top_k" and self.base_url is None):
                continue  # top_k is not in OpenAI's API (it returns 400); vLLM and llama.cpp read it
            body["max_tokens" if name == "max_output_tokens" else name] = value
        fmt = self._format(request)
        if fmt is not None:
            body["response_format"] = fmt
        return body

    async def complete(self, request: ChatRequest, timeout: float) -> Completion:
        openai = self._openai
        try:
            response = await self._client.post(
                "/chat/completions", cast_to=dict, body=self._body(request), options={"timeout": timeout},
            )
        except openai.APITimeoutError as exc:
            raise TransientError("llm_timeout", f"no answer within {timeout:g} s") from exc
        except openai.APIConnectionError as exc:
            raise TransientError("llm_connection", f"connection failed: {type(exc.__cause__ or exc).__name__}") from exc
        except openai.APIStatusError as exc:
            raise _status_error(exc) from exc
        except ValueError as exc:  # an unparsable body (e.g. truncated JSON) surfaces here
            raise TransientError("llm_bad_http_body", f"unreadable response body: {type(exc).__name__}") from exc
        return _completion(response)

    async def probe(self, timeout: float) -> None:
        """``GET /models``: free on every OpenAI-compatible server; any HTTP answer will do."""
        openai = self._openai
        try:
            await self._client.get("/models", cast_to=object, options={"timeout": timeout})
        except openai.APITimeoutError as exc:
            raise TransientError("llm_timeout", f"no answer within {timeout:g} s") from exc
        except openai.APIConnectionError as exc:
            raise TransientError("llm_connection", f"connection failed: {type(exc.__cause__ or exc).__name__}") from exc
        except (openai.APIStatusError, ValueError):
            return  # the server answered (an unknown path or a bad key shows up on the first request)

    async def aclose(self) -> None:
        await self._client.close()


def _completion(response: Any) -> Completion:
    """Text and token counts of a chat-completions JSON answer; odd shapes are retried."""
    try:
        choice = response["choices"][0]
        text = (choice.get("message") or {}).get("content")
        usage = response.get("usage") or {}
        return Completion(
            text=text if isinstance(text, str) else "",
            tokens_in=int(usage.get("prompt_tokens") or 0),
            tokens_out=int(usage.get("completion_tokens") or 0),
        )
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
        raise TransientError("llm_bad_http_body", f"unexpected response shape ({type(exc).__name__})") from exc


def _status_error(exc: Any) -> Exception:
    """Map an HTTP error status to retry / reject-the-row / stop-the-run."""
    status = int(getattr(exc, "status_code", 0) or 0)
    retry_after = parse_retry_after(getattr(getattr(exc, "response", None), "headers", None))
    if status in (401, 403):
        return FatalBackendError(f"the server refused the API key (HTTP {status}); check {API_KEY_ENV}")
    if status == 404:
        return FatalBackendError("HTTP 404: unknown model or wrong --base-url (it usually ends in /v1)")
    if status == 429:
        return TransientError("llm_rate_limited", "HTTP 429 rate limited", retry_after=retry_after)
    if status >= 500 or status in (408, 409):
        return TransientError("llm_server_error", f"HTTP {status}", retry_after=retry_after)
    return PermanentError("llm_request_refused", f"HTTP {status}: {_short(exc)}")


def _short(exc: Any) -> str:
    text = str(getattr(exc, "message", "") or exc)
    return " ".join(text.split())[:200]
