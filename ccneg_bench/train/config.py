"""The configuration of a training run; defaults are the paper's hyper-parameters.

CoN-CLIP (ccneg-facts.md section 3): image tower frozen, text tower trained, AdamW with
learning rate 1e-6 and weight decay 0.2, cosine schedule with 50 warm-up steps, 5 epochs,
batch 200, mixed precision, logit scale clamped to at most ln(100) after every step.
Gradient clipping is not stated in the paper; 1.0 is the conventional safe default.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ccneg_core.devices import DEFAULT_DEVICE, DEFAULT_PRECISION

#: the default ``--loss``: the CoN-CLIP objective (the paper this toolkit reproduces); a name
#: of the loss registry (:mod:`ccneg_bench.train.objectives.registry`)
DEFAULT_LOSS = "conclip"
#: the default ``--mcq-weight`` of ``--loss negbench``: (1 - W) * CLIP + W * MCQ with W = 0.01,
#: the 0.99 / 0.01 weighting NegBench's released checkpoints were trained with
DEFAULT_MCQ_WEIGHT = 0.01

#: The upper bound of the logit scale (temperature 0.01), applied after every step.
MAX_LOGIT_SCALE = math.log(100.0)


@dataclass
class TrainConfig:
    """Everything that determines a run (stored in every checkpoint and in ``run.json``)."""

    model: str = "open_clip:ViT-B-32"
    pretrained: str | None = "openai"
    data: str = ""  # a ccneg dataset folder, or negbench:FILE.csv (a NegBench MCQ file)
    image_root: str | None = None  # where the image paths of a NegBench CSV are found
    out: str = ""
    split: str = "train"
    eval_split: str = "eval"
    distractors: str | None = None  # folder with assignments.parquet/images.parquet
    loss: str = DEFAULT_LOSS  # a name of the loss registry (ccneg_bench.train.objectives.registry)
    terms: tuple[str, ...] = ("l1", "l2", "l3")  # --loss conclip
    mcq_weight: float = DEFAULT_MCQ_WEIGHT  # --loss negbench: (1 - W) * CLIP + W * MCQ
    lr: float = 1e-6
    weight_decay: float = 0.2
    beta1: float = 0.9
    beta2: float = 0.98
    eps: float = 1e-6
    warmup_steps: int = 50
    epochs: int = 5
    max_steps: int | None = None
    batch_size: int = 200  # global batch over all ranks and accumulation steps
    accum_steps: int = 1
    grad_clip: float = 1.0  # 0 disables
    lock_image: bool = True  # what --trainable means when it is not given: text (locked) or all
    trainable: str | None = None  # all, text, image or text:N (ccneg_bench.train.trainable)
    cache_features: str = "auto"  # "auto" (when the image tower is locked), "on", "off"
    cache_dir: str | None = None
    precision: str = DEFAULT_PRECISION  # names and rules: ccneg_core.devices (also for the evaluations)
    device: str = DEFAULT_DEVICE
    workers: int = 4
    seed: int = 0
    save_every: int = 500
    keep_last: int = 2
    resume: str | None = None
    overwrite: bool = False  # start afresh in a used --out (removes only ccneg-train's files)
    eval_every: int = 0  # 0: only at the end (when eval_at_end)
    eval_at_end: bool = True
    eval_tasks: tuple[str, ...] = ("ccneg", "ccneg-balanced", "retrieval")
    eval_data: str | None = None  # a further ccneg-bench dataset to score (e.g. negbench:FILE.csv)
    eval_zeroshot: str | None = None  # imagefolder:DIR or cifar10:DIR: zero-shot accuracy at each evaluation
    log_every: int = 1
    tensorboard: bool = False
    wandb: bool = False
    wandb_project: str = "ccneg"
    limit: int | None = None  # train on the first N rows only (smoke tests)
    export: bool = True
    push_to_hub: str | None = None  # ORG/NAME: upload the export at the end (token from HF_TOKEN)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON- and ``weights_only``-safe view (tuples become lists)."""
        data = asdict(self)
        data["terms"] = list(self.terms)
        data["eval_tasks"] = list(self.eval_tasks)
        return data

    def trained_parts(self) -> str:
        """``--trainable`` as given, or what ``--lock-image`` implies: ``text`` when locked, else ``all``."""
        return self.trainable or ("text" if self.lock_image else "all")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for name in ("terms", "eval_tasks"):
            if name in known and known[name] is not None:
                known[name] = tuple(known[name])
        return cls(**known)


#: Fields that must not change when a run is resumed (they change what a step means).
RESUME_INVARIANT = ("model", "data", "split", "loss", "terms", "mcq_weight", "batch_size", "seed", "limit",
                    "trainable")


def _step_settings(data: dict[str, Any]) -> dict[str, Any]:
    """A stored configuration with ``trainable`` resolved (older runs only stored ``lock_image``)."""
    cfg = TrainConfig.from_dict(data)
    settings = cfg.as_dict()
    settings["trainable"] = cfg.trained_parts()
    return settings


def resume_conflicts(saved: dict[str, Any], cfg: TrainConfig) -> list[str]:
    """``"name: old -> new"`` for every step-defining setting that differs from the stored run."""
    old, now = _step_settings(saved), _step_settings(cfg.as_dict())
    stored = set(saved) | ({"trainable"} if "lock_image" in saved else set())
    return [f"{k}: {old[k]!r} -> {now[k]!r}" for k in RESUME_INVARIANT if k in stored and old[k] != now[k]]


def lr_at(step: int, base_lr: float, warmup_steps: int, total_steps: int) -> float:
    """Linear warm-up to ``base_lr`` over ``warmup_steps``, then cosine decay to zero."""
    if warmup_steps > 0 and step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    decay_steps = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    return 0.5 * (1.0 + math.cos(math.pi * progress)) * base_lr
