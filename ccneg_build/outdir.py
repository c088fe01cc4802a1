"""The output folder: which folders may be written, the run lock, and what ccneg wrote there.

Three rules keep a user's files safe:

* **only our folders.** ``--out`` must be missing, empty, or hold ccneg's run state
  (``OUT/.ccneg``). Anything else is refused, with or without ``--overwrite``, and the
  root, the home folder, the current folder and their ancestors are never accepted with
  ``--overwrite``.
* **lock first.** :class:`RunLock` is a kernel lock (``flock``) on ``OUT/.ccneg/lock``,
  taken before anything in the folder changes. The kernel drops it when its holder dies;
  forked children never hold it (their inherited copy is closed at fork).
* **delete only what we wrote.** Every published file is claimed in the ledger
  ``OUT/.ccneg/written.json`` *before* it is written; ``--overwrite`` and stale-file
  clean-up remove only files the ledger names (plus the run's own working state under
  ``OUT/.ccneg``), never a file someone else put there.
"""

from __future__ import annotations

import json
import os
import shutil
import weakref
from pathlib import Path
from typing import Any, Iterable

from ccneg_core.layout import (  # the paths are named in one place
    DATA_DIR,
    FIXED_FILES,
    LEDGER,
    LOCK,
    MANIFEST,
    NEGBENCH_DIR,
    PUBLISHING,
    REJECTED_DIR,
    RUN_RECORD,
    SPLITS_DIR,
    STATE_DIR,
    WORK_DIRS,
)
from ccneg_core.writer import atomic_write_json


class OutputFolderError(RuntimeError):
    """OUT holds something this run must not touch, or cannot be made; the message says what to do."""


# ----------------------------------------------------------------------------- which folders


def check_output_folder(out: Path, overwrite: bool) -> None:
    """Refuse a folder this run must not write into (raises :class:`OutputFolderError`)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputFolderError(f"--out {out}: is a file, not a folder; choose a folder")
    if overwrite and _is_protected(out):
        raise OutputFolderError(
            f"--out {out}: refusing --overwrite on the root, home or current folder (or a folder above them); "
            "give a dedicated output folder"
        )
    if out.is_dir() and not is_ccneg_folder(out) and _has_entries(out):
        raise OutputFolderError(
            f"--out {out}: folder is not empty and was not made by ccneg-build (no {STATE_DIR}/ in it); "
            "choose a new or empty folder (--overwrite never replaces files ccneg-build did not write)"
        )


def open_output_folder(out: Path, overwrite: bool) -> bool:
    """Check ``out`` and create it if missing; returns whether this call created it."""
    check_output_folder(out, overwrite)
    out = Path(out)
    if out.is_dir():
        return False
    try:
        out.mkdir(parents=True)
    except FileExistsError:  # made meanwhile by someone else: check it again
        check_output_folder(out, overwrite)
        return False
    except OSError as exc:
        raise OutputFolderError(
            f"--out {out}: cannot create this folder ({exc.strerror or exc}); choose a writable location"
        ) from None
    return True


def is_ccneg_folder(out: Path) -> bool:
    """Does ``out`` hold ccneg's run state?"""
    return (Path(out) / STATE_DIR).is_dir()


def discard_if_untouched(out: Path) -> None:
    """Remove a folder this run created when the run ended before writing anything but its lock.

    Anything else in it (a run record, a request cache with answers) keeps the folder.
    """
    out = Path(out)
    files = [p for p in out.rglob("*") if not p.is_dir()]
    if any(p != out / LOCK for p in files):
        return
    (out / LOCK).unlink(missing_ok=True)
    for folder in sorted((p for p in out.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        _rmdir_if_empty(folder)
    _rmdir_if_empty(out)


def _rmdir_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def _has_entries(out: Path) -> bool:
    return any(True for _ in out.iterdir())


def _is_protected(out: Path) -> bool:
    """The filesystem root, the home folder, the current folder, or a folder containing one of them."""
    try:
        target = out.expanduser().resolve()
    except OSError:
        return False
    protected = {Path(target.anchor or "/"), Path.home().resolve(), Path.cwd().resolve()}
    return any(target == p or target in p.parents for p in protected)


# ----------------------------------------------------------------------------- the ledger


class Ledger:
    """The published files ccneg wrote into OUT (relative POSIX paths), kept in ``.ccneg/written.json``."""

    def __init__(self, out: Path):
        self.out = Path(out)
        self.path = self.out / LEDGER

    def names(self) -> set[str]:
        names: set[str] = set()
        try:
            names.update(json.loads(self.path.read_text(encoding="utf-8")).get("files", []))
        except (OSError, ValueError, AttributeError):
            pass
        names.update(_names_in_manifest(self.out))  # folders written before the ledger existed
        return {n for n in names if _is_safe_relative(n)}

    def claim(self, relative: Iterable[str]) -> None:
        """Record files about to be written (before writing them, so a crash cannot orphan one)."""
        wanted = {str(r) for r in relative}
        current = self.names()
        if wanted <= current:
            return
        self._save(current | wanted)

    def forget(self, relative: Iterable[str]) -> None:
        remaining = self.names() - {str(r) for r in relative}
        self._save(remaining)

    def _save(self, names: set[str]) -> None:
        atomic_write_json(self.path, {"files": sorted(names)})


def _names_in_manifest(out: Path) -> list[str]:
    try:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        return [str(f["path"]) for f in manifest.get("files", [])]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []


def _is_safe_relative(name: str) -> bool:
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts


def remove_stale(out: Path, folder: str, keep: set[str]) -> None:
    """Delete ledger files under ``folder`` that this publication did not write (``keep``).

    For files that keep fixed names across publications (the negbench CSVs and images); the
    files of a publication are replaced by :class:`ccneg_build.publication.Publication`.
    """
    ledger = Ledger(out)
    stale = [n for n in ledger.names() if n.startswith(folder.rstrip("/") + "/") and n not in keep]
    for name in stale:
        (Path(out) / name).unlink(missing_ok=True)
    if stale:
        ledger.forget(stale)


def remove_written(out: Path) -> None:
    """``--overwrite``: delete what ccneg wrote into OUT (ledger files, fixed files, working state).

    The request cache, the lock and every file ccneg did not write stay.
    """
    out = Path(out)
    if not is_ccneg_folder(out):  # never: check_output_folder refuses such folders first
        raise OutputFolderError(f"--out {out}: not a ccneg-build folder; nothing was removed")
    names = Ledger(out).names() | set(FIXED_FILES)
    for name in sorted(names):
        path = out / name
        if path.is_file() or path.is_symlink():
            path.unlink()
    for work in WORK_DIRS:
        shutil.rmtree(out / work, ignore_errors=True)
    for folder in (DATA_DIR, REJECTED_DIR, SPLITS_DIR):
        _rmdir_if_empty(out / folder)
    if (out / NEGBENCH_DIR).is_dir():  # negbench/images/<xx>/ folders emptied above
        for folder in sorted((p for p in (out / NEGBENCH_DIR).rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            _rmdir_if_empty(folder)
        _rmdir_if_empty(out / NEGBENCH_DIR)
    (out / LEDGER).unlink(missing_ok=True)
    (out / RUN_RECORD).unlink(missing_ok=True)
    (out / PUBLISHING).unlink(missing_ok=True)


# ----------------------------------------------------------------------------- the lock

_HELD: "weakref.WeakSet[RunLock]" = weakref.WeakSet()


class RunLock:
    """An exclusive kernel lock on OUT for the length of a run (``OUT/.ccneg/lock``).

    Two processes writing the same folder would interleave shards and publications; the
    second one is refused instead. ``flock`` is dropped by the kernel when the holder
    dies, so ``kill -9`` never leaves a folder locked; a forked child closes its copy of
    the descriptor at once, so a worker that outlives its parent cannot keep the lock.
    (No-op where ``fcntl`` is missing.)
    """

    def __init__(self, out: Path):
        self.out = Path(out)
        self.path = self.out / LOCK
        self.fd: int | None = None

    def __enter__(self) -> "RunLock":
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return self
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as exc:
            raise OutputFolderError(f"--out {self.out}: cannot write here ({exc.strerror or exc})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise OutputFolderError(
                f"--out {self.out}: another ccneg-build run is writing this folder; "
                "wait for it or choose another folder"
            ) from None
        self.fd = fd
        _HELD.add(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the last descriptor releases the lock
            self.fd = None
        _HELD.discard(self)


def _drop_inherited_locks() -> None:
    """In a forked child: close the copies of the parent's lock descriptors (the parent keeps its lock)."""
    for lock in list(_HELD):
        if lock.fd is not None:
            try:
                os.close(lock.fd)
            except OSError:
                pass
            lock.fd = None
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_drop_inherited_locks)
