"""Shard bookkeeping (``ccneg_build.shards``): content-named plans, stored parts and the one
skip-what-is-done loop that every engine and the official importer run their shards through."""

from __future__ import annotations

import pytest

from ccneg_core.record import RECORD_SCHEMA, SourceRow, StepStats, new_record, source_rows_from_table, source_rows_table
from ccneg_build.runner import BatchResult
from ccneg_build.shards import PartStore, ShardLedger, iter_shards, plan_shard


def _rows(n: int) -> list[SourceRow]:
    return [SourceRow(id=f"r{i}", source="t.tsv", source_row=i, caption=f"a dog {i}") for i in range(n)]


def test_plans_are_named_by_content():
    a = [plan for plan, _ in iter_shards(_rows(5), 2, "fp")]
    assert [(p.index, p.start, p.end) for p in a] == [(0, 0, 2), (1, 2, 4), (2, 4, 5)]
    assert a == [plan for plan, _ in iter_shards(_rows(5), 2, "fp")]
    assert a[0].key != next(iter_shards(_rows(5), 2, "other settings"))[0].key
    assert a[0] == plan_shard(0, 0, ["r0", "r1"], "fp")
    assert a[0].key != plan_shard(0, 0, ["r0", "rX"], "fp").key


def test_ledger_yields_only_unfinished_shards_and_reports_the_finished_ones(tmp_path):
    store = PartStore(tmp_path)
    shards = list(iter_shards(_rows(5), 2, "fp"))
    store.save(shards[1][0], BatchResult(records=[], rejects=[], stats=StepStats({"rows_read": 2})), 0.0)
    seen = []
    ledger = ShardLedger(store, lambda plan, marker, resumed: seen.append((plan.index, marker["rows"], resumed)))
    todo = [plan.index for plan, batch in ledger.pending(shards)]
    assert todo == [0, 2]
    assert seen == [(1, 2, True)]
    ledger.finished(shards[2][0], {"rows": 1})  # shard 0 left unfinished (rows owed): not reported
    assert seen == [(1, 2, True), (2, 1, False)]
    assert [p.index for p in ledger.plans] == [0, 1, 2]


def test_record_builder_fills_every_column_in_schema_order():
    row = new_record(id="x", caption="a cat", negated_caption="no cat")
    assert list(row) == RECORD_SCHEMA.names
    assert row["id"] == "x" and row["split"] is None and row["visual_score"] is None
    with pytest.raises(TypeError, match="not record columns: colour"):
        new_record(id="x", colour="red")


def test_source_rows_survive_the_arrow_round_trip():
    rows = _rows(2) + [SourceRow(id="i", source="s", source_row=9, caption=None, image={"bytes": b"\xff", "path": "i.jpg",
                                                                                      "sha256": "ab"},
                                 labels=("dog",), error="bad_row", error_detail="x")]
    back = source_rows_from_table(source_rows_table(rows))
    assert back[:2] == rows[:2]
    assert back[2].image == {"bytes": b"\xff", "path": "i.jpg"} and back[2].labels == ("dog",)
    assert back[2].error == "bad_row"
