"""How a ccneg-bench run scores: one object, made from the command line in one place.

What to score (the models, the dataset, the tasks) is passed beside it, because each caller
supplies those its own way: the command line names them, a suite file lists (dataset, task)
entries, and ``ccneg-train`` hands over the model it is training. Everything else, the
settings that used to travel as a dozen keyword arguments from the command line through
:func:`ccneg_bench.evaluate` into the encoders and tasks, lives here, so that the command,
the suite, the Python API and ``ccneg-train``'s evaluation hook cannot drift apart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ccneg_core.devices import DEFAULT_DEVICE, DEFAULT_PRECISION, check_device, check_precision


@dataclass(frozen=True)
class BenchConfig:
    """The settings of one scoring run (the defaults are the command line's)."""

    split: str = "eval"
    #: reader options of the dataset spec (``eval_size``, ``image_root``, ``templates``, ...)
    dataset_options: dict[str, Any] = field(default_factory=dict)
    output_dir: str | os.PathLike | None = None
    cache_dir: str | os.PathLike | None = None
    batch_size: int = 64
    workers: int = 2
    device: str | None = DEFAULT_DEVICE
    precision: str = DEFAULT_PRECISION
    save_predictions: bool = False
    bootstrap: int = 1000
    seed: int = 0
    progress: bool = True
    chunk_size: int = 1024
    tie_rule: str = "official"
    shuffle_options: int | None = None

    @classmethod
    def make(cls, base: "BenchConfig | None" = None, **settings: Any) -> "BenchConfig":
        """``base`` (or the defaults) with ``settings`` replaced; an unknown name is a ``TypeError``."""
        unknown = sorted(set(settings) - {f.name for f in fields(cls)})
        if unknown:
            raise TypeError(f"unknown ccneg-bench setting(s): {', '.join(unknown)}")
        if settings.get("dataset_options") is None:
            settings.pop("dataset_options", None)
        return replace(base or cls(), **settings)

    def check(self) -> None:
        """Every check that needs no model and no data (``ValueError`` naming the option)."""
        from ccneg_bench.tasks.ties import TIE_RULES  # lazy: torch

        if self.tie_rule not in TIE_RULES:
            raise ValueError(f"--tie-rule {self.tie_rule!r}: unknown tie rule; choose one of {', '.join(TIE_RULES)}")
        check_precision(self.precision, check_device(self.device))

    @property
    def task_options(self) -> dict[str, Any]:
        """The settings every task reads beside the features."""
        return {"bootstrap": self.bootstrap, "seed": self.seed, "tie_rule": self.tie_rule,
                "shuffle_options": self.shuffle_options}

    @property
    def encode_options(self) -> dict[str, Any]:
        """The settings of image encoding (:func:`ccneg_bench.features.encode_image_table`)."""
        return {"batch_size": self.batch_size, "workers": self.workers, "precision": self.precision,
                "progress": self.progress, "chunk_size": self.chunk_size}
