"""The backend registry: ``--backend NAME`` -> the class that implements it.

Adding a backend is one module plus one line in :data:`BACKENDS` (or a call to
:func:`register` from a plugin). Entries are dotted paths imported on first use, so that
choosing ``rule`` never imports an LLM SDK and vice versa. Turning the class into a
negator for a run (and composing ``--fallback``) is :mod:`ccneg_build.negators.compose`.
"""

from __future__ import annotations

from ccneg_build.negators.base import BackendError
from ccneg_core.registry import Registry, UnknownName

#: backend name -> "module:Class"; add a backend with one line here (or :func:`register`).
BACKENDS = Registry("backend", {
    "rule": "ccneg_build.negators.rule:RuleNegator",
    "openai": "ccneg_build.negators.llm.openai_backend:OpenAIBackend",
    "gemini": "ccneg_build.negators.llm.gemini_backend:GeminiBackend",
})


def register(name: str, target: str) -> None:
    """Add or replace a backend from a plug-in (``target`` is ``"package.module:ClassName"``)."""
    BACKENDS[name] = target


def backend_class(name: str) -> type:
    """Import and return the class registered under ``name``."""
    try:
        return BACKENDS.load(name)
    except UnknownName:
        raise BackendError(f"--backend {name!r} is unknown; choose one of: {', '.join(BACKENDS)}") from None
    except ImportError as exc:
        raise BackendError(
            f"--backend {name}: cannot import {BACKENDS[name].partition(':')[0]} ({exc}); install the extra it "
            f"needs, e.g. pip install 'ccneg[llm]'"
        ) from None
