"""The pool engine: shards processed by ``--workers N`` processes of this machine.

The parent process reads the input once, cuts it into shards, skips finished ones and
hands the others to workers, keeping at most ``2 x workers`` shards in flight so memory
stays flat however large the input. Each worker builds its own negator and pipeline steps
once (through the registries, as the local engine does) and writes its shards' parts and
markers itself; only the small markers travel back.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Iterable

from ccneg_build.config import BuildConfig
from ccneg_build.engines.lifeline import tie_to_parent
from ccneg_build.negators.base import RowsOwed
from ccneg_build.negators.compose import build_negator
from ccneg_build.runner import process_shard
from ccneg_build.shards import OnShard, PartStore, ShardLedger, ShardPlan, iter_shards
from ccneg_build.steps.base import Step
from ccneg_build.steps.registry import build_steps
from ccneg_core.record import SourceRow


def run_shards(config: BuildConfig, rows: Iterable[SourceRow], run_fingerprint: str, store: PartStore,
               on_shard: OnShard) -> list[ShardPlan]:
    """Process every unfinished shard on ``config.workers`` processes; returns all plans in input order."""
    return _parallel(config, iter_shards(rows, config.shard_size, run_fingerprint), store, on_shard)


_WORKER: dict[str, Any] = {}


def _init_worker(config: BuildConfig, parent_pid: int) -> None:
    """Runs once per worker process: tie it to the parent, build the negator and the steps."""
    tie_to_parent(parent_pid)
    _WORKER["steps"] = build_steps(config, build_negator(config))
    _WORKER["store"] = PartStore.for_style(config.out, config.style)


def _work(plan: ShardPlan, batch: list[SourceRow]) -> dict[str, Any]:
    steps: list[Step] = _WORKER["steps"]
    return process_shard(plan, batch, steps, _WORKER["store"])


def _parallel(config: BuildConfig, shards: Iterable[tuple[ShardPlan, list[SourceRow]]], store: PartStore,
              on_shard: OnShard) -> list[ShardPlan]:
    ledger = ShardLedger(store, on_shard)
    in_flight: dict[Future, ShardPlan] = {}
    limit = 2 * config.workers
    context = multiprocessing.get_context(_start_method())
    pool = ProcessPoolExecutor(config.workers, mp_context=context, initializer=_init_worker,
                               initargs=(config, os.getpid()))
    try:
        for plan, batch in ledger.pending(shards):
            while len(in_flight) >= limit:
                _collect(in_flight, ledger, block=True)
            in_flight[pool.submit(_work, plan, batch)] = plan
        while in_flight:
            _collect(in_flight, ledger, block=True)
    except BaseException:
        _stop(pool)  # a stopped run must not leave workers sending requests or writing shards
        raise
    pool.shutdown(wait=True)
    return ledger.plans


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel queued shards and end the workers now (their unfinished shards stay unmarked)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=10)


def _start_method() -> str:
    """``fork`` on Linux: workers inherit the already-loaded modules and spaCy pipeline, so
    they start in milliseconds instead of re-importing spaCy (and torch, when installed) for
    seconds each. Only a parent with a single Python thread forks (the progress bar runs no
    monitor thread; Arrow re-creates its thread pools after a fork); otherwise, and on
    other systems, workers are spawned.
    """
    single_threaded = threading.active_count() == 1  # forking beside other threads can deadlock
    if sys.platform.startswith("linux") and single_threaded and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "spawn"


def _collect(in_flight: dict[Future, ShardPlan], ledger: ShardLedger, block: bool) -> None:
    done, _ = wait(list(in_flight), return_when=FIRST_COMPLETED, timeout=None if block else 0)
    for future in done:
        plan = in_flight.pop(future)
        try:
            marker = future.result()
        except RowsOwed:
            continue  # unfinished: the run reports it and a rerun finishes it
        ledger.finished(plan, marker)
