"""Task registry: ``ccneg``, ``ccneg-balanced``, ``retrieval``.

Each task is a pure function of a :class:`~ccneg_bench.tasks.base.TaskContext`; see the
modules for the exact definitions. ``get_task(name)`` raises with the list of known tasks.
"""

from __future__ import annotations

from ccneg_bench.tasks.balanced import NoDistractorsError, run_balanced
from ccneg_bench.tasks.base import Task, TaskContext, TaskOutput
from ccneg_bench.tasks.ccneg import run_ccneg
from ccneg_bench.tasks.retrieval import run_retrieval

TASKS: dict[str, Task] = {
    "ccneg": Task("ccneg", run_ccneg, description="true vs negated caption per image (official protocol)"),
    "ccneg-balanced": Task("ccneg-balanced", run_balanced, needs_distractors=True,
                           description="adds distractor images that must prefer the negated caption"),
    "retrieval": Task("retrieval", run_retrieval, description="recall@1/5/10 image<->text"),
}


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}")
    return TASKS[name]


__all__ = ["TASKS", "Task", "TaskContext", "TaskOutput", "NoDistractorsError", "get_task"]
