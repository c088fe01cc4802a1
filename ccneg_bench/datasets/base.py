"""What every dataset kind hands to the tasks: samples (text + metadata) and image tables.

Samples hold only strings and small metadata, so they stay in memory; image bytes stay on disk
in an :class:`ImageTable` and are read chunk by chunk inside DataLoader workers. A chunk is
also the unit of the on-disk feature cache (see :mod:`ccneg_bench.features`).
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Sample:
    """One evaluation sample: an image (row ``index`` of the image table) and its two captions."""

    id: str
    caption: str
    negated_caption: str
    negation_cue: str | None = None
    num_relations: int | None = None
    negation_type: str | None = None
    #: id of the first distractor image (an image the negated caption fits better), if any
    distractor_id: str | None = None


class ImageTable(ABC):
    """Images addressed by row index; read in contiguous chunks (inside worker processes)."""

    #: image ids, row-aligned (used to resolve distractor ids)
    ids: list[str]
    #: folder that relative image paths are resolved against
    root: str | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @abstractmethod
    def chunks(self, size: int) -> list[tuple[int, int]]:
        """Contiguous ``(start, stop)`` row ranges of at most ``size`` rows covering the table."""

    @abstractmethod
    def read_refs(self, start: int, stop: int) -> list[Any]:
        """Image references (``{"bytes", "path"}``, bytes or a path) of rows ``start:stop``."""

    @abstractmethod
    def fingerprint(self) -> str:
        """Changes whenever the images could have changed (file names, sizes, mtimes)."""


def even_chunks(n: int, size: int) -> list[tuple[int, int]]:
    return [(s, min(s + size, n)) for s in range(0, n, max(1, size))]


def digest(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class EvalDataset:
    """A loaded split: samples row-aligned with ``images``; optional distractor images."""

    spec: str
    split: str
    samples: list[Sample]
    images: ImageTable
    distractors: ImageTable | None = None
    #: per sample: row of its distractor in ``distractors`` (or None)
    distractor_rows: list[int | None] = field(default_factory=list)
    #: notes for the result file (e.g. distractor ids that could not be resolved)
    notes: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        texts = digest([(s.id, s.caption, s.negated_caption) for s in self.samples])
        return digest([self.spec, self.split, self.images.fingerprint(), texts])

    def attach_distractors(self, table: ImageTable | None) -> None:
        """Resolve every sample's ``distractor_id`` to a row of ``table``."""
        self.distractors = table
        if table is None:
            self.distractor_rows = [None] * len(self.samples)
            return
        where = {image_id: row for row, image_id in enumerate(table.ids)}
        rows, unresolved = [], 0
        for sample in self.samples:
            row = where.get(sample.distractor_id) if sample.distractor_id else None
            unresolved += bool(sample.distractor_id) and row is None
            rows.append(row)
        self.distractor_rows = rows
        if unresolved:
            self.notes["distractors_unresolved"] = unresolved
