"""ccneg_bench: score vision-language models on negation, and fine-tune them (CoN-CLIP).

The importable entry point is :func:`evaluate` (see :mod:`ccneg_bench.evaluation`), whose
settings are a :class:`BenchConfig` (see :mod:`ccneg_bench.config`); the building blocks are :mod:`ccneg_bench.models.registry` (``load_model``), :mod:`ccneg_bench.datasets`
(``load_eval_dataset``), :mod:`ccneg_bench.features` and :mod:`ccneg_bench.tasks`.
"""

from __future__ import annotations

from typing import Any

from ccneg_bench.config import BenchConfig
from ccneg_core import __version__  # the one version, defined in ccneg_core


def evaluate(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """Score models on a dataset; see :func:`ccneg_bench.evaluation.evaluate` (lazy: no torch on import)."""
    from ccneg_bench.evaluation import evaluate as _evaluate  # lazy: torch

    return _evaluate(*args, **kwargs)


__all__ = ["BenchConfig", "evaluate", "__version__"]
