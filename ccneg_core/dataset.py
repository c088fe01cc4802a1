"""The one reader of a built ccneg dataset folder, with the one split rule.

ccneg-bench scores a split, ccneg-train trains on one and mines distractors for one, and
``ccneg-build review`` samples one; all of them read the folder through this module, so a
split means the same rows everywhere.

**The check.** A folder is read only as ``manifest.json`` lists it: every listed file must
be there with its listed size (:func:`published_files`; ``ccneg-build push`` also compares
the sha256). A folder whose publication did not finish (no manifest yet, a listed file
missing or changed) is refused with one line that says to rerun the build; files the
manifest does not list (another publication's, half-written ones) are never read. Every
reader goes through here: ccneg-bench, ccneg-train and its miner, ``review``, ``push`` and
``export-official``.

**The split rule.** A split is the rows of the files named after it,
``data/{split}-NNNNN-of-NNNNN-{publication}.parquet`` — the files ccneg-build publishes
together with the id list ``splits/{split}-{publication}.txt``, and what
``datasets.load_dataset(OUT)`` calls that split. The ``split`` column inside the rows is never
consulted: a file name is what a user sees and what every other tool goes by, so a split the
files do not have is an error naming the splits there are (never a silent fall-back to every
file). A ``data/`` file whose name states no split is an error too, since no one could say
which split its rows are in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from ccneg_core.layout import (
    ASSIGNMENTS_FILE,
    DATA_DIR,
    DISTRACTOR_DIR,
    MANIFEST,
    REJECTED_DIR,
    STATE_DIR,
    split_of_file,
)
from ccneg_core.record import RECORD_SCHEMA
from ccneg_core.writer import file_sha256


class DatasetFolderError(ValueError):
    """The folder, a split or a data file cannot be read as asked; the message says what to do."""


class IncompleteDatasetError(DatasetFolderError):
    """The folder does not match its manifest (publishing did not finish, or a file changed)."""


def is_dataset_folder(folder: str | Path) -> bool:
    """Does ``folder`` hold a ccneg dataset, complete or not (``data/*.parquet``, a manifest
    with a file list, or a build's run state)? An incomplete one is then refused by the readers."""
    folder = Path(folder)
    data = folder / DATA_DIR
    if (data.is_dir() and any(data.glob("*.parquet"))) or (folder / STATE_DIR).is_dir():
        return True
    try:
        return "files" in json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return False


def incomplete(folder: str | Path, what: str) -> IncompleteDatasetError:
    """The one-line refusal of a folder that does not match its manifest."""
    return IncompleteDatasetError(
        f"{folder}: incomplete or changed dataset ({what}); rerun the ccneg-build command that made it "
        "to finish publishing it"
    )


def unpublished(folder: str | Path) -> IncompleteDatasetError:
    """The one-line refusal of a folder with no publication at all."""
    return IncompleteDatasetError(
        f"{folder}: no published dataset (no {MANIFEST}: its build did not finish, or accepted no row); "
        "rerun the ccneg-build command that made it to finish it or to see why"
    )


def published_files(folder: str | Path, check_hashes: bool = False) -> list[dict[str, Any]]:
    """The manifest's file list, after checking that every listed file is there with its size.

    ``check_hashes`` also compares every file's sha256 (reads every byte: for uploads). Raises
    :class:`IncompleteDatasetError` (one line) for a folder whose publication did not finish.
    """
    folder = Path(folder)
    if not is_dataset_folder(folder):
        raise DatasetFolderError(
            f"{folder}: no ccneg dataset here (no {MANIFEST} or {DATA_DIR}/); give the --out folder of a "
            "ccneg-build run"
        )
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise unpublished(folder) from None
    except (OSError, ValueError) as err:
        raise incomplete(folder, f"{MANIFEST} cannot be read: {err}") from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, list) or not all(isinstance(f, dict) and _listed(f) for f in files):
        raise incomplete(folder, f"{MANIFEST} has no valid file list (path and bytes of every file)")
    for entry in files:
        path = folder / entry["path"]
        try:
            size = path.stat().st_size
        except OSError:
            raise incomplete(folder, f"{entry['path']} is missing") from None
        if size != entry["bytes"]:
            raise incomplete(folder, f"{entry['path']} has {size} bytes, {MANIFEST} says {entry['bytes']}")
        if check_hashes:
            if file_sha256(path) != entry.get("sha256"):
                raise incomplete(folder, f"{entry['path']} does not have the sha256 {MANIFEST} lists")
    return files


def _listed(entry: dict[str, Any]) -> bool:
    """A file entry with a safe relative path (never outside the folder) and a byte count."""
    path = entry.get("path")
    if not isinstance(path, str) or not isinstance(entry.get("bytes"), int):
        return False
    parts = path.split("/")
    return not path.startswith("/") and "\\" not in path and all(p not in ("", ".", "..") for p in parts)


def published_path(folder: str | Path, name: str) -> Path | None:
    """Where the published file ``name`` (its name without the publication id, e.g.
    ``official/annotations.parquet``) is in a checked folder; None when it has none.

    A folder published before names carried the id lists only its Parquet files: there
    ``name`` itself is the file, when present.
    """
    files = published_files(folder)
    for entry in files:
        if entry.get("name", entry["path"]) == name:
            return Path(folder) / entry["path"]
    legacy = Path(folder) / name
    return legacy if legacy.is_file() and not any("name" in entry for entry in files) else None


def rejected_files(folder: str | Path) -> list[Path]:
    """The rejected rows' files of a checked folder, sorted."""
    return sorted(Path(folder) / f["path"] for f in published_files(folder)
                  if f["path"].startswith(REJECTED_DIR + "/") and f["path"].endswith(".parquet"))


def data_files(folder: str | Path) -> list[Path]:
    """Every data file of the folder (as its manifest lists them, checked), sorted by name; each
    name states its split."""
    folder = Path(folder)
    files = sorted(folder / f["path"] for f in published_files(folder)
                   if f["path"].startswith(DATA_DIR + "/") and f["path"].endswith(".parquet"))
    if not files:
        raise DatasetFolderError(
            f"{folder}: no ccneg dataset here (no {DATA_DIR}/*.parquet in {MANIFEST}); give the --out folder of a "
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
