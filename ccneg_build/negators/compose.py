"""From a run's settings to its negator: the registered backend, built and composed.

A registered class (see :mod:`ccneg_build.negators.registry`) is built in one of three ways:
an LLM provider's client class (a subclass of
:class:`~ccneg_build.negators.llm.backend.LLMBackend`) is wrapped in the two-stage LLM
negator by :func:`~ccneg_build.negators.llm.factory.negator_from_config`, so a provider
needs nothing beyond its client module; any other class with a ``from_config(config,
state_dir)`` class method is built by it (``state_dir`` is a folder under the output
folder reserved for that backend, e.g. for a request cache); else ``cls(seed=config.seed)``.
Worker processes and Ray actors rebuild the same negator from the same
:class:`~ccneg_build.config.BuildConfig` through :func:`build_negator`.

``--fallback NAME`` is composition, not a backend feature: :func:`build_negator` wraps the
backend and the named stand-in in a :class:`~ccneg_build.negators.fallback.FallbackNegator`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from ccneg_build.negators.base import BackendError, Negator
from ccneg_build.negators.fallback import FallbackNegator
from ccneg_build.negators.llm.backend import LLMBackend
from ccneg_build.negators.llm.factory import negator_from_config
from ccneg_build.negators.registry import backend_class
from ccneg_build.outdir import STATE_DIR

if TYPE_CHECKING:  # annotations only: the config composes the option groups, which the negators sit below
    from ccneg_build.config import BuildConfig


def state_dir(out: Path, name: str) -> Path:
    """Where backend ``name`` may keep files that survive reruns (request caches)."""
    return Path(out) / STATE_DIR / "cache" / name


def build_negator(config: BuildConfig, name: str | None = None) -> Negator:
    """The negator for ``config``: its backend, composed with ``--fallback`` when one is set.

    With ``name``, just that backend (no composition).
    """
    if name is not None:
        return _build_backend(config, name)
    negator = _build_backend(config, config.backend)
    fallback = config.options.get("fallback") or "none"
    if fallback in ("none", config.backend):
        return negator
    try:
        stand_in = _build_backend(config, fallback)
    except BaseException:
        negator.close()
        raise
    return FallbackNegator(negator, stand_in)


def _build_backend(config: BuildConfig, name: str) -> Negator:
    """Build the one backend registered as ``name``, checked against the Negator protocol."""
    cls = backend_class(name)
    try:
        if isinstance(cls, type) and issubclass(cls, LLMBackend):
            negator = negator_from_config(cls, config, state_dir(config.out, name))
        elif hasattr(cls, "from_config"):
            negator = cls.from_config(config, state_dir(config.out, name))
        else:
            negator = cls(seed=config.seed)
    except BackendError:
        raise
    except Exception as exc:  # model missing, bad option: say which backend and why
        raise BackendError(f"--backend {name}: cannot start ({exc})") from exc
    if not isinstance(negator, Negator):
        missing = [m for m in ("backend", "negate_batch", "take_stats", "describe", "close") if not hasattr(negator, m)]
        raise BackendError(f"--backend {name}: {cls.__name__} does not implement the Negator interface "
                           f"(missing: {', '.join(missing)})")
    return negator
