"""The training losses ``--loss`` offers: one line per loss.

Adding a loss is one module holding a :class:`~ccneg_bench.train.objectives.spec.LossSpec`
plus one line in :data:`LOSSES`. The trainer (:mod:`ccneg_bench.train.loop`), the early checks
(:mod:`ccneg_bench.train.checks`) and the command line (:mod:`ccneg_bench.train.cli`: choices
and help) all read the spec from here, and :func:`check_loss_name` is the one place a loss name
is validated. Modules are imported lazily (:class:`ccneg_core.registry.Registry`, the one
registry style), and the spec modules import no torch, so listing the losses costs nothing.
"""

from __future__ import annotations

from ccneg_bench.train.objectives.spec import LossSpec
from ccneg_core.registry import Registry

#: loss name -> "module:ATTRIBUTE" holding its LossSpec.
LOSSES = Registry("loss", {
    "conclip": "ccneg_bench.train.objectives.conclip:SPEC",
    "negclip": "ccneg_bench.train.objectives.negclip:SPEC",
    "clip": "ccneg_bench.train.objectives.clip:SPEC",
    "negbench": "ccneg_bench.train.objectives.negbench:SPEC",
})

def loss_names() -> tuple[str, ...]:
    """The registered loss names, in registry order (the command line's choices)."""
    return tuple(LOSSES)


def check_loss_name(name: str) -> str:
    """``name`` if it is a registered loss, else a ``ValueError`` listing the ones there are."""
    if name not in LOSSES:
        raise ValueError(f"--loss {name}: unknown loss; use one of {', '.join(LOSSES)}")
    return name


def get_loss(name: str) -> LossSpec:
    """The :class:`LossSpec` of the loss ``name`` (its module imported on first use)."""
    target = LOSSES[check_loss_name(name)]
    spec = LOSSES.load(name)
    if not isinstance(spec, LossSpec):
        raise TypeError(f"loss {name!r} ({target}) is not a LossSpec")
    if spec.name != name:
        raise TypeError(f"loss {name!r} ({target}) calls itself {spec.name!r}; register it under that name")
    return spec


def loss_help() -> str:
    """The ``--loss`` help text: one clause per registered loss, from its spec."""
    return "; ".join(f"{name}: {get_loss(name).help}" for name in LOSSES)


__all__ = ["LOSSES", "check_loss_name", "get_loss", "loss_help", "loss_names"]
