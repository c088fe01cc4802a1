"""Task registry: ``ccneg``, ``ccneg-balanced``, ``retrieval``, and the public benchmarks'
``mcq`` (NegBench), ``pair`` (SugarCREPE), ``crepe``, ``grounding`` (NegRefCOCOg), ``zeroshot`` and
``zeroshot-negated``.

Each task is a pure function of a :class:`~ccneg_bench.tasks.base.TaskContext`; see the
modules for the exact definitions. ``get_task(name)`` raises with the list of known tasks.
"""

from __future__ import annotations

from ccneg_bench.tasks.base import Task
from ccneg_core.registry import Registry, UnknownName

#: task name -> "module:ATTRIBUTE" holding its :class:`~ccneg_bench.tasks.base.Task`; add a task
#: with one module and one line here.
TASKS = Registry("task", {
    "ccneg": "ccneg_bench.tasks.ccneg:TASK",
    "ccneg-balanced": "ccneg_bench.tasks.balanced:TASK",
    "retrieval": "ccneg_bench.tasks.caption_retrieval:TASK",
    "mcq": "ccneg_bench.tasks.choice:MCQ_TASK",
    "pair": "ccneg_bench.tasks.choice:PAIR_TASK",
    "crepe": "ccneg_bench.tasks.crepe:TASK",
    "grounding": "ccneg_bench.tasks.grounding:TASK",
    "zeroshot": "ccneg_bench.tasks.zeroshot:TASK",
    "zeroshot-negated": "ccneg_bench.tasks.zeroshot:NEGATED_TASK",
})


def get_task(name: str) -> Task:
    """The task ``name``; a ``ValueError`` listing the known tasks for any other name."""
    try:
        return TASKS.load(name)
    except UnknownName:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}") from None
