"""ccneg_bench: score vision-language models on negation, and fine-tune them (CoN-CLIP).

The importable entry point is :func:`evaluate` (see :mod:`ccneg_bench.evaluation`); the
building blocks are :mod:`ccneg_bench.models` (``load_model``), :mod:`ccneg_bench.datasets`
(``load_eval_dataset``), :mod:`ccneg_bench.features` and :mod:`ccneg_bench.tasks`.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def evaluate(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """Score models on a dataset; see :func:`ccneg_bench.evaluation.evaluate` (lazy: no torch on import)."""
    from ccneg_bench.evaluation import evaluate as _evaluate

    return _evaluate(*args, **kwargs)


__all__ = ["evaluate", "__version__"]
