"""The LLM flags of ``ccneg-build``: one argparse group, parsed into ``BuildConfig.options``.

Defaults follow the paper where it says something (temperature 0.7, top-p 0.95, top-k 40)
and common provider quotas otherwise. Speed settings (concurrency, rpm, tpm, timeout,
attempts, prices) may change between a run and its resume; the others may not.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, fields
from typing import Any

from ccneg_build.negators.llm.prompts import DEFAULT_PROMPT_VERSION

LLM_BACKENDS = ("openai", "gemini")
FALLBACKS = ("none", "rule")


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
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in options.items() if k in known})

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


def add_llm_arguments(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """Add the ``LLM backends`` flag group (used with ``--backend openai|gemini``)."""
    d = LLMOptions()
    group = parser.add_argument_group(
        "LLM backends (--backend openai | gemini)",
        "Keys come only from the environment: OPENAI_API_KEY, GEMINI_API_KEY or GOOGLE_API_KEY.",
    )
    group.add_argument("--model", default=None,
                       help="model name (default: gpt-4o-mini for openai, gemini-2.5-flash-lite for gemini)")
    group.add_argument("--base-url", default=None,
                       help="OpenAI-compatible server, e.g. http://localhost:8000/v1 (vLLM), "
                            "http://localhost:11434/v1 (Ollama); or a Gemini REST endpoint")
    group.add_argument("--temperature", type=float, default=d.temperature, help="sampling temperature (default: %(default)s, as the paper)")
    group.add_argument("--top-p", type=float, default=d.top_p, help="nucleus sampling (default: %(default)s)")
    group.add_argument("--top-k", type=int, default=d.top_k,
                       help="top-k sampling; sent to Gemini and as an extra field to OpenAI-compatible servers (default: %(default)s; 0 = do not send)")
    group.add_argument("--max-output-tokens", type=int, default=d.max_output_tokens, help="answer length cap (default: %(default)s)")
    group.add_argument("--response-format", default=d.response_format,
                       choices=("auto", "json_schema", "json_object", "text"),
                       help="OpenAI structured output; auto = json_schema on api.openai.com, json_object with --base-url")
    group.add_argument("--prompt-version", default=d.prompt_version, help="prompt templates to use (default: %(default)s)")
    group.add_argument("--concurrency", type=int, default=d.concurrency, help="requests in flight per worker (default: %(default)s)")
    group.add_argument("--rpm", type=float, default=None, help="requests per minute, over all workers (default: no limit; the paper's pacing is 40)")
    group.add_argument("--tpm", type=float, default=None, help="tokens per minute, over all workers (default: no limit)")
    group.add_argument("--timeout", type=float, default=d.timeout, help="seconds per request (default: %(default)s)")
    group.add_argument("--max-attempts", type=int, default=d.max_attempts,
                       help="attempts per request before the row is rejected (default: %(default)s)")
    group.add_argument("--backoff-base", type=float, default=d.backoff_base,
                       help="first retry delay in seconds, doubled per attempt, with jitter; Retry-After wins (default: %(default)s)")
    group.add_argument("--price-in", type=float, default=None, metavar="USD", help="price per million input tokens, for the cost report")
    group.add_argument("--price-out", type=float, default=None, metavar="USD", help="price per million output tokens, for the cost report")
    group.add_argument("--fallback", default=d.fallback, choices=FALLBACKS,
                       help="what to do with a rejected LLM row: keep it rejected (none) or write the rule backend's row (rule)")
    return group


def options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The ``BuildConfig.options`` entries of the LLM flags, validated."""
    values = {f.name: getattr(args, f.name) for f in fields(LLMOptions) if hasattr(args, f.name)}
    if values.get("top_k") == 0:
        values["top_k"] = None
    options = LLMOptions(**values)
    options.validate()
    return options.as_options()
