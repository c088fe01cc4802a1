"""Distractor mining: for each sample, the pool images its negated caption describes best.

Score of pool image p for sample i (ccneg-facts.md section 2)::

    score(i, p) = sim(p, exclusion caption_i) - sim(p, negated object_i)

With L2-normalised features this is one dot product, ``p . (e_i - o_i)``, so scoring is a
matrix product streamed over the pool in blocks with a running top-k: memory stays bounded
by one (query block x pool block) score matrix whatever the pool size, and the result is a
true top-k (never the sample's own image, never an image that failed to decode).

Pool features go through ccneg-bench's feature cache (:mod:`ccneg_bench.features`), so they
are computed once per (model, pool) and a rerun or a second dataset reuses them.

Outputs, next to the dataset (``DATASET/distractors/`` unless ``out`` says otherwise):

* ``assignments.parquet``: ``id``, ``distractor_ids: list<string>``,
  ``distractor_scores: list<float32>`` (best first), ``object_scores`` and ``subject_scores``
  (list<float32>: the ``--verify-absence`` verifier's scores per distractor; null without it);
* ``images.parquet``: ``image_id``, ``image`` (HF Image struct ``{bytes, path}``) holding
  every referenced pool image, so the dataset folder is self-contained;
* ``dropped.parquet`` (``--verify-absence``): every checked candidate that was not assigned,
  with its reason (:data:`ccneg_bench.absence.DROP_REASONS`), scores and rank;
* ``manifest.json``: model, pool, k, counts (drops per reason) and timings.

With ``--verify-absence`` a sample's candidates are checked before they are assigned: not its
own image or a near-copy of it, the negated object judged absent and the subject present by a
visual scorer (:mod:`ccneg_bench.absence`).

Rows already assigned by an earlier run and not mined now are kept (mine the train split
against one pool and the eval split against another, into the same folder). When the
dataset is its own pool and no pool split is given, each split draws only from its own
images, so no train sample gets an eval image as its distractor (or the reverse). A split
is the rows of ``data/{split}-*.parquet``, as everywhere (:mod:`ccneg_core.dataset`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from ccneg_bench.absence import AbsenceSettings, Kept, SampleCandidates, Verdict, check_candidates, questions
from ccneg_core.dataset import DatasetFolderError, is_dataset_folder, read_split, split_files, split_names
from ccneg_core.image_decode import read_image_bytes, reference_parts
from ccneg_core.layout import ASSIGNMENTS_FILE, DISTRACTOR_DIR, MANIFEST, POOL_IMAGES_FILE
from ccneg_core.devices import resolve_device
from ccneg_core.record import IMAGE_TYPE
from ccneg_core.writer import atomic_output, atomic_write_text
from ccneg_bench.datasets.parquet_tables import ParquetImageTable
from ccneg_bench.datasets.released import PathImageTable
from ccneg_bench.features import encode_texts
from ccneg_bench.options import UsageError
from ccneg_bench.features import encode_image_table
from ccneg_bench.models.registry import load_model
from ccneg_core.vocabulary import build_vocabulary
from ccneg_core.image_decode import ImageRejected

#: The columns of the samples that mining reads.
SAMPLE_COLUMNS = ("id", "caption", "exclusion_caption", "negated_object", "image_sha256", "subject", "relations")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")

ASSIGNMENT_SCHEMA = pa.schema([
    pa.field("id", pa.string(), nullable=False),
    pa.field("distractor_ids", pa.list_(pa.string())),
    pa.field("distractor_scores", pa.list_(pa.float32())),
    # --verify-absence: the verifier's scores for the negated object and the subject in each
    # distractor (null without it; a subject score is null when the subject was not checked)
    pa.field("object_scores", pa.list_(pa.float32())),
    pa.field("subject_scores", pa.list_(pa.float32())),
])
#: --verify-absence: every candidate that was checked and not assigned, with its reason
DROPPED_SCHEMA = pa.schema([
    pa.field("id", pa.string(), nullable=False),
    pa.field("candidate_id", pa.string()),
    pa.field("rank", pa.int32()),
    pa.field("mining_score", pa.float32()),
    pa.field("reason", pa.string()),
    pa.field("object_score", pa.float32()),
    pa.field("subject_score", pa.float32()),
    pa.field("similarity", pa.float32()),
])
DROPPED_FILE = "dropped.parquet"
POOL_IMAGE_SCHEMA = pa.schema([pa.field("image_id", pa.string(), nullable=False), pa.field("image", IMAGE_TYPE)])


@dataclass
class Pool:
    """A pool of candidate images and, when known, their content hashes."""

    spec: str
    table: Any  # ccneg_bench.datasets.base.ImageTable
    sha256: list[str | None] = field(default_factory=list)


def open_pool(spec: str, split: str | None = None) -> Pool:
    """A pool from a ccneg dataset folder (its ``split``, or all of it), a Parquet file of images,
    or an image folder."""
    path = Path(spec)
    if path.is_dir() and is_dataset_folder(path):
        files = split_files(path, split)
        table = read_split(path, split, ("id", "image_sha256"))
        ids = table.column("id").to_pylist()
        images = ParquetImageTable([str(f) for f in files], ids, column="image", root=str(path))
        return Pool(spec, images, table.column("image_sha256").to_pylist())
    if path.is_file() and path.suffix == ".parquet":
        names = pq.read_schema(path).names
        id_column = "image_id" if "image_id" in names else "id" if "id" in names else None
        if id_column is None or "image" not in names:
            raise ValueError(f"{path}: a pool Parquet needs an 'image_id' (or 'id') column and an 'image' column")
        ids = [str(i) for i in pq.read_table(path, columns=[id_column]).column(0).to_pylist()]
        return Pool(spec, ParquetImageTable([str(path)], ids, column="image", root=str(path.parent)), [None] * len(ids))
    if path.is_dir():
        files = sorted(
            p.relative_to(path).as_posix() for p in path.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
        )
        if not files:
            raise ValueError(f"{path}: no images ({', '.join(IMAGE_EXTENSIONS)}) in this pool folder")
        return Pool(spec, PathImageTable(files, files, root=str(path)), [None] * len(files))
    raise ValueError(f"--pool {spec}: not a ccneg dataset folder, a .parquet of images or an image folder")


def _same_folder(data: str, pool_spec: str) -> bool:
    try:
        return Path(data).resolve() == Path(pool_spec).resolve()
    except OSError:
        return False


def query_vectors(adapter: Any, exclusion: list[str], objects: list[str], cache: Path | None) -> np.ndarray:
    """``normalise(e_i) - normalise(o_i)`` per sample (each text encoded once)."""
    texts = encode_texts(adapter, exclusion + objects, cache=cache, progress=True)
    return texts.of(exclusion) - texts.of(objects)


def streaming_top_k(
    queries: torch.Tensor, pool: torch.Tensor, k: int, exclude: torch.Tensor, valid: torch.Tensor,
    query_block: int = 4096, pool_block: int = 16384,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k pool rows per query by ``queries @ pool.T``, streamed over both in blocks.

    ``exclude[i]`` is a pool row query ``i`` must never get (its own image) or -1;
    ``valid[p]`` is False for pool rows that failed to decode. Returns (scores, rows), both
    (N, k'), best first, with k' = min(k, number of usable pool rows); a query with fewer
    usable candidates has trailing ``-inf`` scores.
    """
    n, m = queries.shape[0], pool.shape[0]
    k = min(k, m)
    all_scores = torch.full((n, k), -torch.inf)
    all_rows = torch.full((n, k), -1, dtype=torch.long)
    for q0 in range(0, n, query_block):
        q = queries[q0 : q0 + query_block]
        best_scores = torch.full((q.shape[0], k), -torch.inf, device=q.device)
        best_rows = torch.full((q.shape[0], k), -1, dtype=torch.long, device=q.device)
        own = exclude[q0 : q0 + query_block].to(q.device)
        for p0 in range(0, m, pool_block):
            block = pool[p0 : p0 + pool_block]
            scores = q @ block.t()
            scores[:, ~valid[p0 : p0 + pool_block].to(q.device)] = -torch.inf
            inside = (own >= p0) & (own < p0 + block.shape[0])
            if inside.any():
                scores[inside.nonzero().squeeze(1), own[inside] - p0] = -torch.inf
            kk = min(k, block.shape[0])
            top_scores, top_rows = scores.topk(kk, dim=1)
            merged_scores = torch.cat([best_scores, top_scores], dim=1)
            merged_rows = torch.cat([best_rows, top_rows + p0], dim=1)
            best_scores, order = merged_scores.topk(k, dim=1)
            best_rows = merged_rows.gather(1, order)
        all_scores[q0 : q0 + q.shape[0]] = best_scores.cpu()
        all_rows[q0 : q0 + q.shape[0]] = best_rows.cpu()
    return all_scores, all_rows


def _pool_image_structs(pool: Pool, rows: list[int]) -> list[dict[str, Any]]:
    """HF Image structs (bytes embedded) of the given pool rows, read chunk by chunk."""
    table = pool.table
    wanted = sorted(set(rows))
    out: dict[int, dict[str, Any]] = {}
    for start, stop in table.chunks(1024):
        inside = [r for r in wanted if start <= r < stop]
        if not inside:
            continue
        refs = table.read_refs(start, stop)
        for r in inside:
            ref = refs[r - start]
            out[r] = {"bytes": read_image_bytes(ref, table.root)[0], "path": reference_parts(ref)[1]}
    return [out[r] for r in rows]


def _write_parquet(table: pa.Table, path: Path) -> None:
    with atomic_output(path) as tmp:
        pq.write_table(table, tmp)


def check_mining_inputs(data: str, pool_spec: str, split: str | None, pool_split: str | None = None) -> None:
    """The dataset (and its split) and the pool (and its split) exist: checked before any model loads."""
    if not Path(data).is_dir():
        raise UsageError(f"--data {data}: no such folder (a ccneg-build output folder)")
    _check_split("--split", data, split)
    if not Path(pool_spec).exists():
        raise UsageError(f"--pool {pool_spec}: no such file or folder")
    if pool_split is not None and is_dataset_folder(pool_spec):
        _check_split("--pool-split", pool_spec, pool_split)


def _check_split(option: str, folder: str, split: str | None) -> None:
    """The folder is a dataset with ``split`` (any split when None); the error names ``option``."""
    try:
        split_files(folder, split)
    except DatasetFolderError as err:
        raise UsageError(f"{option} {split}: {err}" if split is not None else str(err)) from None


def mining_summary(manifest: dict[str, Any]) -> str:
    """A few lines for the terminal: per split what was mined, then the totals and the files.

    The full record (timings, cache statistics) stays in ``manifest.json``.
    """
    parts = manifest.get("per_split") or [manifest]
    lines = []
    for part in parts:
        skipped = {k: v for k, v in (part.get("skipped") or {}).items() if v}
        lines.append(
            f"split {part.get('split') or 'all'}: {part['mined']} of {part['samples']} samples mined against "
            f"{part['pool_images']} pool images ({part['pool_images_failed']} unreadable)"
            + (f"; skipped: {', '.join(f'{k} x{v}' for k, v in sorted(skipped.items()))}" if skipped else "")
        )
        checks = part.get("verify_absence")
        if checks:
            dropped = {k: v for k, v in checks["dropped"].items() if v}
            lines.append(
                f"  verified with {checks['model']} (present at {checks['threshold']:g} or more): kept {checks['kept']} of "
                f"{checks['checked']} checked candidates"
                + (f"; dropped: {', '.join(f'{k} x{v}' for k, v in sorted(dropped.items()))}" if dropped else "")
                + f"; {checks['samples_with_fewer_than_k']} samples with fewer than {part['k']}"
            )
            if checks["checked"] and not checks["kept"]:
                lines.append("  no candidate passed: check the verifier's weights (--verify-absence-pretrained) and "
                             "--verify-absence-threshold; dropped.parquet has every score")
    last = parts[-1]
    lines.append(
        f"total: {manifest['mined']} samples with up to {manifest['k']} distractors each, "
        f"{last.get('model')} ({last.get('pretrained') or 'random weights'}), {manifest['seconds']:.1f} s"
    )
    lines.append(f"written: {last.get('out')}/ ({last.get('assignments')} assignments, "
                 f"{last.get('images_written')} images; details in manifest.json)")
    return "\n".join(lines)


def mine_distractors(
    data: str, pool_spec: str, model: str = "open_clip:ViT-B-16", pretrained: str | None = "openai",
    k: int = 3, split: str | None = None, pool_split: str | None = None, out: str | None = None,
    cache_dir: str | None = None, device: str = "auto", batch_size: int = 128, workers: int = 2,
    progress: bool = True, absence: AbsenceSettings | None = None,
) -> dict[str, Any]:
    """Mine ``k`` distractors per sample of ``data`` from ``pool_spec``; returns the manifest.

    With ``absence`` (``--verify-absence``), the ``absence.candidates`` best candidates per sample
    are checked in rank order and only those that pass are assigned (:mod:`ccneg_bench.absence`).
    """
    started = time.perf_counter()
    if k < 1:
        raise ValueError("--k must be at least 1")
    if absence is not None and absence.candidates < k:
        raise ValueError(f"--verify-candidates {absence.candidates}: must be at least --k ({k})")
    if pool_split is None and _same_folder(data, pool_spec):
        # the dataset is its own pool: never let a train sample take an eval image, or vice versa
        if split is None:
            splits = split_names(data)
            manifests = [mine_distractors(data, pool_spec, model, pretrained, k, s, s, out, cache_dir, device,
                                          batch_size, workers, progress, absence) for s in splits]
            return {"per_split": manifests, "mined": sum(m["mined"] for m in manifests), "k": k,
                    "samples": sum(m["samples"] for m in manifests),
                    "seconds": round(time.perf_counter() - started, 3)}
        pool_split = split
    device = resolve_device(device)
    folder = Path(out) if out else Path(data) / DISTRACTOR_DIR  # created only once there is a result
    cache_root = Path(cache_dir) if cache_dir else folder / "cache"

    samples = read_split(Path(data), split, SAMPLE_COLUMNS, required=("id", "caption"))
    ids = samples.column("id").to_pylist()
    exclusion = samples.column("exclusion_caption").to_pylist()
    objects = samples.column("negated_object").to_pylist()
    sample_sha = samples.column("image_sha256").to_pylist()
    usable = [i for i in range(len(ids)) if exclusion[i] and objects[i]]
    skipped = {"no_exclusion_or_object": len(ids) - len(usable)}

    adapter = load_model(model, pretrained=pretrained, device=device)
    pool = open_pool(pool_spec, pool_split)
    model_tag = f"{adapter.spec.replace('/', '_').replace(':', '_')[-60:]}-{adapter.fingerprint()}"

    def image_features(table: Any, desc: str) -> Any:
        return encode_image_table(adapter, table, cache=cache_root / model_tag / f"pool-{table.fingerprint()}",
                                  batch_size=batch_size, workers=workers, progress=progress, desc=desc)

    pool_features = image_features(pool.table, "pool images")
    valid = torch.from_numpy(pool_features.ok.copy())
    queries = query_vectors(
        adapter, [exclusion[i] for i in usable], [objects[i] for i in usable],
        cache_root / model_tag / "texts",
    )
    pool_row = {pid: r for r, pid in enumerate(pool.table.ids)}
    pool_sha = {s: r for r, s in enumerate(pool.sha256) if s}
    exclude = torch.tensor([
        pool_row.get(ids[i], pool_sha.get(sample_sha[i] or "", -1)) for i in usable
    ], dtype=torch.long)

    run_device = torch.device(device)
    scores, rows = streaming_top_k(
        torch.from_numpy(queries).float().to(run_device),
        torch.from_numpy(pool_features.features).float().to(run_device),
        absence.candidates if absence is not None else k, exclude, valid,
    )
    ranked = [[(float(s), int(r)) for s, r in zip(scores[position], rows[position]) if r >= 0 and s > -np.inf]
              for position in range(len(usable))]
    checks = None
    drops: list[dict[str, Any]] = []
    if absence is None:
        picks = [[Kept(s, r, Verdict()) for s, r in c[:k]] for c in ranked]
        skipped["no_candidate"] = sum(1 for p in picks if not p)
    else:
        own = open_pool(data, split)  # the samples' own images, in the order of ``samples``
        own_features = image_features(own.table, "sample images")
        to_check = _samples_to_check(data, samples, usable, ranked, own, own_features, absence)
        outcome = check_candidates(to_check, k, pool, pool_features.features, absence, cache_root, device, progress)
        picks = outcome.kept
        checks = {**absence.describe(), **outcome.summary(k)}
        skipped["no_candidate"] = sum(1 for c in ranked if not c)
        skipped["no_verified_candidate"] = sum(1 for c, p in zip(ranked, picks) if c and not p)
        drops = outcome.dropped
    if absence is not None or (folder / DROPPED_FILE).is_file():  # drops of the ids mined now are replaced
        dropped = _merge_rows(folder / DROPPED_FILE, drops, {ids[i] for i in usable})
        _write_parquet(pa.Table.from_pylist(dropped, schema=DROPPED_SCHEMA), folder / DROPPED_FILE)

    merged, images = _write_assignments(folder, [ids[i] for i in usable], picks, pool, verified=absence is not None)

    manifest = {
        "data": str(data), "split": split, "pool": pool_spec, "pool_split": pool_split,
        "model": model, "pretrained": pretrained, "k": k, "samples": len(ids), "mined": len(usable), "out": str(folder),
        "skipped": skipped, "pool_images": len(pool.table), "pool_images_failed": int((~pool_features.ok).sum()),
        "pool_cache": pool_features.stats, "assignments": merged, "images_written": images,
        "score": "sim(image, exclusion_caption) - sim(image, negated_object)",
        "verify_absence": checks,
        "seconds": round(time.perf_counter() - started, 3),
    }
    atomic_write_text(folder / MANIFEST, json.dumps(manifest, indent=2, default=str))
    return manifest


def _write_assignments(folder: Path, ids: list[str], picks: list[list[Kept]], pool: Pool,
                       verified: bool) -> tuple[int, int]:
    """Write ``assignments.parquet`` (earlier rows of other ids kept) and ``images.parquet`` (exactly
    the referenced images); returns how many rows and images they hold."""
    assignments, referenced = [], []
    for sample_id, picked in zip(ids, picks):
        referenced.extend(p.row for p in picked)
        assignments.append({
            "id": sample_id,
            "distractor_ids": [pool.table.ids[p.row] for p in picked],
            "distractor_scores": [p.mining_score for p in picked],
            "object_scores": [p.verdict.object_score for p in picked] if verified else None,
            "subject_scores": [p.verdict.subject_score for p in picked] if verified else None,
        })
    merged = _merge_rows(folder / ASSIGNMENTS_FILE, assignments, set(ids))
    _write_parquet(pa.Table.from_pylist(merged, schema=ASSIGNMENT_SCHEMA), folder / ASSIGNMENTS_FILE)
    rows = list(dict.fromkeys(referenced))
    new_images = dict(zip([pool.table.ids[r] for r in rows], _pool_image_structs(pool, rows)))
    images = _merge_images(folder / POOL_IMAGES_FILE, new_images, {d for a in merged for d in a["distractor_ids"]})
    _write_parquet(pa.Table.from_pylist(images, schema=POOL_IMAGE_SCHEMA), folder / POOL_IMAGES_FILE)
    return len(merged), len(images)


def _samples_to_check(data: str, samples: pa.Table, usable: list[int], ranked: list[list[tuple[float, int]]],
                      own: Pool, own_features: Any, absence: AbsenceSettings) -> list[SampleCandidates]:
    """What :func:`check_candidates` needs per usable sample: what to ask of its candidates, its
    image's sha256 and features, its ranked candidates."""
    rows = samples.select(["id", "caption", "subject", "relations", "negated_object"]).to_pylist()
    chosen = [rows[i] for i in usable]
    needs_alternatives = not absence.verifier.is_detector
    # a CLIP-like verifier weighs each thing against the dataset's own vocabulary (every split), as --verify-visual
    vocabulary = build_vocabulary(read_split(Path(data), None, ("negated_object", "relations")).to_pylist()) \
        if needs_alternatives else []
    asked = questions(chosen, vocabulary, needs_alternatives, absence.check_subject)
    sha = _own_sha256(own, usable)
    return [
        SampleCandidates(id=row["id"], obj=obj, subject=subject, sha256=sha[n],
                         feature=own_features.features[i] if own_features.ok[i] else None, ranked=ranked[n])
        for n, (i, row, (obj, subject)) in enumerate(zip(usable, chosen, asked))
    ]


def _own_sha256(own: Pool, wanted: list[int]) -> list[str | None]:
    """The sha256 of each wanted sample's image: the recorded one, else hashed from its bytes."""
    import hashlib


    known = {i: own.sha256[i] for i in wanted if own.sha256[i]}
    missing = sorted(set(wanted) - set(known))
    for start, stop in own.table.chunks(1024):
        inside = [i for i in missing if start <= i < stop]
        if not inside:
            continue
        refs = own.table.read_refs(start, stop)
        for i in inside:
            try:
                known[i] = hashlib.sha256(read_image_bytes(refs[i - start], own.table.root)[0]).hexdigest()
            except ImageRejected:
                pass
    return [known.get(i) for i in wanted]


def _merge_rows(path: Path, new: list[dict[str, Any]], fresh: set[str]) -> list[dict[str, Any]]:
    """Earlier rows (assignments, drops) for ids not mined now, then the new ones."""
    if not path.is_file():
        return new
    old = [a for a in pq.read_table(path).to_pylist() if a["id"] not in fresh]
    return old + new


def _merge_images(path: Path, new: dict[str, dict[str, Any]], referenced: set[str]) -> list[dict[str, Any]]:
    """Pool images still referenced by some assignment (new images win over stored ones)."""
    images: dict[str, dict[str, Any]] = {}
    if path.is_file():
        for row in pq.read_table(path).to_pylist():
            if row["image_id"] in referenced:
                images[row["image_id"]] = row["image"]
    images.update(new)
    return [{"image_id": i, "image": img} for i, img in images.items() if i in referenced]
