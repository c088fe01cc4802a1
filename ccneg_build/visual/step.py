"""The visual pass over finished shards, and the view of the shards that publishing reads.

Why this is not one of the per-shard pipeline steps (:mod:`ccneg_build.steps`): a row's
visual score compares its negated object with *distractor* objects drawn from the object
vocabulary of the whole dataset, and that vocabulary exists only once every shard is
negated and filtered. So this is a publish-time step: it runs over all finished shards,
between the engine and publishing, and reports its counts through the shards' counts like
the other steps do.

:class:`VisualStep` runs once every shard is negated and filtered. It builds the object
vocabulary from all accepted rows, then for each shard scores the rows with images in
batches and stores the scores beside the shard's parts, written atomically and followed by
a completion marker (``<stem>.visual.parquet`` / ``<stem>.visual.json``): after a crash a
rerun scores only the shards without a marker, and the score cache spares even those
rows that were scored before the crash.

Scores are stored without the threshold; :class:`VerifiedPartStore` applies it when
publishing reads the shards: rows below it move from the records to the rejects (reason
``object_not_visible``, stage ``visual``), kept rows get ``visual_score`` and
``visual_model``, and the shard's counts change to match, so the manifest, the card and the
end-of-run summary count the new rejects like any other.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ccneg_core.record import REJECT_SCHEMA, StepStats
from ccneg_build.shards import PartStore, ShardPlan
from ccneg_core.score_cache import ScoreCache, score_key
from ccneg_build.options.visual import VisualOptions
from ccneg_core.presence import DISTRACTORS, scorer_provider
from ccneg_core.vocabulary import build_vocabulary, distractors, normalise_object, vocabulary_fingerprint
from ccneg_core.writer import atomic_write_json, atomic_write_table
from ccneg_core.image_decode import ImageRejected, decode_image

STAGE = "visual"
SCORES_SCHEMA = pa.schema([("id", pa.string()), ("visual_score", pa.float64()), ("reason", pa.string()),
                           ("detail", pa.string())])
CACHE_PATH = Path(".ccneg") / "cache" / "visual" / "scores.sqlite"


def scores_path(store: PartStore, plan: ShardPlan) -> Path:
    return Path(store.folder) / f"{plan.stem}.visual.parquet"


def marker_path(store: PartStore, plan: ShardPlan) -> Path:
    return Path(store.folder) / f"{plan.stem}.visual.json"


class VisualStep:
    """Scores every shard of a run (see the module doc); ``run`` returns the verified view.

    An output style whose rows hold other objects to check (``--style negbench``) subclasses it
    and overrides what differs: the files it keeps per shard (:meth:`scores_file`,
    :meth:`marker_file`), the columns it reads, the scores' column and schema, the vocabulary,
    one batch's scoring and the verified view. Reading the shards, the score cache, resuming
    and the progress bar are this class's, once.
    """

    #: columns of a shard's records that :meth:`_score_batch` reads
    read_columns = ["id", "caption", "negated_object", "image", "image_sha256"]
    #: the scores file's column holding what :meth:`_score_batch` returns first, and its schema
    result_column = "visual_score"
    scores_schema = SCORES_SCHEMA

    def __init__(self, options: VisualOptions, seed: int, progress: bool = False, device: str | None = None) -> None:
        self.options = options
        self.seed = seed
        self.progress = progress
        self.device = device

    def scores_file(self, store: PartStore, plan: ShardPlan) -> Path:
        return scores_path(store, plan)

    def marker_file(self, store: PartStore, plan: ShardPlan) -> Path:
        return marker_path(store, plan)

    def vocabulary(self, store: PartStore, plans: Sequence[ShardPlan]) -> list[str]:
        """The objects a CLIP-like model chooses among: the dataset's own negated objects."""
        return build_vocabulary(
            row for plan in plans for row in store.read_records(plan, columns=["negated_object", "relations"]).to_pylist())

    def verified(self, store: PartStore) -> Any:
        """The store view that publishing reads: rows below the threshold become rejections."""
        return VerifiedPartStore(store, self.options)

    def run(self, out: Path, store: PartStore, plans: Sequence[ShardPlan]) -> Any:
        vocabulary = self.vocabulary(store, plans)
        fingerprint = vocabulary_fingerprint(vocabulary)
        todo = [plan for plan in plans if not self._is_current(store, plan, fingerprint)]
        if todo:
            scorer = scorer_provider().load(self.options.model, self.options.pretrained,
                                            self.device or self.options.device, self.options.precision)
            cache = ScoreCache(Path(out) / CACHE_PATH)
            bar = self._bar(sum(store.marker(plan)["accepted"] for plan in todo))
            try:
                for plan in todo:
                    self._score_shard(store, plan, scorer, cache, vocabulary, fingerprint, bar)
            finally:
                cache.close()
                if bar is not None:
                    bar.close()
        return self.verified(store)

    def _is_current(self, store: PartStore, plan: ShardPlan, fingerprint: str) -> bool:
        path = self.marker_file(store, plan)
        if not path.exists() or not self.scores_file(store, plan).exists():
            return False
        marker = json.loads(path.read_text(encoding="utf-8"))
        return marker.get("vocabulary") == fingerprint and marker.get("model") == self.options.label

    def _bar(self, total: int):
        if not self.progress or total == 0:
            return None
        from tqdm import tqdm

        return tqdm(total=total, desc=f"visual check ({self.options.model})", unit="img", file=sys.stderr,
                    dynamic_ncols=True)

    def _score_shard(self, store: PartStore, plan: ShardPlan, scorer: Any, cache: ScoreCache,
                     vocabulary: Sequence[str], fingerprint: str, bar: Any) -> None:
        rows = store.read_records(plan, columns=self.read_columns).to_pylist()
        stats = StepStats()
        results: dict[str, tuple[Any, str | None, str | None]] = {}
        for start in range(0, len(rows), self.options.batch_size):
            batch = rows[start:start + self.options.batch_size]
            results.update(self._score_batch(batch, scorer, cache, vocabulary, stats))
            if bar is not None:
                bar.update(len(batch))
        ids = [row["id"] for row in rows]
        table = pa.table({"id": ids, self.result_column: [results[i][0] for i in ids],
                          "reason": [results[i][1] for i in ids], "detail": [results[i][2] for i in ids]},
                         schema=self.scores_schema)
        atomic_write_table(self.scores_file(store, plan), table)
        atomic_write_json(self.marker_file(store, plan), {"vocabulary": fingerprint, "vocabulary_size": len(vocabulary),
                                                     "model": self.options.label,
                                                     "counts": dict(sorted(stats.counts.items()))})

    def _score_batch(self, batch: list[dict[str, Any]], scorer: Any, cache: ScoreCache, vocabulary: Sequence[str],
                     stats: StepStats) -> dict[str, tuple[float | None, str | None, str | None]]:
        results: dict[str, tuple[float | None, str | None, str | None]] = {}
        keyed = []
        for row in batch:
            obj = normalise_object(row["negated_object"])
            others = distractors(row["id"], self.seed, row["caption"] or "", obj, vocabulary, DISTRACTORS) \
                if scorer.needs_distractors else []
            if scorer.needs_distractors and not others:
                stats.add("visual_no_alternatives")
            keyed.append((row, obj, others, score_key(scorer.identity, image_digest(row), obj, others)))
        cached = cache.get_many(key for *_rest, key in keyed)
        todo = []
        for row, obj, others, key in keyed:
            if key in cached:
                stats.add("visual_cache_hits")
                results[row["id"]] = (cached[key], None, None)
                continue
            try:
                todo.append((row, obj, others, key, decode_image(row["image"])))
            except ImageRejected as err:
                stats.add("visual_image_unreadable")
                results[row["id"]] = (None, "visual_image_unreadable", f"{err.reason}: {err.detail}"[:300])
        if todo:
            scores = scorer.score([t[4] for t in todo], [t[1] for t in todo], [t[2] for t in todo])
            cache.put_many({t[3]: s for t, s in zip(todo, scores)})
            for (row, *_rest), value in zip(todo, scores):
                results[row["id"]] = (value, None, None)
            stats.add("visual_scored", len(todo))
        return results


def image_digest(row: dict[str, Any]) -> str:
    if row.get("image_sha256"):
        return str(row["image_sha256"])
    image = row.get("image") or {}
    if image.get("bytes"):
        return hashlib.sha256(image["bytes"]).hexdigest()
    return "path:" + str(image.get("path"))


class VerifiedPartStore:
    """A :class:`PartStore` seen through the visual verdicts: what :func:`publish` reads."""

    def __init__(self, base: PartStore, options: VisualOptions) -> None:
        self.base = base
        self.folder = base.folder
        self.threshold = options.effective_threshold
        self.label = options.label
        self._verdicts: dict[str, dict[str, tuple[float | None, str | None, str | None]]] = {}

    def verdicts(self, plan: ShardPlan) -> dict[str, tuple[float | None, str | None, str | None]]:
        """id -> (score, reject reason or None, detail) for every scored row of the shard."""
        if plan.stem not in self._verdicts:
            table = pq.read_table(scores_path(self.base, plan)).to_pylist()
            verdicts = {}
            for row in table:
                score, reason, detail = row["visual_score"], row["reason"], row["detail"]
                if reason is None and score is not None and score < self.threshold:
                    reason = "object_not_visible"
                    detail = f"visual score {score:.4f} < {self.threshold:g} ({self.label})"
                verdicts[row["id"]] = (score, reason, detail)
            self._verdicts = {plan.stem: verdicts}  # publishing reads shards in order: keep one
        return self._verdicts[plan.stem]

    def _rejected_ids(self, plan: ShardPlan) -> set[str]:
        return {i for i, (_s, reason, _d) in self.verdicts(plan).items() if reason}

    def is_done(self, plan: ShardPlan) -> bool:
        return self.base.is_done(plan) and marker_path(self.base, plan).exists()

    def marker(self, plan: ShardPlan) -> dict[str, Any]:
        marker = json.loads(json.dumps(self.base.marker(plan)))
        visual = json.loads(marker_path(self.base, plan).read_text(encoding="utf-8"))
        counts = StepStats(dict(marker["counts"]))
        counts.merge(visual.get("counts", {}))
        reasons: dict[str, int] = {}
        for _score, reason, _detail in self.verdicts(plan).values():
            if reason:
                reasons[reason] = reasons.get(reason, 0) + 1
        moved = sum(reasons.values())
        for reason, n in reasons.items():
            counts.add(f"rejected:{reason}", n)
        if moved:
            counts.add(f"stage:{STAGE}", moved)
            counts.add("accepted", -moved)
        marker.update(accepted=marker["accepted"] - moved, rejected=marker["rejected"] + moved,
                      counts=dict(sorted(counts.counts.items())))
        return marker

    def read_records(self, plan: ShardPlan, columns: list[str] | None = None) -> pa.Table:
        visual_columns = ("visual_score", "visual_model")
        wanted = columns or None
        base_columns = None if wanted is None else list(dict.fromkeys(
            ["id"] + [c for c in wanted if c not in visual_columns]))
        table = self.base.read_records(plan, columns=base_columns)
        verdicts = self.verdicts(plan)
        ids = table.column("id").to_pylist()
        keep = pa.array([not (verdicts.get(i) or (None, None, None))[1] for i in ids], pa.bool_())
        scores = pa.array([(verdicts.get(i) or (None,))[0] for i in ids], pa.float64())
        labels = pa.array([self.label if i in verdicts else None for i in ids], pa.string())
        for name, values in (("visual_score", scores), ("visual_model", labels)):
            if name in table.column_names:
                table = table.set_column(table.column_names.index(name), name, values)
            elif wanted is None or name in wanted:
                table = table.append_column(name, values)
        table = table.filter(keep)
        return table.select(wanted) if wanted is not None else table

    def read_rejects(self, plan: ShardPlan) -> pa.Table:
        rejects = self.base.read_rejects(plan)
        rejected = self._rejected_ids(plan)
        if not rejected:
            return rejects
        records = self.base.read_records(plan, columns=["id", "source", "source_row", "url", "caption",
                                                        "negated_caption", "exclusion_caption", "generator"])
        chosen = records.filter(pc.is_in(records.column("id"), value_set=pa.array(sorted(rejected), pa.string())))
        verdicts = self.verdicts(plan)
        rows = []
        for row in chosen.to_pylist():
            _score, reason, detail = verdicts[row["id"]]
            rows.append({**row, "reason": reason, "detail": detail, "stage": STAGE, "raw_response": None})
        return pa.concat_tables([rejects, pa.Table.from_pylist(rows, schema=REJECT_SCHEMA)])
