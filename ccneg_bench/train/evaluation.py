"""Evaluation during training, through ccneg-bench's datasets, features and tasks.

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
    batch_size: int = 128, workers: int = 0, bootstrap: int = 0,
) -> dict[str, dict[str, Any]]:
    """Score the in-memory model on ``split`` of ``data`` with ccneg-bench's tasks.

    Returns ``{task: metrics}``; a task that needs distractors on a dataset without them
    is reported as ``{"skipped": reason}`` instead of failing the run.
    """
    from ccneg_bench.datasets import load_eval_dataset
    from ccneg_bench.features import encode_image_table, encode_texts
    from ccneg_bench.models.open_clip_models import OpenClipAdapter
    from ccneg_bench.tasks import TaskContext, get_task

    was_training = clip.model.training
    adapter = OpenClipAdapter(
        clip.model, clip.transform, clip.tokenizer, clip.adapter.spec, dict(clip.adapter.describe(), training=True)
    )
    adapter.device = next(clip.model.parameters()).device
    dataset = load_eval_dataset(data, split=split)
    images = encode_image_table(adapter, dataset.images, batch_size=batch_size, workers=workers, progress=False)
    texts = encode_texts(
        adapter, [s.caption for s in dataset.samples] + [s.negated_caption for s in dataset.samples], progress=False
    )
    distractors = None
    if dataset.distractors is not None:
        distractors = encode_image_table(adapter, dataset.distractors, batch_size=batch_size, workers=workers, progress=False)
    context = TaskContext(dataset=dataset, images=images, texts=texts, distractors=distractors, bootstrap=bootstrap)
    results: dict[str, dict[str, Any]] = {}
    for name in tasks:
        task = get_task(name)
        if task.needs_distractors and distractors is None:
            results[name] = {"skipped": "no distractors mined for this split"}
            continue
        results[name] = task.run(context).metrics
    clip.model.train(was_training)
    return results


def make_eval_fn(data: str, split: str, tasks: Sequence[str], workers: int = 0) -> Callable[[TrainableClip, int], dict[str, Any]]:
    """The trainer's periodic-evaluation hook: ``{task: headline metrics}`` per call."""

    def run(clip: TrainableClip, step: int) -> dict[str, Any]:
        results = evaluate_clip(clip, data, split, tasks, workers=workers)
        return {task: headline_metrics(task, metrics) for task, metrics in results.items()}

    return run
