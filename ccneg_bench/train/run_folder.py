"""A run folder belongs to one run.

``ccneg-train`` writes a fixed set of files into ``--out`` (checkpoints, logs, the run record,
the export). Training into a folder that already holds them would interleave two runs: a
log with steps 1..12 then 1..3, the old run's checkpoints pruned as the new run's, an export
of the wrong model. So a used folder is refused unless the command says what it means:
``--resume`` continues the run that is there, ``--overwrite`` starts afresh and removes
exactly the files ccneg-train writes (anything else in the folder is left alone).
The feature cache (``feature_cache/``) is kept: it is keyed by content, so it can never
serve a different model.
"""

from __future__ import annotations

import re
from pathlib import Path

from ccneg_bench.options import UsageError

#: Files ccneg-train writes at the top of a run folder (and their temporary names).
RUN_FILES = re.compile(r"^\.?(log\.jsonl|run\.json|skipped\.jsonl)(\.tmp.*)?$")
#: Sub-folders and the names ccneg-train writes inside them.
RUN_DIRS: dict[str, re.Pattern[str]] = {
    "checkpoints": re.compile(r"^\.?step_\d{8}\.pt(\.tmp.*)?$"),
    "export": re.compile(r"^(\.?open_clip_model\.safetensors|\.?open_clip_config\.json|\.?ccneg_train_config\.json)"
                         r"(\.tmp.*)?$"),
    "tensorboard": re.compile(r"^events\.out\.tfevents\..+$"),
}


def run_files(out: Path) -> list[Path]:
    """Every file in ``out`` that a ccneg-train run wrote (by name), sorted."""
    out = Path(out)
    if not out.is_dir():
        return []
    found = [p for p in out.iterdir() if p.is_file() and RUN_FILES.match(p.name)]
    for folder, pattern in RUN_DIRS.items():
        if (out / folder).is_dir():
            found += [p for p in (out / folder).iterdir() if p.is_file() and pattern.match(p.name)]
    return sorted(found)


def describe_run(out: Path) -> str:
    """A few words on the run a folder holds: its checkpoint steps and main files."""
    from ccneg_bench.train.checkpoint import list_checkpoints  # lazy: torch

    parts = []
    steps = [step for step, _ in list_checkpoints(Path(out))]
    if steps:
        parts.append(f"checkpoints of steps {', '.join(map(str, steps))}")
    names = {p.relative_to(out).parts[0] for p in run_files(out)} - {"checkpoints"}
    parts += sorted(n + ("/" if (Path(out) / n).is_dir() else "") for n in names if ".tmp" not in n)
    return ", ".join(parts)


def check_run_folder(out: Path, resume: str | None, overwrite: bool) -> None:
    """Refuse (``UsageError``, nothing changed) a used folder unless resuming or overwriting."""
    out = Path(out)
    if resume and overwrite:
        raise UsageError("--resume continues the run in --out, --overwrite replaces it: give one of them")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    if resume or overwrite or not run_files(out):
        return
    raise UsageError(
        f"--out {out} already holds a ccneg-train run ({describe_run(out)}); add --resume latest to continue it, "
        "--overwrite to start afresh (removes only ccneg-train's files there), or choose a new --out"
    )


def clear_run_folder(out: Path) -> list[Path]:
    """Remove the files of the previous run (only those ccneg-train writes); return them.

    Sub-folders are removed only when nothing else is left in them.
    """
    removed = run_files(out)
    for path in removed:
        path.unlink(missing_ok=True)
    for folder in RUN_DIRS:
        try:
            (Path(out) / folder).rmdir()
        except OSError:  # absent, or holds files ccneg-train did not write
            pass
    return removed
