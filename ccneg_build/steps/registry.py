"""The build pipeline, in order: one line per step.

Adding a step is one module (a class with ``name``, ``process`` and ``take_stats``, see
:class:`~ccneg_build.steps.base.Step`, and a ``make_step(config, negator)`` function that
returns it, or ``None`` when the run's settings do not call for it) plus one line in
:data:`STEPS`, at the position where it should run. Modules are imported lazily, so a step
that needs an optional package costs nothing to runs that do not use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ccneg_build.steps.base import Step
from ccneg_core.registry import Registry

if TYPE_CHECKING:
    from ccneg_build.config import BuildConfig
    from ccneg_build.negators.base import Negator

#: step name -> "module:function(config, negator) -> Step | None", in pipeline order.
STEPS = Registry("pipeline step", {
    "read": "ccneg_build.steps.read:make_step",
    "images": "ccneg_build.steps.images:make_step",
    "negate": "ccneg_build.steps.negate:make_step",
    "verify": "ccneg_build.steps.verify:make_step",
    # --style negbench: objects present and absent, MCQ and retrieval captions (replaces negate/verify)
    "negbench": "ccneg_build.negbench.step:make_step",
})


def build_steps(config: "BuildConfig", negator: "Negator") -> list[Step]:
    """The steps this run uses, built once per process (worker, actor) that runs shards."""
    steps: list[Step] = []
    for name, target in STEPS.items():
        step = STEPS.load(name)(config, negator)
        if step is None:
            continue
        if not isinstance(step, Step):
            raise TypeError(f"pipeline step {name!r} ({target}) does not implement the Step protocol")
        steps.append(step)
    return steps
