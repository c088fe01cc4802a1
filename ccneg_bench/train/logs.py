"""Run logs: JSONL always (``OUT/log.jsonl``), TensorBoard or Weights & Biases when asked.

Only rank 0 writes. On resume the JSONL is cut back to the checkpoint's step, so the file
always reads as one uninterrupted run. Records never contain secrets: W&B reads its key
from its own environment variable and nothing here touches it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ccneg_core.writer import atomic_write_text

LOG_FILE = "log.jsonl"


def truncate_log(path: Path, keep_through_step: int) -> None:
    """Drop records of steps after ``keep_through_step`` (atomic rewrite)."""
    if not path.is_file():
        return
    kept = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a kill
            if record.get("step", 0) <= keep_through_step:
                kept.append(line if line.endswith("\n") else line + "\n")
    atomic_write_text(path, "".join(kept))


def read_log(path: Path) -> list[dict[str, Any]]:
    """All complete records of a JSONL log."""
    records = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


class RunLogger:
    """Writes step and evaluation records to every sink that is switched on."""

    def __init__(self, out_dir: Path, enabled: bool, tensorboard: bool = False, wandb: bool = False,
                 wandb_project: str = "ccneg", config: dict[str, Any] | None = None) -> None:
        self.enabled = enabled
        self.path = Path(out_dir) / LOG_FILE
        self._handle = None
        self._tb = None
        self._wandb = None
        if not enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # appended record by record, not rewritten atomically: a killed run keeps every step logged
        # so far, and a line cut mid-write is skipped by read_log / truncate_log
        self._handle = open(self.path, "a", encoding="utf-8")
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as err:  # pragma: no cover - tensorboard is in the train extra
                raise ValueError("--tensorboard needs the tensorboard package: pip install 'ccneg[train]'") from err
            self._tb = SummaryWriter(str(Path(out_dir) / "tensorboard"))
        if wandb:
            try:
                import wandb as wandb_module
            except ImportError as err:
                raise ValueError("--wandb needs the wandb package: pip install 'ccneg[wandb]'") from err
            self._wandb = wandb_module.init(project=wandb_project, config=config or {}, dir=str(out_dir))

    def log(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        assert self._handle is not None
        self._handle.write(json.dumps(record, default=float) + "\n")
        self._handle.flush()
        step = int(record.get("step", 0))
        scalars = _flatten(record)
        if self._tb is not None:
            for key, value in scalars.items():
                self._tb.add_scalar(key, value, step)
        if self._wandb is not None:
            self._wandb.log(scalars, step=step)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self._tb is not None:
            self._tb.close()
        if self._wandb is not None:
            self._wandb.finish()


def _flatten(record: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a nested record as ``a/b/c`` keys."""
    out: dict[str, float] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "/"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and key != "step":
            out[name] = float(value)
    return out
