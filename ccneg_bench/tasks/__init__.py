"""Task registry: ``ccneg``, ``ccneg-balanced``, ``retrieval``, and the public benchmarks'
``mcq`` (NegBench), ``pair`` (SugarCREPE), ``crepe``, ``grounding`` (NegRefCOCOg), ``zeroshot`` and
``zeroshot-negated``.

Each task is a pure function of a :class:`~ccneg_bench.tasks.base.TaskContext`; see the
modules for the exact definitions. ``get_task(name)`` raises with the list of known tasks.
"""

from __future__ import annotations

from ccneg_bench.tasks.balanced import NoDistractorsError, run_balanced
from ccneg_bench.tasks.base import Task, TaskContext, TaskOutput
from ccneg_bench.tasks.ccneg import run_ccneg
from ccneg_bench.tasks.caption_retrieval import run_caption_retrieval
from ccneg_bench.tasks.choice import run_mcq, run_pair
from ccneg_bench.tasks.crepe import run_crepe
from ccneg_bench.tasks.grounding import run_grounding
from ccneg_bench.tasks.retrieval import run_retrieval
from ccneg_bench.tasks.zeroshot import run_zeroshot, run_zeroshot_negated


def _retrieval(ctx: TaskContext) -> TaskOutput:
    """CC-Neg retrieval, or NegBench's several-captions-per-image retrieval on such files."""
    return run_caption_retrieval(ctx) if ctx.dataset.kind == "captions" else run_retrieval(ctx)

TASKS: dict[str, Task] = {
    "ccneg": Task("ccneg", run_ccneg, description="true vs negated caption per image (official protocol)"),
    "ccneg-balanced": Task("ccneg-balanced", run_balanced, needs_distractors=True,
                           description="adds distractor images that must prefer the negated caption"),
    "retrieval": Task("retrieval", _retrieval, description="recall@1/5/10 image<->text"),
    "mcq": Task("mcq", run_mcq, description="NegBench multiple choice: argmax over the options"),
    "pair": Task("pair", run_pair, description="SugarCREPE: positive vs hard negative caption, strict >"),
    "crepe": Task("crepe", run_crepe, description="CREPE: rank of the true caption among its foils"),
    "grounding": Task("grounding", run_grounding,
                      description="NegRefCOCOg: the crop most similar to the phrase must be the reference box"),
    "zeroshot": Task("zeroshot", run_zeroshot, description="zero-shot classification (CLIP_benchmark's rule)"),
    "zeroshot-negated": Task("zeroshot-negated", run_zeroshot_negated,
                             description="zero-shot with negated prompts; lower acc1 is better"),
}


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}")
    return TASKS[name]


__all__ = ["TASKS", "Task", "TaskContext", "TaskOutput", "NoDistractorsError", "get_task"]
