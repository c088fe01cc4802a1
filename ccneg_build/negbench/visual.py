"""``--verify-visual`` for the negbench style: affirmed objects must be seen, the absent object must not.

Every accepted row with an image gets one check per object its options affirm (A, and B; role
``present``) and one for its absent object (N; role ``absent``). A CLIP-like model scores an
object as its probability among other objects (:class:`ccneg_bench.presence.ChoiceScorer`):
a present object among up to 15 objects of the dataset's own vocabulary that the caption does
not mention, the absent object among the row's affirmed objects plus those. A detector
(``hf-detector:ID``) scores each object by its best box. A present object passes at or above
``--verify-visual-threshold`` (the ccneg style's rule); the absent object passes below
``--verify-visual-absent-threshold``. Every check is kept in the row's ``visual_checks``
(object, role, score, passed), so a reader sees what was verified; a row with a failed check
moves to the rejects: ``object_not_visible`` (a present object) or ``absent_object_visible``.

Like the ccneg style's visual pass (:mod:`ccneg_build.visual.step`, whose scorers, score cache
and distractor draw it reuses), it runs once all shards are finished, scores each shard once
(a marker per shard, so a rerun resumes), and publishing reads the shards through
:class:`NegBenchVerifiedStore`, which applies the thresholds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ccneg_build.negbench.lexicon import normalise
from ccneg_core.record import REJECT_SCHEMA, StepStats
from ccneg_build.shards import PartStore, ShardPlan
from ccneg_core.score_cache import ScoreCache, score_key
from ccneg_build.options.visual import VisualOptions
from ccneg_core.presence import DISTRACTORS
from ccneg_build.visual.step import VisualStep, STAGE, image_digest
from ccneg_core.vocabulary import distractors
from ccneg_core.image_decode import ImageRejected, decode_image

PRESENT, ABSENT = "present", "absent"
CHECK_TYPE = pa.struct([("object", pa.string()), ("role", pa.string()), ("score", pa.float64())])
SCORES_SCHEMA = pa.schema([("id", pa.string()), ("checks", pa.list_(CHECK_TYPE)), ("reason", pa.string()),
                           ("detail", pa.string())])


def scores_path(store: PartStore, plan: ShardPlan) -> Path:
    return Path(store.folder) / f"{plan.stem}.negbench-visual.parquet"


def marker_path(store: PartStore, plan: ShardPlan) -> Path:
    return Path(store.folder) / f"{plan.stem}.negbench-visual.json"


def row_checks(row: dict[str, Any]) -> list[tuple[str, str]]:
    """(object, role) of every check of a record: its affirmed objects, then its absent object."""
    checks = [(normalise(o), PRESENT) for o in row.get("affirmed_objects") or []]
    if row.get("absent_object"):
        checks.append((normalise(row["absent_object"]), ABSENT))
    return checks


class NegBenchVisualStep(VisualStep):
    """Scores every shard of a negbench run (see the module doc); ``run`` returns the verified view."""

    read_columns = ["id", "caption", "affirmed_objects", "absent_object", "image", "image_sha256"]
    result_column = "checks"
    scores_schema = SCORES_SCHEMA

    def scores_file(self, store: PartStore, plan: ShardPlan) -> Path:
        return scores_path(store, plan)

    def marker_file(self, store: PartStore, plan: ShardPlan) -> Path:
        return marker_path(store, plan)

    def vocabulary(self, store: PartStore, plans: Sequence[ShardPlan]) -> list[str]:
        """Every object a row affirms or calls absent, across the run."""
        found: set[str] = set()
        for plan in plans:
            for row in store.read_records(plan, columns=["affirmed_objects", "absent_object"]).to_pylist():
                found.update(obj for obj, _role in row_checks(row))
        found.discard("")
        return sorted(found)

    def verified(self, store: PartStore) -> "NegBenchVerifiedStore":
        return NegBenchVerifiedStore(store, self.options)

    def _alternatives(self, row: dict[str, Any], obj: str, role: str, vocabulary: Sequence[str]) -> list[str]:
        affirmed = [o for o, r in row_checks(row) if r == PRESENT]
        drawn = distractors(row["id"], self.seed, row["caption"] or "", obj,
                            [v for v in vocabulary if v not in affirmed and v != obj], DISTRACTORS)
        return (affirmed + drawn) if role == ABSENT else drawn

    def _score_batch(self, batch: list[dict[str, Any]], scorer: Any, cache: ScoreCache, vocabulary: Sequence[str],
                     stats: StepStats) -> dict[str, tuple[list[dict[str, Any]], str | None, str | None]]:
        keyed: list[tuple[dict[str, Any], str, str, list[str], str]] = []
        for row in batch:
            for obj, role in row_checks(row):
                others = self._alternatives(row, obj, role, vocabulary) if scorer.needs_distractors else []
                keyed.append((row, obj, role, others, score_key(scorer.identity, image_digest(row), obj, others)))
        cached = cache.get_many(key for *_rest, key in keyed)
        scores: dict[str, float] = {key: cached[key] for *_rest, key in keyed if key in cached}
        stats.add("visual_cache_hits", len(scores))
        failed: dict[str, str] = {}
        todo: list[tuple[Any, str, list[str], str]] = []
        images: dict[str, Any] = {}
        for row, obj, role, others, key in keyed:
            if key in scores or row["id"] in failed:
                continue
            if row["id"] not in images:
                try:
                    images[row["id"]] = decode_image(row["image"])
                except ImageRejected as err:
                    failed[row["id"]] = f"{err.reason}: {err.detail}"[:300]
                    stats.add("visual_image_unreadable")
                    continue
            todo.append((images[row["id"]], obj, others, key))
        if todo:
            values = scorer.score([t[0] for t in todo], [t[1] for t in todo], [t[2] for t in todo])
            fresh = {t[3]: v for t, v in zip(todo, values)}
            cache.put_many(fresh)
            scores.update(fresh)
            stats.add("visual_scored", len(todo))
        results: dict[str, tuple[list[dict[str, Any]], str | None, str | None]] = {}
        for row in batch:
            if row["id"] in failed:
                results[row["id"]] = ([], "visual_image_unreadable", failed[row["id"]])
                continue
            checks = [{"object": obj, "role": role, "score": scores[key]}
                      for r, obj, role, _others, key in keyed if r is row]
            results[row["id"]] = (checks, None, None)
        return results


class NegBenchVerifiedStore:
    """A negbench :class:`PartStore` seen through the visual verdicts: what publishing reads."""

    def __init__(self, base: PartStore, options: VisualOptions) -> None:
        self.base = base
        self.folder = base.folder
        self.schema = base.schema
        self.threshold = options.effective_threshold
        self.absent_threshold = options.effective_absent_threshold
        self.label = options.label
        self._cached: tuple[str, dict[str, tuple[list[dict[str, Any]], str | None, str | None]]] | None = None

    def verdicts(self, plan: ShardPlan) -> dict[str, tuple[list[dict[str, Any]], str | None, str | None]]:
        """id -> (checks with ``passed``, reject reason or None, detail) for every scored row of the shard."""
        if self._cached is None or self._cached[0] != plan.stem:
            verdicts = {}
            for row in pq.read_table(scores_path(self.base, plan)).to_pylist():
                checks, reason, detail = [], row["reason"], row["detail"]
                for check in row["checks"] or []:
                    passed = (check["score"] >= self.threshold if check["role"] == PRESENT
                              else check["score"] < self.absent_threshold)
                    checks.append({**check, "passed": passed})
                    if reason is None and not passed:
                        if check["role"] == PRESENT:
                            reason = "object_not_visible"
                            detail = f"{check['object']!r}: visual score {check['score']:.4f} < {self.threshold:g} ({self.label})"
                        else:
                            reason = "absent_object_visible"
                            detail = (f"{check['object']!r}: visual score {check['score']:.4f} >= "
                                      f"{self.absent_threshold:g} ({self.label})")
                verdicts[row["id"]] = (checks, reason, detail)
            self._cached = (plan.stem, verdicts)  # publishing reads shards in order: keep one
        return self._cached[1]

    def is_done(self, plan: ShardPlan) -> bool:
        return self.base.is_done(plan) and marker_path(self.base, plan).exists()

    def marker(self, plan: ShardPlan) -> dict[str, Any]:
        marker = json.loads(json.dumps(self.base.marker(plan)))
        visual = json.loads(marker_path(self.base, plan).read_text(encoding="utf-8"))
        counts = StepStats(dict(marker["counts"]))
        counts.merge(visual.get("counts", {}))
        moved = 0
        for _checks, reason, _detail in self.verdicts(plan).values():
            if reason:
                counts.add(f"rejected:{reason}")
                moved += 1
        if moved:
            counts.add(f"stage:{STAGE}", moved)
            counts.add("accepted", -moved)
        marker.update(accepted=marker["accepted"] - moved, rejected=marker["rejected"] + moved,
                      counts=dict(sorted(counts.counts.items())))
        return marker

    def read_records(self, plan: ShardPlan, columns: list[str] | None = None) -> pa.Table:
        visual_columns = ("visual_checks", "visual_model")
        base_columns = None if columns is None else list(dict.fromkeys(
            ["id"] + [c for c in columns if c not in visual_columns]))
        table = self.base.read_records(plan, columns=base_columns)
        verdicts = self.verdicts(plan)
        ids = table.column("id").to_pylist()
        keep = pa.array([not (verdicts.get(i) or ([], None, None))[1] for i in ids], pa.bool_())
        checks_type = self.schema.field("visual_checks").type
        values = {"visual_checks": pa.array([verdicts[i][0] if i in verdicts else None for i in ids], checks_type),
                  "visual_model": pa.array([self.label if i in verdicts else None for i in ids], pa.string())}
        for name, array in values.items():
            if name in table.column_names:
                table = table.set_column(table.column_names.index(name), name, array)
            elif columns is None or name in columns:
                table = table.append_column(name, array)
        table = table.filter(keep)
        return table.select(columns) if columns is not None else table

    def read_rejects(self, plan: ShardPlan) -> pa.Table:
        rejects = self.base.read_rejects(plan)
        verdicts = self.verdicts(plan)
        rejected = sorted(i for i, (_c, reason, _d) in verdicts.items() if reason)
        if not rejected:
            return rejects
        records = self.base.read_records(plan, columns=["id", "source", "source_row", "url", "caption", "generator"])
        chosen = records.filter(pc.is_in(records.column("id"), value_set=pa.array(rejected, pa.string())))
        rows = []
        for row in chosen.to_pylist():
            _checks, reason, detail = verdicts[row["id"]]
            rows.append({**row, "reason": reason, "detail": detail, "stage": STAGE, "raw_response": None,
                         "negated_caption": None, "exclusion_caption": None})
        return pa.concat_tables([rejects, pa.Table.from_pylist(rows, schema=REJECT_SCHEMA)])
