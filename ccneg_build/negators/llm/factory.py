"""Build an :class:`LLMNegator` around a provider's client: options, cache, pacing, prompts.

The registry (:mod:`ccneg_build.negators.registry`) names each provider's client class;
:mod:`ccneg_build.negators.compose` calls :func:`negator_from_config` with it, so a provider
is its client module plus its registry line and nothing here changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ccneg_build.negators.llm.accounting import Usage
from ccneg_build.negators.llm.backend import LLMBackend
from ccneg_build.negators.llm.cache import CACHE_FILENAME, RequestCache
from ccneg_build.negators.llm.engine import RequestEngine
from ccneg_build.negators.llm.negator import LLMNegator
from ccneg_build.options.llm import LLMOptions
from ccneg_build.negators.llm.pacing import RateLimiter, RetryPolicy
from ccneg_build.negators.llm.prompts import load_prompts
from ccneg_build.negators.registry import backend_class

if TYPE_CHECKING:
    from ccneg_build.config import BuildConfig


def generation_params(options: LLMOptions, seed: int) -> dict[str, Any]:
    """The sampling settings sent with every request (and hashed into the cache key)."""
    return {
        "temperature": options.temperature,
        "top_p": options.top_p,
        "top_k": options.top_k,
        "max_output_tokens": options.max_output_tokens,
        "seed": seed,
    }


def llm_backend_class(name: str) -> type[LLMBackend]:
    """The client class registered as ``name``; a ``ValueError`` unless it is an LLM provider."""
    cls = backend_class(name)  # BackendError for a name nobody registered
    if not (isinstance(cls, type) and issubclass(cls, LLMBackend)):
        raise ValueError(f"backend {name!r} is not an LLM provider (its class is not an LLMBackend)")
    return cls


def create_llm_negator(
    name: str | type[LLMBackend],
    options: dict[str, Any],
    state_dir: str | Path,
    *,
    seed: int = 0,
    workers: int = 1,
    progress: bool = False,
) -> LLMNegator:
    """An LLM negator for provider ``name`` (a registry name or the client class itself);
    ``rpm``/``tpm`` are shared out among ``workers``.

    The request cache is ``state_dir/llm-requests.sqlite`` (a folder inside the output
    folder, so a resumed run finds it). ``--fallback`` is not handled here: the registry
    composes it around this negator.
    """
    backend_cls = llm_backend_class(name) if isinstance(name, str) else name
    opts = LLMOptions.from_options(options)
    opts.validate()
    prompts = load_prompts(opts.prompt_version)
    backend = backend_cls.from_options(opts, generation_params(opts, seed))
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
    return LLMNegator(engine, prompts, seed=seed, progress=progress)


def negator_from_config(backend: type[LLMBackend], config: "BuildConfig", state_dir: Path) -> LLMNegator:
    """``create_llm_negator`` with a build's settings (what the registry calls)."""
    return create_llm_negator(
        backend, config.options, state_dir, seed=config.seed, workers=config.workers,
        # a live per-row bar under the run's shard bar; worker processes would draw over each other
        progress=config.progress and config.workers == 1,
    )
