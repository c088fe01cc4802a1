"""``ccneg_bench.evaluate``: score one or more models on one dataset, write one JSON per task.

Example::

    import ccneg_bench
    results = ccneg_bench.evaluate(
        "open_clip:ViT-B-32", "ccneg-out", tasks=["ccneg", "retrieval"], pretrained="openai",
        split="eval", output_dir="results", cache_dir="~/.cache/ccneg-bench",
    )
    results[0]["metrics"]["accuracy"]

The keywords after ``pretrained`` are the fields of :class:`ccneg_bench.config.BenchConfig`
(one object for the command line, the suite and ccneg-train's evaluation hook).

Result file schema (``schema_version`` "2"; see :mod:`ccneg_bench.results`), one file per
(dataset, pretrained, model, task), named ``{dataset}_{pretrained}_{model}_{language}_{task}.json``
as CLIP_benchmark names its files (a benchmark with subsets, SugarCREPE, writes one per subset):

    dataset, model, pretrained, task, metrics, language  (CLIP_benchmark's keys, in its order)
    schema_version, status ("ok" | "error"), error (message when status is "error"),
    model_info {spec, pretrained, description, fingerprint},
    dataset_info {spec, split, subset, fingerprint, notes},
    n (samples), breakdowns {...: {group: {n, accuracy, ci95}}}, intervals {metric: [low, high]},
    tie_rule {requested, official, applied, accuracy_by_rule} (choice and ranking tasks),
    failures [{id, code, detail}] (per sample: unreadable images, rejected rows and why),
    conversions [{id, code, detail}] (per sample: images scored after a mode conversion, e.g.
    converted_cmyk, converted_p, converted_16bit), n_converted,
    versions {ccneg, python, torch, open_clip, transformers, numpy},
    device, precision, seconds, images_per_second,
    timing {image_seconds, text_seconds, task_seconds}, cache {...}, created (UTC ISO time),
    predictions (path of the Parquet written by save_predictions, else null)
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Sequence

from ccneg_bench.config import BenchConfig
from ccneg_bench.datasets import load_eval_dataset
from ccneg_bench.datasets.base import EvalDataset
from ccneg_bench.features import ImageFeatures, encode_image_table, encode_texts, feature_cache_dir
from ccneg_bench.models.registry import check_model
from ccneg_bench.models.base import ModelAdapter
from ccneg_bench.models.lazy import LazyModel
from ccneg_bench.results import RESULT_SCHEMA_VERSION, dataset_name, header, result_filename
from ccneg_bench.tasks import get_task
from ccneg_bench.tasks.base import TaskContext, TaskOutput
from ccneg_core.image_decode import MISSING
from ccneg_core.devices import resolve_device, resolve_precision
from ccneg_core.writer import atomic_output, atomic_write_text


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("ccneg", "torch", "open_clip_torch", "transformers", "numpy"):
        try:
            out[name.replace("_torch", "")] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name.replace("_torch", "")] = None
    return out


def write_json_atomic(path: Path, payload: Any) -> None:
    """One result file, written atomically with the umask's mode (readable by colleagues)."""
    atomic_write_text(path, json.dumps(payload, indent=2, default=str) + "\n")


def write_predictions(path: Path, columns: dict[str, list[Any]], task: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"task": [task] * len(next(iter(columns.values()), [])), **columns})
    with atomic_output(path) as tmp:
        pq.write_table(table, tmp)


def evaluate(
    model: str | ModelAdapter | Sequence[str | ModelAdapter],
    dataset: str | EvalDataset,
    tasks: Iterable[str] | None = None,
    *,
    pretrained: str | None = None,
    config: BenchConfig | None = None,
    **settings: Any,
) -> list[dict[str, Any]]:
    """Evaluate each model on ``dataset`` for each task; return the result dicts (and write them).

    ``model`` is a spec (``open_clip:ViT-B-32``), a loaded :class:`ModelAdapter`, or a list of
    either. A task that cannot run (e.g. ``ccneg-balanced`` without distractors) yields a result
    with ``status: "error"`` and the reason; the other tasks still run. ``tasks=None`` runs the
    dataset's own tasks (``ccneg`` for CC-Neg data, ``mcq`` for NegBench MCQ files, ...).

    How to score is a :class:`~ccneg_bench.config.BenchConfig`: pass one as ``config``, or its
    fields as keywords (``split``, ``output_dir``, ``cache_dir``, ``batch_size``, ``workers``,
    ``device``, ``precision``, ``bootstrap``, ...), which replace those of ``config``.
    """
    return evaluate_with(model, dataset, tasks, BenchConfig.make(config, **settings), pretrained=pretrained)


def evaluate_with(
    model: str | ModelAdapter | Sequence[str | ModelAdapter],
    dataset: str | EvalDataset,
    tasks: Iterable[str] | None,
    config: BenchConfig,
    pretrained: str | None = None,
) -> list[dict[str, Any]]:
    """:func:`evaluate` on a ready :class:`BenchConfig` (what the command, the suite and ccneg-train call).

    A spec becomes a :class:`~ccneg_bench.models.lazy.LazyModel`: with ``config.cache_dir`` set
    and every feature cached, the model is never built.
    """
    task_names = list(dict.fromkeys(tasks)) if tasks is not None else []
    for name in task_names:
        get_task(name)  # fail fast on a typo, before loading anything
    config.check()
    models = model if isinstance(model, (list, tuple)) else [model]
    for entry in models:
        if not isinstance(entry, ModelAdapter):
            check_model(entry, pretrained)
    device = resolve_device(config.device)
    data = dataset if isinstance(dataset, EvalDataset) else load_eval_dataset(dataset, split=config.split,
                                                                               **config.dataset_options)
    task_names = task_names or list(data.default_tasks)
    results: list[dict[str, Any]] = []
    for entry in models:
        adapter = entry if isinstance(entry, ModelAdapter) else LazyModel(entry, pretrained, device, config.cache_dir)
        used = pretrained if not isinstance(entry, ModelAdapter) else getattr(entry, "pretrained", None)
        results.extend(_evaluate_one(adapter, data, task_names, used, config))
    return results


def mark_text_failures(data: EvalDataset, images: ImageFeatures) -> None:
    """A sample without a caption or negated caption is not scored: it fails like a bad image
    (``missing_caption``), is listed per sample, and the run goes on. Benchmark files check their
    own text fields when they are read (see ``datasets.rows``)."""
    if data.kind != "ccneg":
        return
    for row, sample in enumerate(data.samples):
        if not sample.caption.strip() or not sample.negated_caption.strip():
            which = "caption" if not sample.caption.strip() else "negated caption"
            images.ok[row] = False
            images.errors[row] = ("missing_caption", f"sample {sample.id}: the {which} is empty")


def _evaluate_one(adapter: ModelAdapter, data: EvalDataset, task_names: list[str], pretrained: str | None,
                  config: BenchConfig) -> list[dict[str, Any]]:
    started = time.perf_counter()
    cache_dir, output_dir = config.cache_dir, config.output_dir
    cache = feature_cache_dir(os.path.expanduser(str(cache_dir)) if cache_dir else None, adapter, data)
    encode = config.encode_options
    images = encode_image_table(adapter, data.images, cache=cache, desc="images", **encode)
    unscorable = no_images_reason(adapter, data, images)
    if unscorable:
        failures = [{"id": data.samples[row].id, "code": code, "detail": detail}
                    for row, (code, detail) in sorted(images.errors.items())]
        return [_error_result(name, adapter, pretrained, data, unscorable, failures, output_dir, started)
                for name in task_names]
    mark_text_failures(data, images)
    texts = encode_texts(adapter, data.texts(), cache=cache, batch_size=max(config.batch_size, 128),
                         precision=config.precision, progress=config.progress)
    distractors: ImageFeatures | None = None
    if data.distractors is not None and any(get_task(n).needs_distractors for n in task_names):
        if data.distractors is data.images:
            distractors = images
        else:
            distractors = encode_image_table(adapter, data.distractors, cache=cache, desc="distractors", **encode)
    encoded_seconds = time.perf_counter() - started
    context = TaskContext(dataset=data, images=images, texts=texts, distractors=distractors, **config.task_options)
    results = []
    for name in task_names:
        results.extend(_run_task(name, context, adapter, pretrained, data, config, encoded_seconds, images, texts,
                                 distractors))
    return results


def no_images_reason(adapter: ModelAdapter, data: EvalDataset, images: ImageFeatures) -> str | None:
    """Why an image model cannot score this split at all (no image decoded), else None.

    Scoring it anyway would report status "ok" with an empty accuracy; the real cause is
    named instead: no images in the dataset, or images that all failed (with their codes).
    Text-only models never look at images and are not affected.
    """
    n = len(images.ok)
    if not adapter.needs_images or n == 0 or images.ok.any():
        return None
    codes: dict[str, int] = {}
    for code, _ in images.errors.values():
        codes[code] = codes.get(code, 0) + 1
    where = f"{data.spec} (split {data.split})"
    if set(codes) == {MISSING}:
        return (f"{where} has no images (none of its {n} samples holds image bytes or a readable path); "
                f"{adapter.spec} needs them: rebuild the dataset with images, or score a text-only model "
                "such as text:negation-words")
    listed = ", ".join(f"{code} x{count}" for code, count in sorted(codes.items()))
    return f"{where}: none of its {n} images could be decoded ({listed}); see the failures in the result file"


def _identity(adapter: ModelAdapter, pretrained: str | None, data: EvalDataset, subset: str | None) -> dict[str, Any]:
    """The ``model_info`` and ``dataset_info`` extra keys of a result."""
    return {
        "model_info": {"spec": adapter.spec, "pretrained": pretrained, "description": adapter.describe(),
                       "fingerprint": adapter.fingerprint()},
        "dataset_info": {"spec": data.spec, "split": data.split, "subset": subset, "fingerprint": data.fingerprint(),
                         "notes": data.notes},
    }


def _error_result(name: str, adapter: ModelAdapter, pretrained: str | None, data: EvalDataset, error: str,
                  failures: list[dict[str, str]], output_dir: Any, started: float) -> dict[str, Any]:
    """The result of a task that could not run at all (written like any other result)."""
    result: dict[str, Any] = header(dataset_name(data.spec, data.split, data.name), adapter.spec, pretrained, name)
    result.update({
        "schema_version": RESULT_SCHEMA_VERSION, "status": "error", "error": error,
        **_identity(adapter, pretrained, data, None),
        "n": len(data.samples) + len(data.rejected), "breakdowns": {}, "failures": failures, "conversions": [],
        "n_converted": 0, "versions": package_versions(), "device": str(adapter.device), "precision": None,
        "seconds": round(time.perf_counter() - started, 4), "images_per_second": None,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "predictions": None,
    })
    if output_dir is not None:
        path = Path(output_dir) / result_filename(result["dataset"], pretrained, adapter.spec, name)
        write_json_atomic(path, result)
        result["path"] = str(path)
    return result


def _run_task(name: str, context: TaskContext, adapter: ModelAdapter, pretrained: str | None, data: EvalDataset,
              config: BenchConfig, encoded_seconds: float, images: ImageFeatures, texts: Any,
              distractors: ImageFeatures | None) -> list[dict[str, Any]]:
    """Run one task; one result per output (a task with subsets gives several), each written."""
    task_started = time.perf_counter()
    try:
        produced = get_task(name).run(context)
        outputs: list[TaskOutput | None] = list(produced) if isinstance(produced, list) else [produced]
        error = None
    except ValueError as err:
        outputs, error = [None], str(err)
    task_seconds = (time.perf_counter() - task_started) / max(1, len(outputs))
    return [_result(name, output, error, adapter, pretrained, data, config, encoded_seconds, task_seconds, images,
                    texts, distractors) for output in outputs]


def _result(name: str, output: TaskOutput | None, error: str | None, adapter: ModelAdapter, pretrained: str | None,
            data: EvalDataset, config: BenchConfig, encoded_seconds: float, task_seconds: float,
            images: ImageFeatures, texts: Any, distractors: ImageFeatures | None) -> dict[str, Any]:
    subset = output.subset if output is not None else None
    result: dict[str, Any] = header(dataset_name(data.spec, data.split, data.name, subset), adapter.spec, pretrained, name)
    result.update({
        "schema_version": RESULT_SCHEMA_VERSION,
        "status": "ok",
        "error": None,
        **_identity(adapter, pretrained, data, subset),
        "n": output.n if output is not None and output.n is not None else len(data.samples) + len(data.rejected),
    })
    if output is None:
        result.update(status="error", error=error, metrics={}, breakdowns={}, failures=[])
    else:
        result.update(metrics=output.metrics, breakdowns=output.breakdowns, failures=output.failures, **output.extras)
    conversions = [{"id": data.samples[row].id if data.kind == "ccneg" else data.images.ids[row], "code": code,
                    "detail": detail} for row, (code, detail) in sorted(images.notes.items())]
    if distractors is not None and distractors is not images and data.distractors is not None:
        conversions += [{"id": data.distractors.ids[row], "code": f"distractor_{code}", "detail": detail}
                        for row, (code, detail) in sorted(distractors.notes.items())]
    result.update(n_converted=len(conversions), conversions=conversions)
    seconds = encoded_seconds + task_seconds
    n_images = len(images.ok) + (len(distractors.ok) if distractors is not None and distractors is not images else 0)
    result.update(
        versions=package_versions(),
        device=str(adapter.device),
        precision=resolve_precision(config.precision, adapter.device),
        seconds=round(seconds, 4),
        images_per_second=round(n_images / seconds, 2) if seconds > 0 else None,
        timing={"image_seconds": round(images.stats.get("seconds", 0.0) + (distractors.stats.get("seconds", 0.0) if distractors is not None and distractors is not images else 0.0), 4),
                "text_seconds": round(texts.stats.get("seconds", 0.0), 4), "task_seconds": round(task_seconds, 4)},
        cache={"images": images.stats, "texts": texts.stats},
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        predictions=None,
    )
    output_dir = config.output_dir
    if output_dir is not None:
        filename = result_filename(result["dataset"], pretrained, adapter.spec, name)
        if config.save_predictions and output is not None and output.predictions:
            path = Path(output_dir) / (filename[: -len(".json")] + ".predictions.parquet")
            write_predictions(path, output.predictions, name)
            result["predictions"] = str(path)
        write_json_atomic(Path(output_dir) / filename, result)
        result["path"] = str(Path(output_dir) / filename)
    return result
