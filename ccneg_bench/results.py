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


class MalformedResult(ValueError):
    """A JSON file that is not a readable ccneg-bench result (the message names the field)."""


#: metrics every reader takes for numbers (or None): headline metrics, the sides and recalls
NUMERIC_METRICS = frozenset(
    {name for names in MAIN_METRICS.values() for name in names}
    | {"accuracy_true_image", "accuracy_distractor_image", "n_scored", "n_failed", "mean_margin"}
    | {f"{direction}_R@{k}" for direction in ("image_to_text", "text_to_image") for k in (1, 5, 10)}
)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_interval(value: Any, where: str) -> None:
    if value is None:
        return
    if not (isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)):
        raise MalformedResult(f"{where} is {_shown(value)}, not an interval [low, high]")


def _shown(value: Any) -> str:
    text = repr(value)
    kind = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), type(value).__name__)
    return f"{kind} {text[:40] + '...' if len(text) > 40 else text}"


def check_result(result: dict[str, Any]) -> None:
    """Raise :class:`MalformedResult` naming the first field a report cannot read.

    Checks the fields the report, its plots and its page read, with the types they read them
    as (a result in the current shape: see :func:`normalise`); unknown extra keys are left alone.
    """
    for key in ("task", "model", "dataset"):
        if key not in result or result[key] is None:
            raise MalformedResult(f"'{key}' is missing (not a ccneg-bench result?)")
        if not isinstance(result[key], str):
            raise MalformedResult(f"'{key}' is {_shown(result[key])}, not a string")
    metrics = result.get("metrics")
    if not isinstance(metrics, dict):
        raise MalformedResult("'metrics' is missing" if metrics is None else f"'metrics' is {_shown(metrics)}, not an object")
    for name, value in metrics.items():
        if name == "ci95":
            _check_interval(value, "'metrics.ci95'")
        elif name in NUMERIC_METRICS and value is not None and not _is_number(value):
            raise MalformedResult(f"'metrics.{name}' is {_shown(value)}, not a number")
    for key, kinds, what in (("status", str, "a string"), ("error", str, "a string"), ("predictions", str, "a path"),
                             ("n", int, "a whole number"), ("dataset_info", dict, "an object"),
                             ("model_info", dict, "an object"), ("intervals", dict, "an object"),
                             ("breakdowns", dict, "an object")):
        value = result.get(key)
        if value is not None and (not isinstance(value, kinds) or isinstance(value, bool)):
            raise MalformedResult(f"'{key}' is {_shown(value)}, not {what}")
    for key in ("seconds", "images_per_second"):
        if result.get(key) is not None and not _is_number(result[key]):
            raise MalformedResult(f"'{key}' is {_shown(result[key])}, not a number")
    for name, value in (result.get("intervals") or {}).items():
        _check_interval(value, f"'intervals.{name}'")
    for field, groups in (result.get("breakdowns") or {}).items():
        if not isinstance(groups, dict):
            raise MalformedResult(f"'breakdowns.{field}' is {_shown(groups)}, not an object")
        for group, cell in groups.items():
            where = f"'breakdowns.{field}.{group}"
            if not isinstance(cell, dict):
                raise MalformedResult(f"{where}' is {_shown(cell)}, not an object")
            for key in ("accuracy", "n"):
                if cell.get(key) is not None and not _is_number(cell[key]):
                    raise MalformedResult(f"{where}.{key}' is {_shown(cell[key])}, not a number")
            _check_interval(cell.get("ci95"), f"{where}.ci95'")


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


def stored_interval(result: dict[str, Any], metric: str | None) -> list[float] | None:
    """The 95% interval the result file holds for ``metric``: ``intervals[metric]``, or for
    ``accuracy`` the ``metrics.ci95`` that files written before every task kept ``intervals``
    carry (``ccneg-balanced``). None when the run had none (``--bootstrap 0``)."""
    if not metric:
        return None
    found = (result.get("intervals") or {}).get(metric)
    if not found and metric == "accuracy":
        found = (result.get("metrics") or {}).get("ci95")
    return found or None


def predictions_path(result: dict[str, Any]) -> str | None:
    """The result's per-sample predictions file where it is now: the path it names, else the file
    of that name next to the result JSON (results moved or copied with their predictions)."""
    file = result.get("predictions")
    if not file:
        return None
    candidates = [str(file)]
    if result.get("path"):
        candidates.append(os.path.join(os.path.dirname(str(result["path"])), os.path.basename(str(file))))
    return next((c for c in candidates if os.path.isfile(c)), None)


def headline(result: dict[str, Any]) -> str:
    """A short human summary of the main metric (``acc1 42.00% (lower is better)``)."""
    metric = main_metric(result)
    value = (result.get("metrics") or {}).get(metric) if metric else None
    if value is None:
        return "-"
    text = f"{metric} {100 * value:.2f}%"
    ci = stored_interval(result, metric)
    if ci:
        text += f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"
    return text + (" (lower is better)" if lower_is_better(result, metric) else "")
