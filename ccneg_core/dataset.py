"""The one reader of a built ccneg dataset folder, with the one split rule.

ccneg-bench scores a split, ccneg-train trains on one and mines distractors for one, and
``ccneg-build review`` samples one; all of them read the folder through this module, so a
split means the same rows everywhere.

**The split rule.** A split is the rows of the files named after it,
``data/{split}-NNNNN-of-NNNNN.parquet`` — the files ccneg-build publishes together with the
id list ``splits/{split}.txt``, and what ``datasets.load_dataset(OUT)`` calls that split.
The ``split`` column inside the rows is never consulted: a file name is what a user sees and
what every other tool goes by, so a split the files do not have is an error naming the
splits there are (never a silent fall-back to every file). A ``data/`` file whose name
states no split is an error too, since no one could say which split its rows are in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from ccneg_core.layout import ASSIGNMENTS_FILE, DATA_DIR, DISTRACTOR_DIR, split_of_file
from ccneg_core.record import RECORD_SCHEMA


class DatasetFolderError(ValueError):
    """The folder, a split or a data file cannot be read as asked; the message says what to do."""


def is_dataset_folder(folder: str | Path) -> bool:
    """Does ``folder`` hold a built dataset (at least one ``data/*.parquet``)?"""
    data = Path(folder) / DATA_DIR
    return data.is_dir() and any(data.glob("*.parquet"))


def data_files(folder: str | Path) -> list[Path]:
    """Every data file of the folder, sorted by name; each name states its split."""
    folder = Path(folder)
    files = sorted((folder / DATA_DIR).glob("*.parquet"))
    if not files:
        raise DatasetFolderError(
            f"{folder}: no ccneg dataset here (no {DATA_DIR}/*.parquet); give the --out folder of a "
            "ccneg-build run"
        )
    for path in files:
        if split_of_file(path) is None:
            raise DatasetFolderError(
                f"{path}: the name states no split (expected SPLIT-NNNNN-of-NNNNN.parquet, e.g. "
                f"train-00000-of-00001.parquet); rename it or move it out of {DATA_DIR}/"
            )
    return files


def split_names(folder: str | Path) -> list[str]:
    """The splits of the folder, sorted (``eval``, ``train`` for a ccneg-build folder)."""
    return sorted({split_of_file(path) or "" for path in data_files(folder)})


def split_files(folder: str | Path, split: str | None) -> list[Path]:
    """The data files of ``split`` (every split's files when ``split`` is None), sorted."""
    files = data_files(folder)
    if split is None:
        return files
    named = [path for path in files if split_of_file(path) == split]
    if not named:
        raise DatasetFolderError(
            f"{folder}: no split {split!r} (no {DATA_DIR}/{split}-*.parquet files); available splits: "
            f"{', '.join(split_names(folder))}"
        )
    return named


def read_split(folder: str | Path, split: str | None, columns: Sequence[str],
               required: Iterable[str] = ("id",)) -> pa.Table:
    """``columns`` of the rows of ``split`` (None: every split), in file order.

    A column a file lacks reads as nulls (typed as in the record schema); a ``required``
    column it lacks, or a file that is not Parquet, is an error naming the file.
    """
    tables = [read_file(path, columns, required) for path in split_files(folder, split)]
    return pa.concat_tables(tables, promote_options="default")


def read_file(path: Path, columns: Sequence[str], required: Iterable[str] = ("id",)) -> pa.Table:
    """``columns`` of one data file (see :func:`read_split`)."""
    try:
        present = set(pq.read_schema(path).names)
        missing = sorted(set(required) - present)
        if missing:
            raise DatasetFolderError(
                f"{path}: missing required column(s) {missing} (not a ccneg-build data file?); rebuild it or move "
                f"it out of {DATA_DIR}/"
            )
        table = pq.read_table(path, columns=[c for c in columns if c in present])
    except (OSError, pa.ArrowException) as err:
        raise DatasetFolderError(
            f"{path}: unreadable Parquet shard ({err}); rebuild it or move it out of {DATA_DIR}/"
        ) from None
    for name in columns:
        if name not in present:
            table = table.append_column(name, pa.nulls(table.num_rows, _column_type(name)))
    return table.select(list(columns))


def first_distractors(folder: str | Path, distractor_dir: str | Path | None = None) -> dict[str, str]:
    """Per sample id, its first (best) mined distractor id; empty when nothing was mined.

    Read from ``distractors/assignments.parquet`` (``distractor_dir`` replaces the folder).
    """
    path = Path(distractor_dir or Path(folder) / DISTRACTOR_DIR) / ASSIGNMENTS_FILE
    if not path.is_file():
        return {}
    try:
        table = pq.read_table(path, columns=["id", "distractor_ids"])
    except (OSError, pa.ArrowException) as err:
        raise DatasetFolderError(f"{path}: unreadable ({err}); mine the distractors again") from None
    ids, picks = table.column("id").to_pylist(), table.column("distractor_ids").to_pylist()
    return {i: p[0] for i, p in zip(ids, picks) if p and p[0]}


def _column_type(name: str) -> pa.DataType:
    index = RECORD_SCHEMA.get_field_index(name)
    return RECORD_SCHEMA.field(index).type if index >= 0 else pa.null()  # a null column joins any type
