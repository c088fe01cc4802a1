"""What every dataset kind hands to the tasks: samples (text + metadata) and image tables.

Samples hold only strings and small metadata, so they stay in memory; image bytes stay on disk
in an :class:`ImageTable` and are read chunk by chunk inside DataLoader workers. A chunk is
also the unit of the on-disk feature cache (see :mod:`ccneg_bench.features`).

A CC-Neg sample is an (image, caption, negated caption) triple. The other benchmarks
(NegBench, SugarCREPE, CREPE, zero-shot classification) generalise it: a sample may carry a
tuple of candidate ``options`` with the index of the ``correct`` one, a ``group`` (MCQ template,
SugarCREPE subset), a class ``label``, and an ``image_row`` when several samples share one image
(SugarCREPE repeats COCO images), so that each image is decoded and encoded once. A referring-
expression sample (NegRefCOCOg) turns the choice around: one text, candidate images
(``image_options``, rows of the image table), ``correct`` the index of the right one.
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
    #: candidate texts of a choice or ranking benchmark (empty for CC-Neg triples)
    options: tuple[str, ...] = ()
    #: index of the right option in ``options``
    correct: int = 0
    #: sub-population the benchmark reports separately (MCQ template, SugarCREPE subset, ...)
    group: str | None = None
    #: class index for classification benchmarks
    label: int | None = None
    #: row of this sample's image in the image table (None: the sample's own position)
    image_row: int | None = None
    #: candidate images (rows of the image table) the caption chooses among (empty: one image per sample)
    image_options: tuple[int, ...] = ()

    def candidates(self) -> tuple[str, ...]:
        """The texts the image chooses among: ``options``, or (caption, negated caption); for a
        sample that chooses among images, its one caption."""
        if self.image_options and not self.options:
            return (self.caption,)
        return self.options if self.options else (self.caption, self.negated_caption)


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
    #: the benchmark's name in result files (CLIP_benchmark style: ``sugar_crepe``, ``cifar10``);
    #: empty for CC-Neg data, whose name is derived from the spec and split
    name: str = ""
    #: tasks run when the caller names none
    default_tasks: tuple[str, ...] = ("ccneg",)
    #: rows of the source files that could not become samples: {"id", "code", "detail"}
    rejected: list[dict[str, str]] = field(default_factory=list)
    #: class names and prompts of a classification benchmark (see ``datasets.templates``)
    classes: Any = None
    #: the benchmark's layout, for tasks whose rules depend on it (``mcq``, ``captions``, ...)
    kind: str = "ccneg"

    def fingerprint(self) -> str:
        texts = digest([(s.id, s.caption, s.negated_caption) + ((s.options, s.correct, s.label) if s.options or s.label is not None else ())
                        + ((s.image_options, s.correct) if s.image_options else ()) for s in self.samples])
        return digest([self.spec, self.split, self.images.fingerprint(), texts])

    def image_rows(self) -> list[int]:
        """Per sample, its row in ``images``."""
        return [i if s.image_row is None else s.image_row for i, s in enumerate(self.samples)]

    def texts(self) -> list[str]:
        """Every text the tasks may score (each sample's candidates, then class prompts)."""
        out = [t for s in self.samples for t in s.candidates()] if any(s.options or s.image_options for s in self.samples) else \
            [s.caption for s in self.samples] + [s.negated_caption for s in self.samples]
        if self.classes is not None:
            out.extend(self.classes.all_prompts())
        return out

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


@dataclass(frozen=True)
class DatasetOptions:
    """The settings a dataset kind may read; each kind reads the ones it uses and ignores the rest.

    ``image_root`` (benchmark files whose image paths are relative), ``templates`` /
    ``negated_templates`` (zero-shot classification prompts), ``eval_size`` (released CC-Neg:
    how many last rows are eval).
    """

    image_root: str | None = None
    templates: Any = None
    negated_templates: Any = None
    eval_size: int | None = None
