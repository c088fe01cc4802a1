"""Build an :class:`LLMNegator` from a run's configuration and output folder.

Adding a provider: write ``<name>_backend.py`` with an :class:`LLMBackend` subclass and add
one line to :data:`BACKENDS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ccneg_build.negators.base import Negator
from ccneg_build.negators.llm.accounting import Usage
from ccneg_build.negators.llm.backend import LLMBackend
from ccneg_build.negators.llm.cache import CACHE_FILENAME, RequestCache
from ccneg_build.negators.llm.engine import RequestEngine
from ccneg_build.negators.llm.negator import LLMNegator
from ccneg_build.negators.llm.options import LLMOptions
from ccneg_build.negators.llm.pacing import RateLimiter, RetryPolicy
from ccneg_build.negators.llm.prompts import load_prompts

if TYPE_CHECKING:
    from ccneg_build.config import BuildConfig

def _openai(options: LLMOptions, params: dict[str, Any]) -> LLMBackend:
    from ccneg_build.negators.llm.openai_backend import OpenAIBackend

    return OpenAIBackend(options.model, params, base_url=options.base_url,
                         response_format=options.response_format, timeout=options.timeout)


def _gemini(options: LLMOptions, params: dict[str, Any]) -> LLMBackend:
    from ccneg_build.negators.llm.gemini_backend import GeminiBackend

    return GeminiBackend(options.model, params, base_url=options.base_url, timeout=options.timeout)


#: ``--backend`` name -> constructor of its client.
BACKENDS: dict[str, Callable[[LLMOptions, dict[str, Any]], LLMBackend]] = {
    "openai": _openai,
    "gemini": _gemini,
}


def generation_params(options: LLMOptions, seed: int) -> dict[str, Any]:
    """The sampling settings sent with every request (and hashed into the cache key)."""
    return {
        "temperature": options.temperature,
        "top_p": options.top_p,
        "top_k": options.top_k,
        "max_output_tokens": options.max_output_tokens,
        "seed": seed,
    }


def create_llm_negator(
    name: str,
    options: dict[str, Any],
    state_dir: str | Path,
    *,
    seed: int = 0,
    workers: int = 1,
    fallback: Callable[[], Negator] | None = None,
    negator_class: type[LLMNegator] = LLMNegator,
    progress: bool = False,
) -> LLMNegator:
    """An LLM negator for backend ``name``; ``rpm``/``tpm`` are shared out among ``workers``.

    The request cache is ``state_dir/llm-requests.sqlite`` (a folder inside the output
    folder, so a resumed run finds it). ``fallback`` builds the negator used for rejected
    rows when ``--fallback rule`` is set.
    """
    if name not in BACKENDS:
        raise ValueError(f"unknown LLM backend {name!r}; choose one of {', '.join(BACKENDS)}")
    opts = LLMOptions.from_options(options)
    opts.validate()
    prompts = load_prompts(opts.prompt_version)
    backend = BACKENDS[name](opts, generation_params(opts, seed))
    share = max(1, workers)
    engine = RequestEngine(
        backend,
        RequestCache(Path(state_dir) / CACHE_FILENAME),
        prompt_version=prompts.version,
        prompt_digest=prompts.digest,
        concurrency=opts.concurrency,
        limiter=RateLimiter(rpm=opts.rpm / share if opts.rpm else None, tpm=opts.tpm / share if opts.tpm else None),
        retry=RetryPolicy(max_attempts=opts.max_attempts, base_delay=opts.backoff_base),
        timeout=opts.timeout,
        usage=Usage(price_in=opts.price_in, price_out=opts.price_out),
    )
    fallback_negator = fallback() if (opts.fallback == "rule" and fallback is not None) else None
    if opts.fallback == "rule" and fallback_negator is None:
        raise ValueError("--fallback rule needs the rule backend, which is not available")
    return negator_class(engine, prompts, seed=seed, fallback=fallback_negator, progress=progress)


def _from_config(name: str, cls: type[LLMNegator], config: "BuildConfig", state_dir: Path) -> LLMNegator:
    def rule_fallback() -> Negator:
        from ccneg_build.negators.registry import build_negator

        return build_negator(config, "rule")

    return create_llm_negator(
        name, config.options, state_dir, seed=config.seed, workers=config.workers,
        fallback=rule_fallback, negator_class=cls,
        # a live per-row bar under the run's shard bar; worker processes would draw over each other
        progress=config.progress and config.workers == 1,
    )


class OpenAINegator(LLMNegator):
    """``--backend openai``: the two-stage method through the ``openai`` client."""

    @classmethod
    def from_config(cls, config: "BuildConfig", state_dir: Path) -> LLMNegator:
        return _from_config("openai", cls, config, state_dir)


class GeminiNegator(LLMNegator):
    """``--backend gemini``: the two-stage method through the ``google-genai`` client."""

    @classmethod
    def from_config(cls, config: "BuildConfig", state_dir: Path) -> LLMNegator:
        return _from_config("gemini", cls, config, state_dir)
