"""Evaluation during training, through ccneg-bench (:func:`ccneg_bench.evaluation.evaluate_with`).

The model being trained is wrapped in ccneg-bench's open_clip adapter (no copy, no reload),
and the eval split is scored exactly as ``ccneg-bench`` scores a saved model, so the numbers
in ``log.jsonl`` are comparable with a later ``ccneg-bench`` run on the export. Features are
never cached here: the weights change between evaluations.

One evaluation scores, side by side (:func:`evaluation_plan`):

* ``--eval-tasks`` on the ``--eval-split`` of a ccneg folder ``--data``;
* ``mcq`` on the held-out NegBench MCQ file that goes with ``--data`` (``DIR/negbench/mcq_eval.csv``,
  or ``NAME_eval.csv`` beside ``negbench:NAME_train.csv``), or ``--eval-data`` with its own tasks;
* ``zeroshot`` on ``--eval-zeroshot`` (an image folder or CIFAR): what negation training costs.

``log.jsonl`` and the run summary then hold ``{task: metrics}`` for all of them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from ccneg_bench.config import BenchConfig
from ccneg_bench.train.config import TrainConfig
from ccneg_bench.train.model import TrainableClip
from ccneg_bench.train.sources import NEGBENCH_PREFIX, eval_mcq_file
from ccneg_core.dataset import split_names
from ccneg_bench.evaluation import evaluate_with
from ccneg_bench.models.open_clip_models import OpenClipAdapter
from ccneg_bench.datasets import load_eval_dataset


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
    clip: TrainableClip, data: Any, tasks: Sequence[str] | None = ("ccneg", "ccneg-balanced", "retrieval"),
    config: BenchConfig | None = None,
) -> dict[str, dict[str, Any]]:
    """Score the in-memory model on ``config.split`` of ``data`` with ccneg-bench's evaluation.

    ``data`` is a dataset spec or a loaded :class:`~ccneg_bench.datasets.EvalDataset`; ``tasks``
    None runs the dataset's own tasks. Returns ``{task: metrics}``; a task that cannot run (``ccneg-balanced`` on a split without
    mined distractors) is reported as ``{"skipped": reason}`` instead of failing the run.
    ``config.output_dir`` also writes ccneg-bench's result JSON files. The model is scored on
    the device it sits on, whatever ``config.device`` says.
    """
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


@dataclass(frozen=True)
class EvalTarget:
    """One dataset an evaluation scores: its ccneg-bench spec, the tasks (None: its own), reader options."""

    spec: str
    tasks: tuple[str, ...] | None
    split: str
    options: tuple[tuple[str, Any], ...] = ()


def evaluation_plan(cfg: TrainConfig) -> list[EvalTarget]:
    """What each evaluation of the run scores (see the module docstring), in report order."""
    targets = []
    held_out = None if cfg.eval_data else eval_mcq_file(cfg.data, cfg.split, cfg.eval_split)
    # a folder's CC-Neg rows are scored when it has the eval split, or when nothing else is (so
    # that a missing split is reported, as it always was)
    if not cfg.data.startswith(NEGBENCH_PREFIX) and (
            cfg.eval_split in split_names(Path(cfg.data)) or (held_out is None and not cfg.eval_data)):
        targets.append(EvalTarget(cfg.data, tuple(cfg.eval_tasks), cfg.eval_split))
    image_root = (("image_root", os.path.expanduser(cfg.image_root)),) if cfg.image_root else ()
    if cfg.eval_data:
        targets.append(EvalTarget(cfg.eval_data, None, cfg.eval_split, image_root))
    elif held_out is not None:
        targets.append(EvalTarget(f"{NEGBENCH_PREFIX}{held_out}", ("mcq",), cfg.eval_split, image_root))
    if cfg.eval_zeroshot:
        targets.append(EvalTarget(cfg.eval_zeroshot, ("zeroshot",), "eval"))
    return targets


def make_eval_fn(cfg: TrainConfig) -> Callable[[TrainableClip, int], dict[str, Any]]:
    """The trainer's periodic-evaluation hook: ``{task: headline metrics}`` per call.

    Benchmark files (NegBench, zero-shot data) are read once, at the first evaluation; a ccneg
    folder is read at every evaluation, as before. A task name that two datasets share is
    reported as ``task@dataset`` for the second.
    """
    config = bench_config(cfg)
    plan = evaluation_plan(cfg)
    loaded: dict[str, Any] = {}

    def dataset_of(target: EvalTarget) -> Any:
        if target.spec == cfg.data:
            return target.spec
        if target.spec not in loaded:
            loaded[target.spec] = load_eval_dataset(target.spec, split=target.split, **dict(target.options))
        return loaded[target.spec]

    def run(clip: TrainableClip, step: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for target in plan:
            try:
                data = dataset_of(target)
            except (ValueError, FileNotFoundError) as err:  # one unreadable dataset must not hide the others
                out[f"error@{target.spec}"] = str(err)
                continue
            results = evaluate_clip(clip, data, target.tasks, replace(config, split=target.split))
            for task, metrics in results.items():
                key = task if task not in out else f"{task}@{target.spec}"
                out[key] = headline_metrics(task, metrics)
        return out

    return run
