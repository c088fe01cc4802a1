"""Accuracy breakdowns with bootstrap 95% confidence intervals (pure functions of arrays)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ccneg_bench.datasets.base import Sample

BREAKDOWN_FIELDS = ("negation_cue", "num_relations", "negation_type")


def bootstrap_ci(values: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> list[float] | None:
    """Percentile bootstrap interval of the mean of ``values`` (None for fewer than 2 values)."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n < 2 or n_boot <= 0:
        return None
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    step = max(1, 4_000_000 // n)  # resamples per block: bounded memory for any n
    for first in range(0, n_boot, step):
        count = min(step, n_boot - first)
        means[first:first + count] = values[rng.integers(0, n, size=(count, n))].mean(axis=1)
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return [float(low), float(high)]


def summarise(values: np.ndarray, n_boot: int, seed: int) -> dict[str, Any]:
    values = np.asarray(values, dtype=np.float64)
    return {
        "n": int(len(values)),
        "accuracy": float(values.mean()) if len(values) else None,
        "ci95": bootstrap_ci(values, n_boot, seed),
    }


def relations_bucket(count: int | None) -> str:
    """1, 2, 3, 4 or 5+ (the paper's analysis groups), "unknown" when not recorded."""
    if count is None:
        return "unknown"
    return "5+" if count >= 5 else str(int(count))


def group_key(sample: Sample, field: str) -> str:
    if field == "num_relations":
        return relations_bucket(sample.num_relations)
    value = getattr(sample, field)
    return str(value) if value not in (None, "") else "unknown"


def breakdowns(values: np.ndarray, samples: Sequence[Sample], n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Per-field groups of ``values`` (one per sample, already restricted to scored samples)."""
    out: dict[str, Any] = {}
    for field in BREAKDOWN_FIELDS:
        keys = np.array([group_key(s, field) for s in samples], dtype=object)
        groups = {}
        for key in sorted(set(keys.tolist()), key=lambda k: (k == "unknown", k)):
            groups[key] = summarise(values[keys == key], n_boot, seed)
        out[field] = groups
    return out
