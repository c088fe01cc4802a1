"""The result file: one JSON per (dataset, pretrained, model, task), CLIP_benchmark-compatible.

The top level starts with CLIP_benchmark's keys, so its ``clip_benchmark build`` and any tool
reading its results can take ours: ``dataset`` (a name such as ``sugar_crepe/add_att``,
``cifar10`` or ``negbench/COCO_val_mcq_llama3.1_rephrased``), ``model`` (the model spec),
``pretrained`` (the raw ``--pretrained`` value, ``none`` when absent), ``task``, ``metrics``
(the benchmark's own metric names) and ``language``. Everything else ccneg-bench knows lives in
extra keys: ``model_info``, ``dataset_info``, ``breakdowns``, ``intervals`` (95% bootstrap CIs),
``tie_rule``, ``failures``, timing, versions. The file name follows CLIP_benchmark's default
template ``{dataset}_{pretrained}_{model}_{language}_{task}.json`` (``/`` in names becomes ``_``).

Schema "1" files (``model`` and ``dataset`` were dicts) are still read: :func:`normalise`
gives every reader the current shape.
"""

from __future__ import annotations

import os
import re
from typing import Any

RESULT_SCHEMA_VERSION = "2"
LANGUAGE = "en"

#: the headline metric of each task, first one present wins (``retrieval`` has two layouts)
MAIN_METRICS: dict[str, tuple[str, ...]] = {
    "ccneg": ("accuracy",),
    "ccneg-balanced": ("accuracy",),
    "retrieval": ("image_retrieval_recall@1", "image_to_text_R@1"),
    "mcq": ("total_accuracy",),
    "pair": ("acc",),
    "crepe": ("image_to_text_R@1",),
    "grounding": ("accuracy",),
    "zeroshot": ("acc1",),
    "zeroshot-negated": ("acc1",),
}


def slug(text: str) -> str:
    """A file-name-safe form of a spec: ``kind_`` plus the last two parts of a path body."""
    text = str(text).rstrip("/\\")
    kind, sep, body = text.partition(":")
    if not sep or "/" in kind or "\\" in kind:
        kind, body = "", text
    parts = [p for p in re.split(r"[/\\]", body) if p]
    body = "_".join(parts[-2:]) if len(parts) > 1 and (os.path.isabs(body) or body.startswith(".")) else "_".join(parts)
    joined = f"{kind}_{body}" if kind else body
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", joined).strip("_")[:80] or "x"


def pretrained_value(pretrained: str | None) -> str:
    return "none" if pretrained in (None, "") else str(pretrained)


def dataset_name(spec: str, split: str, name: str = "", subset: str | None = None) -> str:
    """The result's ``dataset``: the benchmark name (plus subset), or for CC-Neg data the spec and split."""
    if name:
        base = name if split == "eval" else f"{name}/{split}"
    else:
        base = f"{slug(os.path.basename(spec.rstrip('/')) if os.path.isabs(spec) else spec)}/{split}"
    return f"{base}/{subset}" if subset else base


def result_filename(dataset: str, pretrained: str | None, model_spec: str, task: str, language: str = LANGUAGE) -> str:
    pretrained_part = os.path.basename(str(pretrained)) if pretrained and os.path.exists(str(pretrained)) else pretrained_value(pretrained)
    parts = [dataset.replace("/", "_"), pretrained_part, slug(model_spec), language, task]
    return "_".join(re.sub(r"[^A-Za-z0-9.+@-]+", "_", p).strip("_") or "x" for p in parts) + ".json"


def header(dataset: str, model_spec: str, pretrained: str | None, task: str) -> dict[str, Any]:
    """CLIP_benchmark's keys, in its order; ``metrics`` is filled by the task."""
    return {"dataset": dataset, "model": model_spec, "pretrained": pretrained_value(pretrained), "task": task,
            "metrics": {}, "language": LANGUAGE}


def normalise(result: dict[str, Any]) -> dict[str, Any]:
    """A result in the current shape (schema "1" files are converted in memory)."""
    if isinstance(result.get("model"), dict):
        old_model, old_dataset = result["model"], result.get("dataset") or {}
        result = dict(result)
        result["model_info"] = old_model
        result["dataset_info"] = old_dataset
        result["model"] = old_model.get("spec")
        result["pretrained"] = pretrained_value(old_model.get("pretrained"))
        result["dataset"] = dataset_name(str(old_dataset.get("spec", "")), str(old_dataset.get("split", "eval")))
        result.setdefault("language", LANGUAGE)
    return result


def model_label(result: dict[str, Any]) -> str:
    """``spec`` or ``spec (weights file name)`` for tables."""
    result = normalise(result)
    pretrained = result.get("pretrained")
    suffix = f" ({os.path.basename(str(pretrained))})" if pretrained and pretrained != "none" else ""
    return f"{result['model']}{suffix}"


def main_metric(result: dict[str, Any]) -> str | None:
    """The headline metric name present in ``result`` (None for an unknown task)."""
    metrics = result.get("metrics") or {}
    for name in MAIN_METRICS.get(result.get("task", ""), ("accuracy",)):
        if name in metrics:
            return name
    return None


def lower_is_better(result: dict[str, Any], metric: str | None) -> bool:
    return bool(metric) and metric in (result.get("lower_is_better") or [])


def headline(result: dict[str, Any]) -> str:
    """A short human summary of the main metric (``acc1 42.00% (lower is better)``)."""
    metric = main_metric(result)
    value = (result.get("metrics") or {}).get(metric) if metric else None
    if value is None:
        return "-"
    text = f"{metric} {100 * value:.2f}%"
    ci = (result.get("intervals") or {}).get(metric)
    if ci:
        text += f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"
    return text + (" (lower is better)" if lower_is_better(result, metric) else "")
