"""``import-official``: the released CC-Neg files -> a ccneg dataset folder.

The output has exactly the layout of a build (``data/``, ``rejected/``, ``splits/``,
``manifest.json``, ``README.md``) so every ccneg tool and ``load_dataset`` read it, plus
``official/``: the original annotation of every row (for the fields our schema has no
column for: ``MIDs``, ``confidence_scores``, ``key``, the original image path) and the
file's other top-level entries, which is what lets ``export-official`` give the release
back field for field.

The work runs in shards with completion markers, through the same skip-what-is-done loop as
a build (:class:`~ccneg_build.shards.ShardLedger`), so an interrupted import resumes. Ids, texts and the split are those of :mod:`.released_format` (the one reading of
the release that ``ccneg-bench`` also uses): the last 40,000 rows are eval, published as
explicit id lists under ``splits/``, and ``negated_caption`` holds c' as the release scores it
(commas removed; the original text is kept under ``official/``).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import pyarrow as pa

from ccneg_build.card import render_card
from ccneg_build.config import fingerprint
from ccneg_build.splits import EvalSize
from ccneg_core.image_decode import MISSING, ImageRejected
from ccneg_build.images.prepare import prepare_image
from ccneg_build.options.images import ImageOptions
from ccneg_build.manifest import build_manifest, prepare_output, run_record
from ccneg_core.released_format import (
    GENERATOR,
    PROMPT_VERSION,
    RELEASED_FILE,
    SOURCE_NAME,
    ReleasedRow,
    find_image,
    load_released,
    released_eval_size,
    released_rows,
    row_ids,
)
from ccneg_build.publish import publish
from ccneg_core.record import Rejection, SourceRow, StepStats, image_sha256, new_record, reject_row
from ccneg_build.runner import BatchResult
from ccneg_build.shards import PartStore, ShardLedger, ShardPlan, plan_shard
from ccneg_build.splits import EVAL, TRAIN
from ccneg_build.publication import Publication

#: changes whenever a release row maps to different record columns (a folder made by an older
#: reading is then not resumed silently)
READING_VERSION = 2
OFFICIAL_DIR = "official"
ANNOTATIONS_FILE = "annotations.parquet"
EXTRAS_FILE = "released.json"
ANNOTATION_SCHEMA = pa.schema([
    pa.field("id", pa.string()),
    pa.field("index", pa.int64()),
    pa.field("image_path", pa.string()),
    pa.field("annotation", pa.string()),  # the original annotation as JSON
])


class FixedSplits:
    """A split assigner with the interface of :class:`ccneg_build.splits.SplitAssigner`
    for a split decided in advance (here: the release's last rows are eval)."""

    needs_ids = False

    def __init__(self, eval_ids: set[str]):
        self.eval_ids = eval_ids

    def prepare(self, ids: Any) -> None:  # nothing to learn
        return None

    def split_of(self, row_id: str) -> str:
        return EVAL if row_id in self.eval_ids else TRAIN


@dataclass
class ImportReport:
    out: Path
    mode: str
    manifest: dict[str, Any]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_official(
    folder: Path,
    out: Path,
    shard_size: int = 1000,
    rows_per_file: int = 50_000,
    eval_size: int | None = None,
    check_images: bool = False,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Convert the release in ``folder`` into a ccneg dataset in ``out`` (resumable).

    ``progress(rows_done, rows_total)`` is called after every shard (done or skipped).
    ``eval_size`` overrides how many last rows are eval (default: the release's 40,000).
    """
    started = time.perf_counter()
    created = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    folder, out = Path(folder), Path(out)
    released_path = folder / RELEASED_FILE
    data = load_released(released_path)
    paths, annotations = list(data["image_paths"]), list(data["annotations"])
    total = len(annotations)
    n_eval = released_eval_size(total, eval_size)
    settings = {"import": "official", "reading": READING_VERSION, "eval_size": n_eval, "shard_size": shard_size,
                "rows_per_file": rows_per_file, "check_images": check_images}
    source = {"name": RELEASED_FILE, "format": "ccneg-official", "path": str(released_path),
              "sha256": _sha256(released_path), "rows": total}
    negator = {"backend": GENERATOR["backend"], "model": GENERATOR["model"],
               "note": "rows imported from the CC-Neg release (PaLM-2 text-bison-001 generations)"}
    record = run_record(settings, source, negator)
    mode = prepare_output(out, record, overwrite)

    ids = row_ids(data)
    store = PartStore(out)
    run_fingerprint = fingerprint(record)

    def on_shard(plan: ShardPlan, _marker: dict[str, Any], _resumed: bool) -> None:
        if progress is not None:
            progress(plan.end - plan.start, total)

    ledger = ShardLedger(store, on_shard)
    shards = ((plan_shard(index, start, ids[start:start + shard_size], run_fingerprint), None)
              for index, start in enumerate(range(0, total, shard_size)))
    for plan, _ in ledger.pending(shards):
        shard_started = time.perf_counter()
        result = _convert_shard(folder, released_rows(data, plan.start, plan.end), check_images)
        ledger.finished(plan, store.save(plan, result, time.perf_counter() - shard_started))
    plans = ledger.plans

    eval_ids = set(ids[total - n_eval:]) if n_eval else set()
    published = publish(out, store, plans, EvalSize(count=n_eval), rows_per_file, assigner=FixedSplits(eval_ids))
    try:
        _write_official(published.publication, ids, paths, annotations, data)
    except BaseException:
        published.publication.discard()
        raise
    seconds = time.perf_counter() - started
    manifest = build_manifest(config_settings=settings, source=source, negator=negator, published=published,
                              timings={"total_s": seconds, "rows_per_s": total / seconds if seconds else 0.0},
                              engine="import-official", workers=1, created=created)
    manifest["split_rule"] = (f"the release's split: the last {n_eval} of {total} rows (in the file's order) "
                              "are eval, the others train")
    manifest["run"] = {"mode": mode, "shards": len(plans)}
    manifest = published.publication.commit(manifest, render_card(manifest))
    return ImportReport(out=out, mode=mode, manifest=manifest)


def _convert_shard(folder: Path, rows: Iterable[ReleasedRow], check_images: bool) -> BatchResult:
    stats = StepStats()
    records, rejects = [], []
    options = ImageOptions(max_bytes=1 << 40)
    for released in rows:
        stats.add("rows_read")
        fields = released.fields
        row = SourceRow(id=released.id, source=SOURCE_NAME, source_row=released.index, caption=fields["caption"],
                        url=fields["url"])
        problem, image = _read_image(folder, released.image_path, check_images, options)
        if problem is not None:
            rejects.append(reject_row(row, problem))
            stats.add(f"rejected:{problem.reason}")
            stats.add(f"stage:{problem.stage}")
            continue
        records.append(new_record(id=row.id, source=SOURCE_NAME, source_row=released.index, **fields,
                                  image=image, image_sha256=image_sha256(image), generator=dict(GENERATOR),
                                  prompt_version=PROMPT_VERSION))
        stats.add("accepted")
    return BatchResult(records=records, rejects=rejects, stats=stats)


def _read_image(folder: Path, original: str, check: bool, options: ImageOptions
                ) -> tuple[Rejection | None, dict[str, Any] | None]:
    found = find_image(folder, original)
    if found is None:
        return Rejection(reason=MISSING, detail=f"{original}: no such file under {folder}", stage="image"), None
    data = found.read_bytes()
    if check:
        try:
            prepare_image(data, None, options)
        except ImageRejected as rejected:
            return Rejection(reason=rejected.reason, detail=f"{found}: {rejected.detail}", stage="image"), None
    return None, {"bytes": data, "path": found.name}


def _write_official(publication: Publication, ids: Sequence[str], paths: Sequence[Any], annotations: Sequence[Any],
                    data: dict[str, Any]) -> None:
    """Keep the original annotations and the file's other entries for a faithful export."""
    table = pa.table({
        "id": pa.array(list(ids), pa.string()),
        "index": pa.array(range(len(ids)), pa.int64()),
        "image_path": pa.array([str(p) for p in paths], pa.string()),
        "annotation": pa.array([json.dumps(a, ensure_ascii=False, default=str) for a in annotations], pa.string()),
    }, schema=ANNOTATION_SCHEMA)
    publication.write_table(f"{OFFICIAL_DIR}/{ANNOTATIONS_FILE}", table)
    extras = {k: v for k, v in data.items() if k not in ("image_paths", "annotations")}
    publication.write_json(f"{OFFICIAL_DIR}/{EXTRAS_FILE}", _json_safe(extras))


def _json_safe(value: Any) -> Any:
    """JSON keeps string keys only: remember int keys (``num_ops``) as ``{"__int__": ...}``."""
    if isinstance(value, dict):
        if value and all(isinstance(k, int) for k in value):
            return {"__int_keys__": [[k, _json_safe(v)] for k, v in value.items()]}
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def from_json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__int_keys__"}:
            return {int(k): from_json_safe(v) for k, v in value["__int_keys__"]}
        return {k: from_json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json_safe(v) for v in value]
    return value
