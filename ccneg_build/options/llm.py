"""The LLM flags of ``ccneg-build``: one argparse group, parsed into ``BuildConfig.options``.

Defaults follow the paper where it says something (temperature 0.7, top-p 0.95, top-k 40)
and common provider quotas otherwise. Speed settings (concurrency, rpm, tpm, timeout,
attempts, prices) may change between a run and its resume; the others may not.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


#: ``--response-format`` values: a JSON schema (OpenAI, vLLM, Ollama), JSON mode, JSON mode with the
#: schema attached (llama.cpp's server turns it into a grammar), or free text.
RESPONSE_FORMATS = ("auto", "json_schema", "json_object", "json_object_schema", "text")

FALLBACKS = ("none", "rule")

#: Settings that change speed or accounting, not answers: a resumed run may change them.
SPEED_OPTIONS = ("concurrency", "rpm", "tpm", "timeout", "max_attempts", "backoff_base", "price_in", "price_out")

#: The prompt set used unless ``--prompt-version`` names another (``prompts/<version>/``).
DEFAULT_PROMPT_VERSION = "v1"


@dataclass(frozen=True)
class LLMOptions:
    """Every LLM setting with its default; stored flat in ``BuildConfig.options``."""

    model: str | None = None
    base_url: str | None = None
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int | None = 40
    max_output_tokens: int = 512
    response_format: str = "auto"
    prompt_version: str = DEFAULT_PROMPT_VERSION
    concurrency: int = 16
    rpm: float | None = None
    tpm: float | None = None
    timeout: float = 60.0
    max_attempts: int = 6
    backoff_base: float = 1.0
    price_in: float | None = None
    price_out: float | None = None
    fallback: str = "none"

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> "LLMOptions":
        """Known keys of ``options`` that are set; the rest keep their defaults."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in options.items() if k in known and v is not None}
        if values.get("top_k") == 0:
            values["top_k"] = None
        return cls(**values)

    def as_options(self) -> dict[str, Any]:
        return asdict(self)

    def validate(self) -> None:
        """One-line errors naming the flag, before any request is sent."""
        problems = []
        if self.concurrency < 1:
            problems.append("--concurrency must be at least 1")
        if self.max_attempts < 1:
            problems.append("--max-attempts must be at least 1")
        if self.timeout <= 0:
            problems.append("--timeout must be positive")
        for name in ("rpm", "tpm", "price_in", "price_out"):
            value = getattr(self, name)
            if value is not None and value < 0:
                problems.append(f"--{name.replace('_', '-')} must not be negative")
        if not 0 <= self.temperature <= 2:
            problems.append("--temperature must be between 0 and 2")
        if self.fallback not in FALLBACKS:
            problems.append(f"--fallback must be one of {', '.join(FALLBACKS)}")
        if problems:
            raise ValueError("; ".join(problems))


def llm_flags() -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """The LLM flags as (flags, argparse keyword arguments) for ``ccneg-build``'s backend group.

    Defaults are ``None`` here (so a rule run records no LLM settings) and filled in by
    :class:`LLMOptions`; the help text names each default.
    """
    d = LLMOptions()

    def flag(name: str, help_text: str, **kwargs: Any) -> tuple[tuple[str, ...], dict[str, Any]]:
        dest = name.lstrip("-").replace("-", "_")
        return (name,), dict(dest=dest, default=None, help=help_text, **kwargs)

    return [
        flag("--model", "LLM backends: model name (default: gpt-4o-mini for openai, gemini-2.5-flash-lite for gemini)"),
        flag("--base-url", "LLM backends: server URL, e.g. http://localhost:8000/v1 (vLLM), "
             "http://localhost:11434/v1 (Ollama), http://localhost:8080/v1 (llama.cpp); "
             "the key comes from OPENAI_API_KEY / GEMINI_API_KEY / GOOGLE_API_KEY only"),
        flag("--temperature", f"LLM sampling temperature (default: {d.temperature}, the paper's)", type=float),
        flag("--top-p", f"LLM nucleus sampling (default: {d.top_p})", type=float),
        flag("--top-k", f"LLM top-k; sent to Gemini and as an extra field to OpenAI-compatible servers "
             f"(default: {d.top_k}; 0 = do not send)", type=int),
        flag("--max-output-tokens", f"LLM answer length cap (default: {d.max_output_tokens})", type=int),
        flag("--response-format", "openai structured output (default: auto = json_schema on api.openai.com, "
             "json_object with --base-url; json_object_schema for llama.cpp's server)", choices=RESPONSE_FORMATS),
        flag("--prompt-version", f"prompt templates (default: {d.prompt_version})"),
        flag("--concurrency", f"LLM requests in flight per worker (default: {d.concurrency})", type=int),
        flag("--rpm", "LLM requests per minute over all workers (default: no limit; the paper's pacing is 40)",
             type=float),
        flag("--tpm", "LLM tokens per minute over all workers (default: no limit)", type=float),
        flag("--timeout", f"seconds per LLM request (default: {d.timeout:g})", type=float),
        flag("--max-attempts", f"attempts per LLM request before the row is rejected (default: {d.max_attempts})",
             type=int),
        flag("--backoff-base", f"first LLM retry delay in seconds, doubled per attempt with jitter; "
             f"a server's Retry-After wins (default: {d.backoff_base:g})", type=float),
        flag("--price-in", "USD per million input tokens, for the cost report", type=float, metavar="USD"),
        flag("--price-out", "USD per million output tokens, for the cost report", type=float, metavar="USD"),
        flag("--fallback", "rejected LLM rows: keep them rejected (none, default) or write the rule "
             "backend's row instead (rule)", choices=FALLBACKS),
    ]
