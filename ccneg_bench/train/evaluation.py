"""Evaluation during training, through ccneg-bench (:func:`ccneg_bench.evaluation.evaluate_with`).

The model being trained is wrapped in ccneg-bench's open_clip adapter (no copy, no reload),
and the eval split is scored exactly as ``ccneg-bench`` scores a saved model, so the numbers
in ``log.jsonl`` are comparable with a later ``ccneg-bench`` run on the export. Features are
never cached here: the weights change between evaluations.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Sequence

from ccneg_bench.config import BenchConfig
from ccneg_bench.train.config import TrainConfig
from ccneg_bench.train.model import TrainableClip


def headline_metrics(task: str, metrics: dict[str, Any]) -> dict[str, Any]:
    """The numeric scalars of a task's metrics (nested dicts flattened one level)."""
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            out[key] = value
        elif isinstance(value, dict):
            for sub, inner in value.items():
                if isinstance(inner, (int, float)) and not isinstance(inner, bool):
                    out[f"{key}_{sub}"] = inner
    return out


#: How evaluations during training score: ccneg-bench's default precision (so the numbers in
#: ``log.jsonl`` match a later default ``ccneg-bench`` run on the export), decoding in the main
#: process (the trainer's workers are busy), no bootstrap intervals, no progress bars and no
#: feature cache (the weights change between evaluations).
TRAINING_EVAL = BenchConfig(batch_size=128, workers=0, bootstrap=0, progress=False, cache_dir=None)


def bench_config(cfg: TrainConfig) -> BenchConfig:
    """The :class:`BenchConfig` of a run's evaluations: :data:`TRAINING_EVAL` on its ``--eval-split``."""
    return replace(TRAINING_EVAL, split=cfg.eval_split)


def evaluate_clip(
    clip: TrainableClip, data: str, tasks: Sequence[str] = ("ccneg", "ccneg-balanced", "retrieval"),
    config: BenchConfig | None = None,
) -> dict[str, dict[str, Any]]:
    """Score the in-memory model on ``config.split`` of ``data`` with ccneg-bench's evaluation.

    Returns ``{task: metrics}``; a task that cannot run (``ccneg-balanced`` on a split without
    mined distractors) is reported as ``{"skipped": reason}`` instead of failing the run.
    ``config.output_dir`` also writes ccneg-bench's result JSON files. The model is scored on
    the device it sits on, whatever ``config.device`` says.
    """
    from ccneg_bench.evaluation import evaluate_with
    from ccneg_bench.models.open_clip_models import OpenClipAdapter

    was_training = clip.model.training
    adapter = OpenClipAdapter(
        clip.model, clip.transform, clip.tokenizer, clip.adapter.spec, dict(clip.adapter.describe(), in_training=True)
    )
    adapter.device = next(clip.model.parameters()).device
    config = replace(config or TRAINING_EVAL, device=str(adapter.device))
    try:
        results = evaluate_with(adapter, data, tasks, config)
    finally:
        clip.model.train(was_training)
    out: dict[str, dict[str, Any]] = {}
    for result in results:
        if result.get("status") == "ok":
            out[result["task"]] = result["metrics"]
        else:
            out[result["task"]] = {"skipped": result.get("error") or "failed"}
    return out


def make_eval_fn(cfg: TrainConfig) -> Callable[[TrainableClip, int], dict[str, Any]]:
    """The trainer's periodic-evaluation hook: ``{task: headline metrics}`` per call."""
    config = bench_config(cfg)

    def run(clip: TrainableClip, step: int) -> dict[str, Any]:
        results = evaluate_clip(clip, cfg.data, cfg.eval_tasks, config)
        return {task: headline_metrics(task, metrics) for task, metrics in results.items()}

    return run
