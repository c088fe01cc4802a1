"""The one place that turns a backend name into a negator: ``--backend NAME`` -> object.

Adding a backend is one module plus one line in :data:`BACKENDS` (or a call to
:func:`register` from a plugin). Backends are imported lazily (by dotted path) so that
choosing ``rule`` never imports an LLM SDK and vice versa, and so worker processes and Ray
tasks can rebuild the same negator from the same :class:`~ccneg_build.config.BuildConfig`.

A registered class is built with ``cls.from_config(config, state_dir)`` when it defines
that class method (``state_dir`` is a folder under the output folder reserved for that
backend, e.g. for a request cache), else with ``cls(seed=config.seed)``. Every LLM
provider's client class inherits ``from_config`` from
:class:`~ccneg_build.negators.llm.backend.LLMBackend`, which wraps the client in the
two-stage LLM negator, so a provider needs nothing beyond its client module.

``--fallback NAME`` is composition, not a backend feature: :func:`build_negator` wraps the
backend and the named stand-in in a :class:`~ccneg_build.negators.fallback.FallbackNegator`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from ccneg_build.negators.base import Negator

if TYPE_CHECKING:
    from ccneg_build.config import BuildConfig

#: backend name -> "module:Class"; add a backend with one line here (or :func:`register`).
BACKENDS: dict[str, str] = {
    "rule": "ccneg_build.negators.rule:RuleNegator",
    "openai": "ccneg_build.negators.llm.openai_backend:OpenAIBackend",
    "gemini": "ccneg_build.negators.llm.gemini_backend:GeminiBackend",
}


class BackendError(RuntimeError):
    """A backend that cannot be built (unknown name, missing package or model)."""


def register(name: str, target: str) -> None:
    """Add or replace a backend (``target`` is ``"package.module:ClassName"``)."""
    if ":" not in target:
        raise ValueError("target must look like 'package.module:ClassName'")
    BACKENDS[name] = target


def available() -> list[str]:
    return sorted(BACKENDS)


def backend_class(name: str) -> type:
    """Import and return the class registered under ``name``."""
    if name not in BACKENDS:
        raise BackendError(f"--backend {name!r} is unknown; choose one of: {', '.join(available())}")
    module_name, _, class_name = BACKENDS[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendError(
            f"--backend {name}: cannot import {module_name} ({exc}); install the extra it needs, "
            f"e.g. pip install 'ccneg[llm]'"
        ) from None
    return getattr(module, class_name)


def state_dir(out: Path, name: str) -> Path:
    """Where backend ``name`` may keep files that survive reruns (request caches)."""
    from ccneg_build.outdir import STATE_DIR

    return Path(out) / STATE_DIR / "cache" / name


def build_negator(config: "BuildConfig", name: str | None = None) -> Negator:
    """The negator for ``config``: its backend, composed with ``--fallback`` when one is set.

    With ``name``, just that backend (no composition).
    """
    if name is not None:
        return _build_backend(config, name)
    negator = _build_backend(config, config.backend)
    fallback = config.options.get("fallback") or "none"
    if fallback in ("none", config.backend):
        return negator
    from ccneg_build.negators.fallback import FallbackNegator

    try:
        stand_in = _build_backend(config, fallback)
    except BaseException:
        negator.close()
        raise
    return FallbackNegator(negator, stand_in)


def _build_backend(config: "BuildConfig", name: str) -> Negator:
    """Build the one backend registered as ``name``, checked against the Negator protocol."""
    cls = backend_class(name)
    try:
        if hasattr(cls, "from_config"):
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
