"""Atomic, resumable training checkpoints that load without unpickling code.

A checkpoint is ``OUT/checkpoints/step_00000100.pt``: a dict of tensors and plain
containers (model and optimiser state, scheduler counters, RNG states, the data position,
the run configuration) saved with ``torch.save`` to a temporary name and renamed when
complete, so a run killed at any moment leaves only whole files. Loading uses
``torch.load(..., weights_only=True)``: a file that carries pickled objects is refused.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import torch

from ccneg_core.writer import atomic_output

CHECKPOINT_DIR = "checkpoints"
_NAME = re.compile(r"^step_(\d{8})\.pt$")


def checkpoint_path(out_dir: Path, step: int) -> Path:
    """The file of the checkpoint written after optimiser step ``step``."""
    return Path(out_dir) / CHECKPOINT_DIR / f"step_{step:08d}.pt"


def list_checkpoints(out_dir: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints of a run, sorted by step (temporary files are ignored)."""
    folder = Path(out_dir) / CHECKPOINT_DIR
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        match = _NAME.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def resolve_resume(resume: str | None, out_dir: Path) -> Path | None:
    """Turn ``--resume`` (``latest``, a step number or a path) into a checkpoint file.

    ``latest`` with no checkpoint yet returns ``None`` (a fresh start), so the same
    command line both starts and resumes a run.
    """
    if not resume:
        return None
    if resume == "latest":
        found = list_checkpoints(out_dir)
        return found[-1][1] if found else None
    if resume.isdigit():
        path = checkpoint_path(out_dir, int(resume))
    else:
        path = Path(resume)
    if not path.is_file():
        raise FileNotFoundError(
            f"--resume {resume}: no checkpoint at {path}; use 'latest' or one of "
            f"{[str(p) for _, p in list_checkpoints(out_dir)] or 'the files under OUT/checkpoints/'}"
        )
    return path


def capture_rng_state() -> dict[str, Any]:
    """RNG states of python, torch CPU and CUDA as plain containers and tensors."""
    version, internal, gauss = random.getstate()
    state: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state`."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(out_dir: Path, step: int, state: dict[str, Any], keep_last: int = 0) -> Path:
    """Write ``state`` atomically as the checkpoint of ``step``; prune to ``keep_last`` files."""
    path = checkpoint_path(out_dir, step)
    with atomic_output(path) as tmp:
        torch.save(state, tmp)
    if keep_last > 0:
        for _, old in list_checkpoints(out_dir)[:-keep_last]:
            old.unlink(missing_ok=True)
    return path


def peek_config(path: Path) -> dict[str, Any]:
    """The run configuration stored in a checkpoint, read without loading its tensors.

    The file is memory-mapped, so checking a resume costs milliseconds even for a large model.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as err:
        raise ValueError(f"{path}: not a plain-tensor ccneg checkpoint ({type(err).__name__}); refusing to unpickle it") from None
    config = state.get("config") if isinstance(state, dict) else None
    return dict(config) if isinstance(config, dict) else {}


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint with ``weights_only=True``; a pickled-code file is refused clearly."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises UnpicklingError or RuntimeError
        raise ValueError(
            f"{path}: not a plain-tensor ccneg checkpoint ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}); refusing to unpickle it"
        ) from err
