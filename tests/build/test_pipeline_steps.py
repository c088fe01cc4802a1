"""The build pipeline as registered steps, and ``--fallback`` as a composed negator."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ccneg_core.registry import Registry
from ccneg_build import cli
from ccneg_build.cli import counter_lines
from ccneg_build.negators.base import Accepted, Negator
from ccneg_build.negators.fallback import FALLBACK_ROWS, FallbackNegator
from ccneg_build.negators.rule import RuleNegator
from ccneg_core.record import Decomposition, Generator, Negation, Rejection, Relation, SourceRow, make_id
from ccneg_build.runner import process_batch
from ccneg_build.steps.registry import STEPS
from ccneg_build.steps.base import Step
from ccneg_build.steps.negate import NegateStep
from ccneg_build.steps.read import ReadCheckStep
from ccneg_build.steps.verify import VerifyStep
from ccneg_build.verify import verify


def _row(caption: str, n: int) -> SourceRow:
    return SourceRow(id=make_id("t", n, caption), source="t", source_row=n, caption=caption)


class ScriptedNegator:
    """Returns a fixed proposal per caption: a filter-passing one, a filter-failing one, or a rejection."""

    backend = "scripted"
    generator = Generator(backend="scripted", model="s-1", version="test")

    def negate_batch(self, rows):
        return [self._one(row) for row in rows]

    def _one(self, row: SourceRow) -> Negation | Rejection:
        caption = row.caption or ""
        if caption == "a flag on a dome":  # passes the shared filter
            return Negation(Decomposition("flag", (Relation("dome", "on"),)), 0, "a flag not on a dome", "a flag",
                            self.generator)
        if caption == "a dog on a couch":  # the filter rejects it: no negation word added
            return Negation(Decomposition("dog", (Relation("couch", "on"),)), 0, "a dog on a sofa", "a dog",
                            self.generator)
        return Rejection("llm_invalid_json", "scripted failure", generator=self.generator)

    def take_stats(self):
        return {"scripted.calls": 1}

    def describe(self):
        return {"backend": "scripted", "fallback": None}

    def close(self):
        pass


def test_every_registered_step_implements_the_protocol() -> None:
    from ccneg_build.config import BuildConfig
    from ccneg_build.steps.registry import build_steps

    steps = build_steps(BuildConfig(out=Path("unused"), images="column"), ScriptedNegator())
    assert [s.name for s in steps] == ["read", "images", "negate", "verify"]
    assert list(STEPS) == ["read", "images", "negate", "verify", "negbench"]  # negbench: --style negbench only
    assert all(isinstance(s, Step) for s in steps)
    assert isinstance(ScriptedNegator(), Negator) and isinstance(RuleNegator(), Negator)


def test_the_filter_runs_once_per_proposal_with_a_fallback(monkeypatch) -> None:
    judged: list[str] = []

    def counting_verify(row, negation):
        judged.append(f"{negation.generator.backend}:{row.caption}")
        return verify(row, negation)

    monkeypatch.setattr("ccneg_build.steps.verify.verify", counting_verify)
    rows = [_row("a flag on a dome", 0), _row("a dog on a couch", 1), _row("a cat in a box", 2),
            SourceRow(id="bad", source="t", source_row=3, caption=None, error="bad_columns", error_detail="x")]
    negator = FallbackNegator(ScriptedNegator(), RuleNegator(seed=0), judge=counting_verify)
    result = process_batch(rows, [ReadCheckStep(), NegateStep(negator), VerifyStep()])

    # the scripted proposals are judged by the composed negator, the rule's by the verify step: once each
    assert sorted(judged) == sorted(["scripted:a flag on a dome", "scripted:a dog on a couch",
                                     "rule:a dog on a couch", "rule:a cat in a box"])
    by_row = {r["source_row"]: r for r in result.records}
    assert by_row[0]["generator"] == {"backend": "scripted", "model": "s-1", "version": "test", "fallback_from": None}
    assert by_row[1]["generator"]["backend"] == "rule" and by_row[1]["generator"]["fallback_from"] == "scripted"
    assert by_row[2]["generator"]["fallback_from"] == "scripted"
    assert [(r["source_row"], r["reason"], r["stage"]) for r in result.rejects] == [(3, "bad_columns", "read")]
    counts = result.stats.counts
    assert counts[FALLBACK_ROWS] == 2 and counts["accepted_by_fallback"] == 2 and counts["scripted.calls"] == 1
    assert negator.describe() == {"backend": "scripted", "fallback": "rule"}


def test_a_row_both_negators_fail_keeps_the_primarys_reason() -> None:
    rows = [_row("hello", 0), _row("a dog on a couch", 1)]
    outcomes = FallbackNegator(ScriptedNegator(), RuleNegator(seed=0)).negate_batch(rows)
    assert isinstance(outcomes[0], Rejection) and outcomes[0].reason == "llm_invalid_json"
    result = process_batch(rows[:1], [NegateStep(FallbackNegator(ScriptedNegator(), RuleNegator(seed=0))),
                                      VerifyStep()])
    assert [r["reason"] for r in result.rejects] == ["llm_invalid_json"]
    assert isinstance(FallbackNegator(ScriptedNegator(), RuleNegator()).negate_batch([_row("a flag on a dome", 0)])[0],
                      Accepted)


def test_a_step_plugs_in_with_one_registry_line(tmp_path: Path, monkeypatch, capsys) -> None:
    steps = dict(STEPS)
    order = list(steps)
    order.insert(order.index("negate"), "blocklist")
    steps["blocklist"] = "tests.build.plugin_step:make_step"
    monkeypatch.setattr("ccneg_build.steps.registry.STEPS", Registry("pipeline step", {name: steps[name] for name in order}))
    source = tmp_path / "captions.tsv"
    source.write_text("a dog on a couch\thttp://x/1\na flag on a dome\thttp://x/2\n", encoding="utf-8")
    out = tmp_path / "out"
    code = cli.main([str(source), "--out", str(out), "--eval-size", "0"])  # as typed: progress bars on
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    assert "ccneg-build captions.tsv" in stderr  # the progress bar ran
    rejected = pq.read_table(out / "rejected").to_pylist()
    assert [(r["caption"], r["reason"], r["stage"]) for r in rejected] == [("a dog on a couch", "blocked_word", "blocklist")]
    counts = json.loads((out / "manifest.json").read_text())["counts"]
    assert counts["blocklist.words_seen"] == 10
    assert "step counters" in stdout and "blocklist.words_seen" in stdout


def test_the_summary_prints_whatever_counters_the_steps_reported() -> None:
    counts = {"rows_read": 4, "accepted": 3, "rejected": 1, "acceptance_rate": 0.75, "splits": {"train": 3},
              "images_fetched": 2, "llm.fallback_rows": 1, "llm.relation_parsing.requests": 5,
              "llm.relation_parsing.cost_microusd": 1500, "llm.sentence_formation.requests": 4}
    lines = counter_lines(counts)
    assert lines[0] == "  step counters"
    text = "\n".join(lines)
    assert "rows_read" not in text and "splits" not in text
    assert any(line.split() == ["images_fetched", "2"] for line in lines)
    assert any(line.split() == ["llm.fallback_rows", "1"] for line in lines)
    parsing = next(line for line in lines if "llm.relation_parsing" in line)
    assert "requests 5" in parsing and "cost $0.0015" in parsing
    assert counter_lines({"rows_read": 3, "accepted": 3, "rejected": 0, "splits": {}}) == []


def test_a_negator_without_take_stats_is_refused_by_name(build, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(__import__("ccneg_build.negators.registry", fromlist=["BACKENDS"]).BACKENDS,
                        "legacy", "tests.build.test_pipeline_steps:LegacyNegator")
    code, _, stderr = build("--out", tmp_path / "out", "--backend", "legacy", "--limit", "3")
    assert code == 2
    assert "does not implement the Negator interface (missing: take_stats)" in stderr
    assert "Traceback" not in stderr


class LegacyNegator:
    """A backend written before ``take_stats`` joined the protocol."""

    backend = "legacy"

    def __init__(self, seed: int = 0) -> None:
        self.scripted = ScriptedNegator()

    def negate_batch(self, rows):
        return self.scripted.negate_batch(rows)

    def describe(self):
        return {"backend": "legacy"}

    def close(self):
        pass


@pytest.mark.parametrize("caption", ["a flag on a dome"])
def test_rule_negator_counts_nothing(caption: str) -> None:
    negator = RuleNegator(seed=0)
    negator.negate_batch([_row(caption, 0)])
    assert negator.take_stats() == {}
