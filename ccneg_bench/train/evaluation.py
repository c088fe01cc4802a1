"""Evaluation during training, through ccneg-bench (:func:`ccneg_bench.evaluation.evaluate`).

The model being trained is wrapped in ccneg-bench's open_clip adapter (no copy, no reload),
and the eval split is scored exactly as ``ccneg-bench`` scores a saved model, so the numbers
in ``log.jsonl`` are comparable with a later ``ccneg-bench`` run on the export. Features are
never cached here: the weights change between evaluations.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

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


def evaluate_clip(
    clip: TrainableClip, data: str, split: str = "eval", tasks: Sequence[str] = ("ccneg", "ccneg-balanced", "retrieval"),
    batch_size: int = 128, workers: int = 0, bootstrap: int = 0, output_dir: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Score the in-memory model on ``split`` of ``data`` with :func:`ccneg_bench.evaluation.evaluate`.

    Returns ``{task: metrics}``; a task that cannot run (``ccneg-balanced`` on a split without
    mined distractors) is reported as ``{"skipped": reason}`` instead of failing the run.
    ``output_dir`` also writes ccneg-bench's result JSON files.
    """
    from ccneg_bench.evaluation import evaluate
    from ccneg_bench.models.open_clip_models import OpenClipAdapter

    was_training = clip.model.training
    adapter = OpenClipAdapter(
        clip.model, clip.transform, clip.tokenizer, clip.adapter.spec, dict(clip.adapter.describe(), in_training=True)
    )
    adapter.device = next(clip.model.parameters()).device
    try:
        results = evaluate(adapter, data, tasks, split=split, output_dir=output_dir, cache_dir=None,
                           batch_size=batch_size, workers=workers, device=str(adapter.device),
                           bootstrap=bootstrap, progress=False)
    finally:
        clip.model.train(was_training)
    out: dict[str, dict[str, Any]] = {}
    for result in results:
        if result.get("status") == "ok":
            out[result["task"]] = result["metrics"]
        else:
            out[result["task"]] = {"skipped": result.get("error") or "failed"}
    return out


def make_eval_fn(data: str, split: str, tasks: Sequence[str], workers: int = 0) -> Callable[[TrainableClip, int], dict[str, Any]]:
    """The trainer's periodic-evaluation hook: ``{task: headline metrics}`` per call."""

    def run(clip: TrainableClip, step: int) -> dict[str, Any]:
        results = evaluate_clip(clip, data, split, tasks, workers=workers)
        return {task: headline_metrics(task, metrics) for task, metrics in results.items()}

    return run
