"""What a training loss is to the trainer: one frozen :class:`LossSpec` per objective.

A spec names everything the rest of ``ccneg-train`` must know about a loss, so that no other
module branches on loss names:

* ``compute``: the loss of one step, from a :class:`LossBatch` of features;
* ``inputs``: which optional inputs a batch must carry (:data:`NEGATED_CAPTIONS`,
  :data:`DISTRACTORS`, :data:`MCQ_OPTIONS`), a fixed set or a function of the run's settings
  (CoN-CLIP needs distractor images only for its L2 and L3 terms);
* ``check``: the argument checks of its own settings, run before anything loads;
* ``help``: the line ``ccneg-train --help`` prints for it.

This module and the spec modules import no torch, so that ``--help`` and the argument checks
list and validate losses without loading it; tensors only appear inside ``compute``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Collection

if TYPE_CHECKING:
    import torch

    from ccneg_bench.train.config import TrainConfig

#: each row's negated caption c' (features under the batch key ``"negated"``)
NEGATED_CAPTIONS = "negated_captions"
#: each row's first mined distractor image I' (batch key ``"distractor"``)
DISTRACTORS = "distractors"
#: each row's multiple-choice options (batch key ``"options"``, rows x options x dim) and the index of
#: the right one (batch key ``"correct"``); read from NegBench-style MCQ files
MCQ_OPTIONS = "mcq_options"
#: every optional input a loss may ask for
INPUTS = (NEGATED_CAPTIONS, DISTRACTORS, MCQ_OPTIONS)


@dataclass
class LossBatch:
    """The features of one step, as a loss sees them.

    ``local`` holds this process's rows (L2-normalised features: ``image``, ``text`` and, when the
    spec asks for them, ``negated``, ``distractor``, ``options``; plus the long tensor ``correct``).
    :meth:`every` gives the same features gathered over all processes (with gradients), the
    columns of a contrastive matrix; ``row_offset`` is where the local rows sit among them.
    ``logit_scale`` is the exponentiated temperature. A loss made of several terms may put each
    (detached) into ``parts``; the trainer logs their means next to the loss.
    """

    local: dict[str, "torch.Tensor"]
    logit_scale: "torch.Tensor"
    config: "TrainConfig"
    row_offset: int = 0
    gather: Callable[["torch.Tensor"], "torch.Tensor"] = lambda tensor: tensor
    #: named terms of the loss a ``compute`` chooses to report (logged per step as ``loss_parts``)
    parts: dict[str, "torch.Tensor"] = field(default_factory=dict)
    _gathered: dict[str, "torch.Tensor"] = field(default_factory=dict, repr=False)

    def every(self, key: str) -> "torch.Tensor":
        """``local[key]`` over the global batch (gathered once, on first use)."""
        if key not in self._gathered:
            self._gathered[key] = self.gather(self.local[key])
        return self._gathered[key]


@dataclass(frozen=True)
class LossSpec:
    """Everything ``ccneg-train`` knows about one objective (see the module docstring)."""

    name: str
    help: str
    compute: Callable[[LossBatch], "torch.Tensor"]
    inputs: Collection[str] | Callable[["TrainConfig"], Collection[str]] = frozenset()
    check: Callable[["TrainConfig"], None] | None = None

    def __post_init__(self) -> None:
        if not callable(self.inputs):
            unknown = sorted(set(self.inputs) - set(INPUTS))
            if unknown:
                raise ValueError(f"loss {self.name!r}: unknown input(s) {unknown}; known: {', '.join(INPUTS)}")

    def needs(self, config: "TrainConfig") -> frozenset[str]:
        """The optional inputs a run with ``config`` must load for this loss."""
        wanted = frozenset(self.inputs(config) if callable(self.inputs) else self.inputs)
        unknown = sorted(wanted - set(INPUTS))
        if unknown:
            raise ValueError(f"loss {self.name!r}: unknown input(s) {unknown}; known: {', '.join(INPUTS)}")
        return wanted

    def check_config(self, config: "TrainConfig") -> None:
        """Raise ``ValueError`` (a one-line message naming the option) for settings this loss refuses."""
        if self.check is not None:
            self.check(config)


def describe_inputs(wanted: Collection[str]) -> str:
    """``"negated captions, distractors"``: for messages about what a loss reads."""
    return ", ".join(name.replace("_", " ") for name in INPUTS if name in wanted) or "images and captions only"


__all__ = ["DISTRACTORS", "INPUTS", "MCQ_OPTIONS", "NEGATED_CAPTIONS", "LossBatch", "LossSpec", "describe_inputs"]
