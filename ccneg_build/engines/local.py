"""The local engine: every shard processed in this process, one after another (``--workers 1``).

It builds the run's negator and pipeline steps once, through the registries, and sends each
shard through the ledger; the process pool (:mod:`ccneg_build.engines.pool`) and Ray
(:mod:`ccneg_build.engines.ray_engine`) do the same elsewhere, with the same arguments.
"""

from __future__ import annotations

from typing import Iterable

from ccneg_build.config import BuildConfig
from ccneg_build.negators.base import RowsOwed
from ccneg_build.negators.compose import build_negator
from ccneg_build.runner import process_shard
from ccneg_build.shards import OnShard, PartStore, ShardLedger, ShardPlan, iter_shards
from ccneg_build.steps.registry import build_steps
from ccneg_core.record import SourceRow


def run_shards(config: BuildConfig, rows: Iterable[SourceRow], run_fingerprint: str, store: PartStore,
               on_shard: OnShard) -> list[ShardPlan]:
    """Process every unfinished shard here; returns all shard plans in input order."""
    negator = build_negator(config)
    try:
        steps = build_steps(config, negator)
        ledger = ShardLedger(store, on_shard)
        for plan, batch in ledger.pending(iter_shards(rows, config.shard_size, run_fingerprint)):
            try:
                marker = process_shard(plan, batch, steps, store)
            except RowsOwed:
                continue  # unfinished: the run reports it and a rerun finishes it
            ledger.finished(plan, marker)
        return ledger.plans
    finally:
        negator.close()
