"""Everything about a ``ccneg-train`` command line that can be checked before anything loads.

A wrong device, a loss, loss term or evaluation task that does not exist, a split the dataset
does not have, a dataset without images, a NegBench file that is not there, weights that cannot be downloaded, a run folder that
already belongs to another run, a resume with other settings: each is one line within a
second, instead of a traceback after the model has loaded (or, worse, at the end of training).
Reading here is limited to file names, Parquet metadata, small columns and the run
configuration stored in a checkpoint (memory-mapped, never the tensors).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pyarrow.parquet as pq

from ccneg_bench.models.registry import check_model
from ccneg_bench.options import UsageError
from ccneg_bench.datasets import DATASETS
from ccneg_bench.train.config import TrainConfig, resume_conflicts
from ccneg_bench.train.run_folder import check_run_folder
from ccneg_bench.train.objectives.registry import check_loss_name, get_loss
from ccneg_bench.train.sources import NEGBENCH_PREFIX, check_source, training_source
from ccneg_bench.train.trainable import cache_needs_locked_tower, parse_trainable, trains_image_tower
from ccneg_core.dataset import split_files, split_names
from ccneg_core.devices import check_device, check_precision

IMAGE_LEAVES = ("image.bytes", "image.path")


def check_split(data_dir: Path, split: str, option: str) -> None:
    """Raise :class:`UsageError` naming the splits there are when ``split`` is not one of them.

    The splits are the names of the data files (the one rule of :mod:`ccneg_core.dataset`).
    """
    splits = split_names(data_dir)
    if split not in splits:
        raise UsageError(f"{option} {split}: {data_dir} has no such split; its splits are: "
                         f"{', '.join(splits) or 'none'}")


def _row_group_has_images(parquet: pq.ParquetFile, group: int) -> bool | None:
    """From Parquet statistics alone: True/False, or None when the file keeps no statistics."""
    meta = parquet.metadata.row_group(group)
    rows = meta.num_rows
    leaves = [meta.column(c) for c in range(meta.num_columns) if meta.column(c).path_in_schema in IMAGE_LEAVES]
    if not leaves:
        return False
    known = [leaf.statistics for leaf in leaves if leaf.statistics is not None and leaf.statistics.has_null_count]
    if len(known) < len(leaves):
        return None
    return any(stats.null_count < rows for stats in known)


def has_images(files: list[Path]) -> bool:
    """True when at least one row of ``files`` holds image bytes or an image path."""
    for path in files:
        parquet = pq.ParquetFile(path)
        if "image" not in parquet.schema_arrow.names:
            continue
        for group in range(parquet.metadata.num_row_groups):
            answer = _row_group_has_images(parquet, group)
            if answer is None:  # no statistics: read this row group's image column
                column = parquet.read_row_group(group, columns=["image"]).column(0).to_pylist()
                answer = any(ref and (ref.get("bytes") or ref.get("path")) for ref in column)
            if answer:
                return True
    return False


def check_train_config(cfg: TrainConfig, world_size: int | None = None) -> None:
    """Every check of a run's settings that needs no model; raises ``UsageError`` (or
    ``WeightsUnavailable`` when weights would need a download that cannot happen)."""
    from ccneg_bench.tasks import get_task  # lazy: torch

    world = world_size or int(os.environ.get("WORLD_SIZE", "1"))
    check_precision(cfg.precision, check_device(cfg.device))
    try:
        loss = get_loss(check_loss_name(cfg.loss))
        loss.check_config(cfg)
        parse_trainable(cfg.trained_parts())
    except ValueError as err:
        raise UsageError(str(err)) from None
    if cfg.cache_features == "on" and trains_image_tower(cfg.trained_parts()):
        raise UsageError(cache_needs_locked_tower(cfg.trained_parts()))
    for name, value, least in (("--batch-size", cfg.batch_size, 1), ("--accum-steps", cfg.accum_steps, 1),
                               ("--epochs", cfg.epochs, 1), ("--warmup-steps", cfg.warmup_steps, 0),
                               ("--save-every", cfg.save_every, 0), ("--keep-last", cfg.keep_last, 0),
                               ("--eval-every", cfg.eval_every, 0), ("--log-every", cfg.log_every, 1),
                               ("--workers", cfg.workers, 0)):
        if value < least:
            raise UsageError(f"{name} {value}: must be at least {least}")
    if cfg.max_steps is not None and cfg.max_steps < 1:
        raise UsageError(f"--max-steps {cfg.max_steps}: must be at least 1")
    if cfg.limit is not None and cfg.limit < 1:
        raise UsageError(f"--limit {cfg.limit}: must be at least 1")
    if not cfg.lr > 0:
        raise UsageError(f"--lr {cfg.lr}: must be above 0")
    unit = world * cfg.accum_steps
    if cfg.batch_size % unit:
        raise UsageError(f"--batch-size {cfg.batch_size} must be a multiple of world size x --accum-steps "
                         f"({world} x {cfg.accum_steps} = {unit})")
    if cfg.eval_at_end or cfg.eval_every:
        for task in cfg.eval_tasks:
            get_task(task)
    check_eval_datasets(cfg)
    if not cfg.model.startswith("open_clip:"):
        raise UsageError(f"--model {cfg.model}: ccneg-train fine-tunes open_clip models; use open_clip:ARCH "
                         "(an architecture name, hf-hub:ORG/NAME, a config JSON or an exported folder)")
    check_run_folder(Path(cfg.out), cfg.resume, cfg.overwrite)
    check_resume_compatible(cfg)
    check_data(cfg, loss.needs(cfg))
    check_model(cfg.model, cfg.pretrained)


def check_data(cfg: TrainConfig, needs: frozenset[str] = frozenset()) -> None:
    """The training split exists and has images; the evaluation split exists when evaluating.

    ``needs``: the optional inputs the loss reads (a loss reading MCQ options trains on a
    NegBench MCQ file; see :mod:`ccneg_bench.train.sources`).
    """
    if cfg.image_root is not None and not Path(cfg.image_root).expanduser().is_dir():
        raise UsageError(f"--image-root {cfg.image_root}: no such folder")
    source = training_source(cfg.data, cfg.split, needs)
    try:
        check_source(source, cfg.loss, needs)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if source.kind == "mcq":
        if not source.path.is_file():
            hint = ("give --data negbench:FILE.csv, or a folder written by 'ccneg-build --style negbench'"
                    if not cfg.data.startswith(NEGBENCH_PREFIX) else "check the path")
            raise UsageError(f"--data {cfg.data}: no NegBench MCQ file {source.path} for --loss {cfg.loss}; {hint}")
        return
    data = Path(cfg.data)
    if not data.is_dir():
        raise UsageError(f"--data {cfg.data}: no such folder (a ccneg-build output folder)")
    check_split(data, cfg.split, "--split")
    if (cfg.eval_at_end or cfg.eval_every) and cfg.eval_split != cfg.split:
        check_split(data, cfg.eval_split, "--eval-split")
    if not has_images(split_files(data, cfg.split)):
        raise UsageError(f"--data {cfg.data}: split {cfg.split!r} has no images (the image column is empty: was "
                         "the dataset built without images?); ccneg-train needs the images, so rebuild it with them")


#: the ccneg-bench dataset kinds ``--eval-zeroshot`` takes (zero-shot classification data)
ZEROSHOT_KINDS = ("imagefolder", "cifar10", "cifar100", "cifar")


def check_eval_datasets(cfg: TrainConfig) -> None:
    """``--eval-zeroshot`` names a classification dataset and ``--eval-data`` something that exists."""
    if cfg.eval_zeroshot:
        kind, sep, path = cfg.eval_zeroshot.partition(":")
        if not sep or kind not in ZEROSHOT_KINDS or not path:
            raise UsageError(f"--eval-zeroshot {cfg.eval_zeroshot}: give imagefolder:DIR (one sub-folder per class) "
                             "or cifar10:DIR / cifar100:DIR / cifar:DIR (CIFAR's python-version folder)")
        if not Path(path).expanduser().is_dir():
            raise UsageError(f"--eval-zeroshot {cfg.eval_zeroshot}: no such folder {path}")
    if cfg.eval_data and not cfg.eval_data.startswith("hf:"):
        kind, sep, path = cfg.eval_data.partition(":")
        target = path if sep and kind in DATASETS else cfg.eval_data
        if not Path(target).expanduser().exists():
            raise UsageError(f"--eval-data {cfg.eval_data}: no such file or folder {target} (a ccneg-bench dataset, "
                             "e.g. negbench:FILE.csv or a ccneg folder)")


def check_resume_compatible(cfg: TrainConfig) -> None:
    """A resumed run must keep the settings that define a step (checked on the stored config)."""
    from ccneg_bench.train.checkpoint import peek_config, resolve_resume  # lazy: torch

    path = resolve_resume(cfg.resume, Path(cfg.out))
    if path is None:
        return
    changed = resume_conflicts(peek_config(path), cfg)
    if changed:
        raise UsageError(f"{path}: cannot resume with a different setting ({'; '.join(changed)}); "
                         "use the run's settings, --overwrite, or a new --out")


def warmup_warning(cfg: TrainConfig) -> str | None:
    """A warning when the run ends inside the learning-rate warm-up (the rate stays near zero)."""
    if cfg.max_steps is not None and cfg.max_steps < cfg.warmup_steps:
        peak = cfg.max_steps / cfg.warmup_steps
        return (f"--max-steps {cfg.max_steps} ends inside the {cfg.warmup_steps}-step warm-up: the learning rate "
                f"only reaches {100 * peak:.0f}% of --lr {cfg.lr:g}; lower --warmup-steps to train at the full rate")
    return None


def print_warnings(cfg: TrainConfig) -> None:
    message = warmup_warning(cfg)
    if message:
        print(f"ccneg-train: warning: {message}", file=sys.stderr)
