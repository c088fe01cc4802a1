"""``--engine ray``: the same shards and steps, run by a Ray cluster through ``ray.data``.

The driver reads the input once (row numbers and ids depend on input order, so reading
stays in one place) and cuts it into the same content-named shards as the local engine.
Each unfinished shard becomes one row of a ``ray.data`` dataset: its plan plus its input
rows as an Arrow IPC block. ``map_batches`` sends those blocks to a pool of actors; each
actor builds the negator and the pipeline steps once and calls the very
:func:`~ccneg_build.runner.process_shard` the local engine calls (the steps of
:mod:`ccneg_build.steps` -> parts + completion marker). Publishing then runs on the driver exactly
as for the local engine, so both engines give identical datasets, and a rerun resumes
from the markers whichever engine wrote them.

Each shard's block goes to Ray's object store as soon as it is cut (the driver keeps only
references; Ray spills to disk when the store fills), and one streaming ``ray.data`` pass
over all blocks keeps the actors (and their loaded models) alive for the whole run. The
output folder must be visible to every node (a shared filesystem) because actors write
their shards' parts there.

The cluster: ``RAY_ADDRESS`` (or an already initialised Ray) is attached to; otherwise a
local cluster with ``--workers`` CPUs is started for the run and stopped after it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Iterable

import pyarrow as pa

from ccneg_build.config import BuildConfig
from ccneg_build.negators.base import RowsOwed, ServiceUnreachable
from ccneg_core.record import SOURCE_ROW_SCHEMA, SourceRow, source_rows_from_table, source_rows_table
from ccneg_build.runner import process_shard
from ccneg_build.shards import OnShard, PartStore, ShardLedger, ShardPlan, iter_shards
from ccneg_build.steps.registry import build_steps
from ccneg_build.negators.compose import build_negator


def rows_to_block(rows: Iterable[SourceRow]) -> bytes:
    """Serialise input rows to Arrow IPC bytes (a typed block, no pickled objects)."""
    table = source_rows_table(rows)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, SOURCE_ROW_SCHEMA) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def rows_from_block(block: bytes) -> list[SourceRow]:
    """The inverse of :func:`rows_to_block`."""
    return source_rows_from_table(pa.ipc.open_stream(pa.BufferReader(block)).read_all())


class ShardActor:
    """One Ray actor: builds the negator and the steps once, then processes whole shards."""

    def __init__(self, config: BuildConfig) -> None:
        self.negator = build_negator(config)
        self.steps = build_steps(config, self.negator)
        self.store = PartStore.for_style(config.out, config.style)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        markers = []
        for plan_json, block in zip(batch["plan"], batch["rows"]):
            plan = ShardPlan(**json.loads(plan_json))
            try:
                marker = process_shard(plan, rows_from_block(bytes(block)), self.steps, self.store)
            except RowsOwed:  # unfinished: the driver reports it and a rerun finishes it
                marker = {"owed": True}
            except ServiceUnreachable as exc:  # travels back as data: the driver stops the run
                marker = {"unreachable": str(exc)}
            markers.append(json.dumps(marker))
        return {"marker": markers}


def _start_ray(config: BuildConfig) -> bool:
    """Attach to ``RAY_ADDRESS`` / a running driver session, or start a local cluster.

    Returns whether this call started Ray (and so must stop it).
    """
    try:
        import ray
    except ImportError:
        raise RuntimeError("--engine ray needs Ray Data: pip install 'ccneg[ray]'") from None
    if ray.is_initialized():
        return False
    quiet = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if os.environ.get("RAY_ADDRESS"):
        ray.init(address=os.environ["RAY_ADDRESS"], **quiet)
        return True
    ray.init(num_cpus=config.workers, **quiet)
    return True


def run_shards(config: BuildConfig, rows: Iterable[SourceRow], run_fingerprint: str, store: PartStore,
               on_shard: OnShard) -> list[ShardPlan]:
    """Process every unfinished shard on Ray; returns all shard plans in input order."""
    import ray

    started_here = _start_ray(config)
    try:
        _quiet_ray_data()
        ledger = ShardLedger(store, on_shard)
        blocks = []
        for plan, batch in ledger.pending(iter_shards(rows, config.shard_size, run_fingerprint)):
            shard = pa.table({"plan": [json.dumps(dataclasses.asdict(plan))], "rows": [rows_to_block(batch)]})
            blocks.append(ray.put(shard))
        if blocks:
            _process_blocks(blocks, config, ledger)
        return ledger.plans
    finally:
        if started_here:
            ray.shutdown()


def _quiet_ray_data() -> None:
    import logging

    from ray.data import DataContext

    context = DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)


def _process_blocks(blocks: list[Any], config: BuildConfig, ledger: ShardLedger) -> None:
    """One streaming ``ray.data`` pass: one block, one batch and one marker per shard."""
    import ray.data

    workers = min(config.workers, len(blocks))
    markers = ray.data.from_arrow_refs(blocks).map_batches(
        ShardActor,
        fn_constructor_args=(config,),
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=1,
        batch_format="numpy",
    )
    for row in markers.iter_rows():
        marker = json.loads(row["marker"])
        if "unreachable" in marker:
            raise ServiceUnreachable(marker["unreachable"])
        if "owed" in marker:
            continue
        ledger.finished(ShardPlan(**marker["shard"]), marker)
