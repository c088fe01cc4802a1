"""Training data: rows of a ccneg dataset folder with their first mined distractor image.

(NegBench-style multiple-choice rows become the same :class:`TrainRows`, see
:mod:`ccneg_bench.train.mcq_data`; :mod:`ccneg_bench.train.sources` picks the reader.)

A training sample is the paper's quadruple (I, I', c, c'): the image, its first distractor
(from ``DATASET/distractors/``, written by ``ccneg-train mine-distractors``), the true caption
and the negated caption. Rows that cannot take part are dropped before training, counted by
reason (``no_caption``, ``no_negated_caption``, ``no_image``, ``no_distractor``) and listed in
the run's ``skipped.jsonl``; an image that fails to decode during training is replaced by a
grey image and counted, so one bad file never stops a run.

Images stay compressed in Arrow memory (no Python object per row), so forked DataLoader
workers share them without copying.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch
from PIL import Image

from ccneg_core.dataset import first_distractors, read_split
from ccneg_core.image_decode import ImageRejected, decode_image
from ccneg_core.layout import ASSIGNMENTS_FILE, DISTRACTOR_DIR, POOL_IMAGES_FILE
from ccneg_core.writer import atomic_write_text

#: what a training row needs; a split is the rows of ``data/{split}-*.parquet`` (:mod:`ccneg_core.dataset`)
_COLUMNS = ("id", "image", "caption", "negated_caption")


class ImageColumn:
    """Random access to an Arrow image column (HF ``Image`` structs) without Python copies."""

    def __init__(self, column: pa.ChunkedArray) -> None:
        self._chunks = column.chunks
        self._starts = []
        total = 0
        for chunk in self._chunks:
            self._starts.append(total)
            total += len(chunk)
        self._len = total

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, index: int) -> Any:
        which = bisect.bisect_right(self._starts, index) - 1
        return self._chunks[which][index - self._starts[which]].as_py()


@dataclass
class TrainRows:
    """The rows a run trains on, after dropping those that cannot take part."""

    ids: list[str]
    captions: list[str]
    negated: list[str]
    images: Sequence[Any]  # image references (an ImageColumn, or a list of {"bytes", "path"})
    image_rows: list[int]  # row of each sample in ``images``
    distractors: ImageColumn | None
    distractor_rows: list[int]  # row of each sample's first distractor in ``distractors``
    root: str
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_rows: list[dict[str, str]] = field(default_factory=list)
    #: multiple-choice rows only: each sample's options and the index of the right one
    options: list[tuple[str, ...]] = field(default_factory=list)
    correct: list[int] = field(default_factory=list)
    #: changes when image files change under unchanged ids (file-based rows); part of the feature-cache key
    fingerprint: str = ""

    def __len__(self) -> int:
        return len(self.ids)


def _read_distractors(data_dir: Path, distractor_dir: Path | None) -> tuple[dict[str, str], pa.Table]:
    folder = Path(distractor_dir) if distractor_dir else Path(data_dir) / DISTRACTOR_DIR
    assignments_path = folder / ASSIGNMENTS_FILE
    images_path = folder / POOL_IMAGES_FILE
    if not assignments_path.is_file() or not images_path.is_file():
        raise FileNotFoundError(
            f"{folder}: no mined distractors ({ASSIGNMENTS_FILE} and {POOL_IMAGES_FILE}); run "
            f"'ccneg-train mine-distractors --data {data_dir} --pool POOL' first, or train with "
            "--loss clip"
        )
    return first_distractors(data_dir, folder), pq.read_table(images_path, columns=["image_id", "image"])


def load_train_rows(
    data_dir: Path,
    split: str | None = "train",
    need_distractors: bool = True,
    distractor_dir: Path | None = None,
    limit: int | None = None,
    need_negated: bool | None = None,
) -> TrainRows:
    """Read the training rows of a ccneg dataset folder (and their distractors when needed).

    ``need_negated`` (default: ``need_distractors``) skips rows without a negated caption.
    """
    need_negated = need_distractors if need_negated is None else need_negated
    table = read_split(Path(data_dir), split, _COLUMNS, required=("id", "caption"))
    if limit is not None:
        table = table.slice(0, limit)
    ids = table.column("id").to_pylist()
    captions = table.column("caption").to_pylist()
    negated = table.column("negated_caption").to_pylist()
    image_refs = table.column("image")
    has_image = pc.is_valid(image_refs).to_pylist()

    first_distractor: dict[str, str] = {}
    pool_rows: dict[str, int] = {}
    pool_column = None
    if need_distractors:
        first_distractor, pool = _read_distractors(Path(data_dir), distractor_dir)
        pool_rows = {image_id: i for i, image_id in enumerate(pool.column("image_id").to_pylist())}
        pool_column = ImageColumn(pool.column("image"))

    kept = TrainRows([], [], [], ImageColumn(image_refs), [], pool_column, [], str(data_dir))
    for row, sample_id in enumerate(ids):
        reason = None
        if not captions[row]:
            reason = "no_caption"
        elif need_negated and not negated[row]:
            reason = "no_negated_caption"
        elif not has_image[row]:
            reason = "no_image"
        elif need_distractors and pool_rows.get(first_distractor.get(sample_id, ""), None) is None:
            reason = "no_distractor"
        if reason:
            kept.skipped[reason] = kept.skipped.get(reason, 0) + 1
            kept.skipped_rows.append({"id": sample_id, "reason": reason})
            continue
        kept.ids.append(sample_id)
        kept.captions.append(captions[row])
        kept.negated.append(negated[row] or "")
        kept.image_rows.append(row)
        if need_distractors:
            kept.distractor_rows.append(pool_rows[first_distractor[sample_id]])
    if not kept.ids:
        raise ValueError(
            f"{data_dir}: no usable training rows in split {split!r} (skipped: {kept.skipped}); "
            "check --split and that distractors were mined"
        )
    return kept


def write_skipped(rows: TrainRows, path: Path) -> None:
    """List the dropped rows with their reasons (one JSON object per line)."""
    atomic_write_text(path, "".join(json.dumps(item) + "\n" for item in rows.skipped_rows))


class ImagePairs(torch.utils.data.Dataset):
    """Transformed image (and distractor image) tensors of sample ``i``, for DataLoaders.

    A decode failure gives a grey image and ``bad = 1`` so the caller can count it.
    """

    def __init__(self, rows: TrainRows, transform: Callable[[Image.Image], torch.Tensor], with_distractors: bool, image_size: int) -> None:
        self.rows = rows
        self.transform = transform
        self.with_distractors = with_distractors
        self.image_size = image_size

    def __len__(self) -> int:
        return len(self.rows)

    def _load(self, column: Sequence[Any], row: int) -> tuple[torch.Tensor, int]:
        try:
            image = decode_image(column[row], root=self.rows.root)
            bad = 0
        except ImageRejected:
            image = Image.new("RGB", (self.image_size, self.image_size), (128, 128, 128))
            bad = 1
        return self.transform(image), bad

    def __getitem__(self, index: int) -> dict[str, Any]:
        image, bad = self._load(self.rows.images, self.rows.image_rows[index])
        item = {"index": index, "image": image, "bad": bad}
        if self.with_distractors:
            assert self.rows.distractors is not None
            distractor, bad_d = self._load(self.rows.distractors, self.rows.distractor_rows[index])
            item["distractor"] = distractor
            item["bad"] = bad + bad_d
        return item


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The sample order of one epoch: a function of (seed, epoch) only, hence resumable."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=generator)


def step_indices(n: int, global_batch: int, seed: int, step: int, rank: int, world_size: int) -> list[int]:
    """Local sample indices of optimiser step ``step`` (epochs drop their last partial batch)."""
    steps_per_epoch = n // global_batch
    epoch, position = divmod(step, steps_per_epoch)
    order = epoch_permutation(n, seed, epoch)
    batch = order[position * global_batch : (position + 1) * global_batch]
    local = global_batch // world_size
    return batch[rank * local : (rank + 1) * local].tolist()


class StepSampler(torch.utils.data.Sampler):
    """Yields the local micro-batches of steps ``start_step .. total_steps - 1`` in order.

    Resuming is exact because the order depends only on (seed, epoch, step), not on
    anything that happened before the checkpoint.
    """

    def __init__(self, n: int, global_batch: int, seed: int, start_step: int, total_steps: int, rank: int, world_size: int, accum: int) -> None:
        self.args = (n, global_batch, seed)
        self.start_step, self.total_steps = start_step, total_steps
        self.rank, self.world_size, self.accum = rank, world_size, accum

    def __len__(self) -> int:
        return max(0, self.total_steps - self.start_step) * self.accum

    def __iter__(self):
        n, global_batch, seed = self.args
        for step in range(self.start_step, self.total_steps):
            local = step_indices(n, global_batch, seed, step, self.rank, self.world_size)
            size = len(local) // self.accum
            for j in range(self.accum):
                yield local[j * size : (j + 1) * size]
