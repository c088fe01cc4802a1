"""The backend registry: ``--backend NAME`` -> the class that implements it.

Adding a backend is one module plus one line in :data:`BACKENDS` (or a call to
:func:`register` from a plugin). Entries are dotted paths imported on first use, so that
choosing ``rule`` never imports an LLM SDK and vice versa. Turning the class into a
negator for a run (and composing ``--fallback``) is :mod:`ccneg_build.negators.compose`.
"""

from __future__ import annotations

import importlib

from ccneg_build.negators.base import BackendError

#: backend name -> "module:Class"; add a backend with one line here (or :func:`register`).
BACKENDS: dict[str, str] = {
    "rule": "ccneg_build.negators.rule:RuleNegator",
    "openai": "ccneg_build.negators.llm.openai_backend:OpenAIBackend",
    "gemini": "ccneg_build.negators.llm.gemini_backend:GeminiBackend",
}


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
