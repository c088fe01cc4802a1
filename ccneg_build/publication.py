"""Publishing a dataset folder atomically: a reader sees the previous dataset or the new one, never a mix.

A *publication* is every file one run makes the dataset: ``data/``, ``rejected/``, ``splits/``
(and whatever else a step publishes through it, e.g. ``official/``). :class:`Publication`
keeps each file under a hidden temporary name beside its place while it is written (hidden
names are skipped by ``load_dataset``, the Hub upload and :mod:`ccneg_core.dataset`), then
:meth:`Publication.commit` switches:

1. every file gets its published name: its name plus the *publication id* (12 hex digits of a
   hash of every file's name and sha256), ``data/train-00000-of-00003-1a2b3c4d5e6f.parquet``.
   Files of two publications never share a name, and the same content always gets the same
   names, so a rerun after a crash writes exactly what an uninterrupted run writes;
2. the ledger claims the new names (``--overwrite`` may delete only what it lists);
3. the dataset card ``README.md`` names exact files (never globs), so ``load_dataset`` reads
   exactly the files of one publication. When the current card would not keep it on the
   previous dataset (there is none yet, or it is an older version's card with globs), the new
   card is written *first*: until every new file is in place ``load_dataset`` then refuses (a
   file the card names is missing) instead of reading a part;
4. the files are renamed into place, then the card (if not written first), then
   ``manifest.json``, each in one rename. The manifest lists every file with its size and
   sha256: it is what :func:`ccneg_core.dataset.published_files` checks before any of our
   readers reads a row;
5. files of earlier publications in the same folders are deleted, only then.

``.ccneg/publishing.json`` exists from the first staged file to the end of step 5, so a folder
left by a build killed while publishing is recognisable (``push`` refuses it) even where its
readers still see the previous complete dataset.

A kill at any point leaves the previous complete dataset, the new complete one, or a folder
every reader refuses; rerunning the same command completes the publication.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from ccneg_build.card_parts import named_data_files
from ccneg_core.layout import (
    CARD,
    DATA_DIR,
    FIXED_FILES,
    MANIFEST,
    PUBLICATION_ID_LENGTH,
    PUBLISHING,
    published_name,
    split_of_file,
)
from ccneg_build.outdir import Ledger
from ccneg_core.writer import (
    COMPRESSION,
    ROW_GROUP_ROWS,
    PendingFile,
    atomic_write_json,
    atomic_write_text,
    file_sha256,
)

#: Fault injection for the tests: ``CCNEG_TEST_KILL_AT=STEP:N`` makes the process kill itself
#: (SIGKILL, as ``kill -9`` would) the N-th time publishing reaches STEP: ``staged`` (a file
#: is written under its temporary name), ``card``, ``renamed`` (a file is in place),
#: ``manifest`` or ``removed`` (a file of an earlier publication is deleted).
KILL_AT_VARIABLE = "CCNEG_TEST_KILL_AT"
_reached: dict[str, int] = {}


def checkpoint(step: str) -> None:
    """A point of publishing where a crash must leave a readable or a refused folder (see above)."""
    wanted = os.environ.get(KILL_AT_VARIABLE)
    if not wanted:
        return
    _reached[step] = _reached.get(step, 0) + 1
    name, _, count = wanted.partition(":")
    if name == step and str(_reached[step]) == (count or "1"):
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class _Staged:
    pending: PendingFile
    entry: dict[str, Any]


class Publication:
    """The files of one publication, staged under temporary names until :meth:`commit`.

    Write a file with :meth:`output` / :meth:`write_table` / :meth:`write_text` (or
    :meth:`stage` + :meth:`add` for a writer that streams into an open file); ``name`` is
    its path in the folder without the publication id (``data/train-00000-of-00003.parquet``),
    the extra keyword arguments (``split``, ``rows``) go to its manifest entry.
    """

    def __init__(self, out: Path):
        self.out = Path(out)
        self._staged: dict[str, _Staged] = {}
        self._cleaned: set[Path] = set()
        self._marked = False
        self._id: str | None = None

    # ------------------------------------------------------------------ writing

    def stage(self, name: str) -> PendingFile:
        """A temporary file for ``name``; hand it back with :meth:`add` once it is complete."""
        if self._id is not None:
            raise RuntimeError("the publication is sealed: every file must be written before its file list is read")
        _check_name(name)
        if name in self._staged:
            raise ValueError(f"{name}: written twice in one publication")
        if not self._marked:  # from now on, a crash leaves the mark
            atomic_write_json(self.out / PUBLISHING, {"pid": os.getpid()})
            self._marked = True
        pending = PendingFile(self.out / name)
        self._remove_temporaries(pending.path.parent)
        return pending

    def add(self, name: str, pending: PendingFile, **facts: Any) -> None:
        """``pending`` now holds all of ``name``: note its size and hash (it keeps its temporary name)."""
        size = pending.tmp.stat().st_size
        self._staged[name] = _Staged(pending, {"name": name, **facts, "bytes": size,
                                               "sha256": file_sha256(pending.tmp)})
        checkpoint("staged")

    @contextmanager
    def output(self, name: str, **facts: Any) -> Iterator[Path]:
        """Yield the temporary path of ``name`` to fill; on success it joins the publication."""
        pending = self.stage(name)
        try:
            yield pending.tmp
            self.add(name, pending, **facts)
        except BaseException:
            pending.discard()
            raise

    def write_table(self, name: str, table: pa.Table, **facts: Any) -> None:
        """One Parquet file (deterministic bytes for the same table); ``rows`` is noted."""
        with self.output(name, rows=table.num_rows, **facts) as tmp:
            pq.write_table(table, tmp, compression=COMPRESSION, row_group_size=ROW_GROUP_ROWS)

    def write_text(self, name: str, text: str, **facts: Any) -> None:
        with self.output(name, **facts) as tmp:
            tmp.write_bytes(text.encode("utf-8"))

    def write_json(self, name: str, value: Any, **facts: Any) -> None:
        self.write_text(name, json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n", **facts)

    def staged(self, folder: str) -> list[tuple[str, Path]]:
        """(name, temporary path) of the complete files staged under ``folder``, by name: what a
        later step of the same publication (the negbench export) reads before the switch."""
        prefix = folder.rstrip("/") + "/"
        return [(name, staged.pending.tmp) for name, staged in sorted(self._staged.items()) if name.startswith(prefix)]

    def discard(self) -> None:
        """Remove every staged temporary file (a failed run publishes nothing)."""
        for staged in self._staged.values():
            staged.pending.discard()
        self._staged.clear()
        (self.out / PUBLISHING).unlink(missing_ok=True)

    # ------------------------------------------------------------------ the file list

    @property
    def id(self) -> str:
        """The publication id: a hash of every staged file's name and sha256 (seals the publication)."""
        if self._id is None:
            digest = hashlib.sha256()
            for name in sorted(self._staged):
                digest.update(f"{name}\x1f{self._staged[name].entry['sha256']}\n".encode())
            self._id = digest.hexdigest()[:PUBLICATION_ID_LENGTH]
        return self._id

    def files(self) -> list[dict[str, Any]]:
        """The manifest's ``files``: every file under its published name, sorted (seals the publication)."""
        return [{"path": published_name(name, self.id), **self._staged[name].entry} for name in sorted(self._staged)]

    # ------------------------------------------------------------------ the switch

    def commit(self, manifest: dict[str, Any], card: str) -> dict[str, Any]:
        """Make the staged files the folder's dataset, with ``card`` and ``manifest`` (see the module doc).

        ``manifest["files"]`` must be :meth:`files`; returns the manifest as written (with
        ``publication``, the id).
        """
        files = self.files()
        if manifest.get("files") != files:
            raise ValueError("the manifest must list the publication's files (Publication.files())")
        manifest = {**manifest, "publication": self.id}
        names = [entry["path"] for entry in files]
        Ledger(self.out).claim(names)  # before any of them appears
        card_first = not _card_keeps_readers(self.out)
        if card_first:
            atomic_write_text(self.out / CARD, card)
            checkpoint("card")
        for name in sorted(self._staged):
            self._staged[name].pending.commit(self.out / published_name(name, self.id))
            checkpoint("renamed")
        _fsync_folders({(self.out / name).parent for name in names})
        if not card_first:
            atomic_write_text(self.out / CARD, card)
            checkpoint("card")
        atomic_write_json(self.out / MANIFEST, manifest)
        checkpoint("manifest")
        self._remove_earlier(set(names))
        (self.out / PUBLISHING).unlink(missing_ok=True)
        return manifest

    def _remove_earlier(self, keep: set[str]) -> None:
        """Delete the files of earlier publications in the folders this one wrote: files the ledger
        names, and files under this publication's names without an id (as versions before ids wrote them)."""
        folders = {name.rpartition("/")[0] for name in keep}
        ledger = Ledger(self.out)
        unnamed = set(FIXED_FILES) | set(self._staged)
        ours = ledger.names() | {n for n in unnamed if (self.out / n).is_file()}
        earlier = sorted(n for n in ours if n.rpartition("/")[0] in folders and n not in keep
                         and n not in (CARD, MANIFEST))
        for name in earlier:
            (self.out / name).unlink(missing_ok=True)
            checkpoint("removed")
        if earlier:
            ledger.forget(earlier)

    def _remove_temporaries(self, folder: Path) -> None:
        """Delete half-written files (``.NAME.tmp-PID-TID``) a killed run left in ``folder``.

        Run once per folder before this publication stages its first file there; the run
        lock guarantees that no other process is writing them.
        """
        if folder in self._cleaned:
            return
        self._cleaned.add(folder)
        if folder.is_dir():
            for path in folder.glob(".*.tmp-*"):
                path.unlink(missing_ok=True)


def _check_name(name: str) -> None:
    parts = name.split("/")
    if name.startswith("/") or any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        raise ValueError(f"{name!r}: a published file needs a relative path without hidden or empty parts")
    if name in (CARD, MANIFEST):
        raise ValueError(f"{name}: written by Publication.commit itself")


def _card_keeps_readers(out: Path) -> bool:
    """Does the current card name exact files only (so new files beside them stay unread)?"""
    try:
        text = (out / CARD).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    named = named_data_files(text)
    return bool(named) and not any(ch in path for path in named for ch in "*?[")


def _fsync_folders(folders: set[Path]) -> None:
    """Flush the renames to disk before the card and manifest point at them (where the OS allows)."""
    for folder in sorted(folders):
        try:
            fd = os.open(folder, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)


def record_files(folder: Path, names: Sequence[str]) -> None:
    """List files a program wrote into ``folder`` itself in its ``manifest.json``.

    For dataset folders made or edited without ``ccneg-build`` (generated worlds, test
    fixtures): their readers check the folder against the manifest like any other. Each of
    ``names`` is listed with its current size and sha256 (``split`` and ``rows`` of ``data/``
    files read from their names and Parquet footers; what the manifest said about it before is
    kept otherwise); listed files that no longer exist are dropped.
    """
    folder = Path(folder)
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    entries = {entry["path"]: entry for entry in manifest.get("files", [])
               if isinstance(entry, dict) and isinstance(entry.get("path"), str) and (folder / entry["path"]).is_file()}
    for name in names:
        _check_name(name)
        file = folder / name
        entry: dict[str, Any] = {**entries.get(name, {}), "path": name, "bytes": file.stat().st_size,
                                 "sha256": file_sha256(file)}
        if name.startswith(DATA_DIR + "/") and split_of_file(name):
            entry["split"] = split_of_file(name)
        if name.endswith(".parquet"):
            try:
                entry["rows"] = pq.ParquetFile(file).metadata.num_rows
            except (OSError, pa.ArrowException):  # listed as it is: its readers name the damage
                pass
        entries[name] = entry
    manifest["files"] = [entries[name] for name in sorted(entries)]
    atomic_write_json(path, manifest)
