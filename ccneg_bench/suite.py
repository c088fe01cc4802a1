"""``ccneg-bench suite``: many (dataset, task) entries in one process, one model, one feature cache.

A suite file is a YAML list; each entry names a dataset and optionally its tasks and options::

    - dataset: negbench:data/COCO_val_mcq_llama3.1_rephrased.csv
      image_root: data/coco            # maps NegBench's absolute paths onto this folder
    - dataset: sugarcrepe:data/sugar_crepe
    - dataset: crepe:data/crepe/prod_vg_hard_negs_negate_complexity_4.csv
      image_root: data/vg
    - dataset: cifar10:data/cifar
      task: [zeroshot, zeroshot-negated]
      templates: cifar10_templates.json
    - dataset: ccneg-out
      task: ccneg

The whole file is checked before any model is loaded. Each model is a
:class:`~ccneg_bench.models.lazy.LazyModel`: it is built once, on the first feature missing from
the cache, and shared by every entry; a rerun whose features are all cached builds nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Sequence

from ccneg_bench.config import BenchConfig
from ccneg_core.devices import resolve_device

ENTRY_KEYS = {"dataset", "task", "split", "image_root", "templates", "negated_templates"}


@dataclass
class SuiteEntry:
    dataset: str
    tasks: list[str] | None = None
    split: str = "eval"
    options: dict[str, Any] = field(default_factory=dict)


def default_cache_dir() -> str:
    """``$XDG_CACHE_HOME/ccneg-bench`` (``~/.cache/ccneg-bench`` when unset)."""
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "ccneg-bench")


def read_suite(path: str) -> list[SuiteEntry]:
    """Parse and check a suite file; any problem is a ValueError naming the entry and key."""
    import yaml

    from ccneg_bench.tasks import get_task  # lazy: torch (the tasks' modules import it)

    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except OSError as err:
        raise ValueError(f"--suite {path}: cannot read ({err.strerror or err})") from None
    except yaml.YAMLError as err:
        raise ValueError(f"--suite {path}: not YAML ({str(err).splitlines()[0]})") from None
    if isinstance(data, dict) and isinstance(data.get("benchmarks"), list):
        data = data["benchmarks"]
    if not isinstance(data, list) or not data:
        raise ValueError(f"--suite {path}: expected a non-empty YAML list of entries with a 'dataset' key")
    base = os.path.dirname(os.path.abspath(path))
    entries = []
    for number, raw in enumerate(data, 1):
        where = f"--suite {path}: entry {number}"
        if isinstance(raw, str):
            raw = {"dataset": raw}
        if not isinstance(raw, dict) or not isinstance(raw.get("dataset"), str):
            raise ValueError(f"{where}: needs a 'dataset' (e.g. negbench:FILE.csv)")
        unknown = sorted(set(raw) - ENTRY_KEYS)
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(ENTRY_KEYS))}")
        tasks = raw.get("task")
        tasks = [tasks] if isinstance(tasks, str) else tasks
        if tasks is not None:
            if not isinstance(tasks, list) or not all(isinstance(t, str) for t in tasks):
                raise ValueError(f"{where}: 'task' must be a task name or a list of them")
            for task in tasks:
                try:
                    get_task(task)
                except ValueError as err:
                    raise ValueError(f"{where}: {err}") from None
        options = {k: _relative(str(raw[k]), base) for k in ("image_root", "templates", "negated_templates") if raw.get(k)}
        entries.append(SuiteEntry(dataset=_relative_spec(raw["dataset"], base), tasks=tasks,
                                  split=str(raw.get("split", "eval")), options=options))
    return entries


def _relative(path: str, base: str) -> str:
    path = os.path.expanduser(path)
    return path if os.path.isabs(path) else os.path.join(base, path)


def _relative_spec(spec: str, base: str) -> str:
    """Paths in a suite file are relative to the file (``hf:`` ids are left alone)."""
    kind, sep, body = spec.partition(":")
    if sep and kind not in ("hf",) and len(kind) > 1:
        return f"{kind}:{_relative(body, base)}"
    return spec if spec.startswith("hf:") else _relative(spec, base)


def run_suite(models: Sequence[tuple[str, str | None]], entries: Sequence[SuiteEntry],
              config: BenchConfig) -> tuple[list[dict[str, Any]], list[Any]]:
    """Evaluate every model on every entry under one ``config``; return (results, the lazy models) in order.

    ``config.cache_dir`` is shared by every entry; each entry's own reader options (its
    ``image_root``, ``templates``, ...) override the command line's (``--released-eval-size``).
    """
    from ccneg_bench.datasets import load_eval_dataset  # lazy: torch (the command line reads this module)
    from ccneg_bench.evaluation import evaluate_with  # lazy: torch
    from ccneg_bench.models.lazy import LazyModel  # lazy: torch

    config.check()
    device = resolve_device(config.device)
    lazy = [LazyModel(spec, pretrained, device, config.cache_dir) for spec, pretrained in models]
    datasets = [load_eval_dataset(e.dataset, split=e.split, **{**config.dataset_options, **e.options})
                for e in entries]  # all checked first
    results: list[dict[str, Any]] = []
    for entry, dataset in zip(entries, datasets):
        results.extend(evaluate_with(lazy, dataset, entry.tasks, config))
    return results, lazy
