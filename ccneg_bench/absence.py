"""``mine-distractors --verify-absence``: check each mined candidate before it is assigned.

The miner ranks pool images by ``sim(image, exclusion) - sim(image, object)``: an image ranks
high when it looks like the exclusion caption and unlike the object's *name*, which is not the
same as "the object is not in it". Trained on such distractors, a model can learn to agree with
the miner instead of looking at the image. So each candidate, best first, must pass:

1. ``duplicate_image``: its bytes are not the sample's own image (same sha256);
2. ``near_duplicate``: the cosine of its image features (the mining model's) with the sample's
   own image is below ``--duplicate-similarity`` (a re-encoded or resized copy);
3. ``object_present``: a visual scorer judges the negated object absent: its score is below the
   threshold. The scorer and its score are ``ccneg-build --verify-visual``'s
   (:mod:`ccneg_build.visual.scorers`: a CLIP-like model's probability for "a photo of a
   {object}." among other objects, or an open-vocabulary detector's best box), so a score means
   the same in both commands: at or above the threshold, the object is there.
   (``candidate_unreadable``: the image could not be decoded for scoring.)

Checking is lazy: per sample, only as many of its ``--verify-candidates`` best candidates as it
still needs are checked, round by round in rank order, so a sample whose first ``k`` pass costs
``k`` scores. Scores are cached in ``CACHE/absence/scores.sqlite`` (:mod:`ccneg_build.visual.cache`,
keyed by model, image bytes, object and alternatives), so a rerun, a rerun with another
threshold, or a run resumed after a crash scores nothing twice.
"""

from __future__ import annotations

import hashlib
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ccneg_build.visual.options import DISTRACTORS, VisualOptions

#: Why a candidate was not assigned (``distractors/manifest.json`` counts them; docs/train.md lists them).
DROP_REASONS: dict[str, str] = {
    "duplicate_image": "the candidate's image bytes are the sample's own image (same sha256)",
    "near_duplicate": "the candidate's image features have cosine >= --duplicate-similarity with the sample's image",
    "object_present": "the verifier's score for the negated object is at or above the threshold",
    "candidate_unreadable": "the candidate image could not be decoded for scoring",
}
#: Cosine (mining model's image features) at and above which a candidate is the sample's own
#: picture: resized or re-encoded copies of one photo sit near 1, different photos of the same
#: kind of scene lower.
DEFAULT_DUPLICATE_SIMILARITY = 0.95
#: ``--verify-candidates`` default: ranked candidates per sample that may be checked, per distractor kept.
CANDIDATES_PER_DISTRACTOR = 10
#: Seed of the alternatives drawn from the vocabulary (fixed: a rerun asks the same question).
ALTERNATIVES_SEED = 0
CACHE_FILE = Path("absence") / "scores.sqlite"

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class AbsenceSettings:
    """What ``--verify-absence*`` asked for."""

    verifier: VisualOptions
    candidates: int
    duplicate_similarity: float = DEFAULT_DUPLICATE_SIMILARITY

    def describe(self) -> dict[str, Any]:
        return {"model": self.verifier.label, "threshold": self.verifier.effective_threshold,
                "duplicate_similarity": self.duplicate_similarity, "candidates_per_sample": self.candidates}


@dataclass
class SampleCandidates:
    """One sample and its ranked candidates (pool rows, best first)."""

    id: str
    obj: str
    alternatives: list[str]
    sha256: str | None
    feature: np.ndarray | None  # the sample's own image, mining model; None when unreadable
    ranked: list[tuple[float, int]]  # (mining score, pool row)


@dataclass
class CheckOutcome:
    """Per sample the kept (mining score, pool row, object score), best first; every drop; counts."""

    kept: list[list[tuple[float, int, float]]]
    dropped: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)

    def summary(self, k: int) -> dict[str, Any]:
        reasons = {r: self.counts.get(r, 0) for r in DROP_REASONS}
        return {
            "checked": self.counts.get("checked", 0), "kept": sum(len(x) for x in self.kept),
            "dropped": reasons, "scored": self.counts.get("scored", 0),
            "score_cache_hits": self.counts.get("cache_hits", 0),
            "samples_with_fewer_than_k": sum(1 for x in self.kept if len(x) < k),
            "samples_without_distractor": sum(1 for x in self.kept if not x),
        }


def sample_alternatives(rows: Sequence[dict[str, Any]], vocabulary: Sequence[str]) -> list[list[str]]:
    """The objects each sample's negated object is weighed against by a CLIP-like verifier."""
    from ccneg_build.visual.vocabulary import absence_alternatives

    out = []
    for row in rows:
        named = [row.get("subject")] + [(r or {}).get("object") for r in row.get("relations") or []]
        out.append(absence_alternatives(row["id"], ALTERNATIVES_SEED, row.get("caption") or "", row["negated_object"],
                                        named, vocabulary, DISTRACTORS))
    return out


class _PoolBytes:
    """Pool image bytes and their sha256, read chunk by chunk for the rows a round needs."""

    def __init__(self, pool: Any) -> None:
        self.table = pool.table
        self.sha = {r: s for r, s in enumerate(pool.sha256) if s}

    def read(self, rows: set[int]) -> dict[int, bytes | None]:
        from ccneg_build.images.decode import ImageRejected, read_image_bytes

        out: dict[int, bytes | None] = {}
        for start, stop in self.table.chunks(1024):
            inside = sorted(r for r in rows if start <= r < stop)
            if not inside:
                continue
            refs = self.table.read_refs(start, stop)
            for r in inside:
                try:
                    out[r] = read_image_bytes(refs[r - start], self.table.root)[0]
                except ImageRejected:
                    out[r] = None
                if out[r] is not None and r not in self.sha:
                    self.sha[r] = hashlib.sha256(out[r]).hexdigest()
        return out


def check_candidates(samples: Sequence[SampleCandidates], k: int, pool: Any, pool_features: np.ndarray,
                     settings: AbsenceSettings, cache_dir: Path, device: str, progress: bool = True) -> CheckOutcome:
    """Assign each sample up to ``k`` candidates that pass every check (see the module doc)."""
    from ccneg_build.visual.cache import ScoreCache
    from ccneg_build.visual.scorers import load_scorer

    outcome = CheckOutcome(kept=[[] for _ in samples])
    cursor = [0] * len(samples)
    scorer = load_scorer(settings.verifier, device)
    threshold = settings.verifier.effective_threshold
    cache = ScoreCache(Path(cache_dir) / CACHE_FILE)
    images = _PoolBytes(pool)
    bar = _bar(progress, len(samples) * k, settings.verifier.model)
    try:
        while True:
            todo = _next_round(samples, k, outcome, cursor)
            if not todo:
                break
            if bar is not None:
                bar.total = max(bar.total, bar.n + len(todo))
            for start in range(0, len(todo), 4096):  # bounded memory: a slice of the round at a time
                part = todo[start:start + 4096]
                verdicts = _score(part, samples, scorer, cache, images, pool_features, settings, outcome)
                for (i, position, row), (reason, score, cosine) in zip(part, verdicts):
                    mining_score = samples[i].ranked[position][0]
                    if reason is None and score is not None and score >= threshold:
                        reason = "object_present"
                    if reason is None:
                        outcome.kept[i].append((mining_score, row, float(score)))
                    else:
                        outcome.counts[reason] += 1
                        outcome.dropped.append(_drop(samples[i], position, row, pool.table.ids, reason, score, cosine))
                if bar is not None:
                    bar.update(len(part))
    finally:
        cache.close()
        if bar is not None:
            bar.close()
    for kept in outcome.kept:
        kept.sort(key=lambda item: -item[0])  # rank order (a later round can fill an earlier gap)
    return outcome


def _next_round(samples: Sequence[SampleCandidates], k: int, outcome: CheckOutcome,
                cursor: list[int]) -> list[tuple[int, int, int]]:
    """The (sample, rank position, pool row) pairs to check now: each sample takes as many next
    candidates as it still lacks."""
    todo = []
    for i, sample in enumerate(samples):
        need = k - len(outcome.kept[i])
        while need > 0 and cursor[i] < len(sample.ranked):
            todo.append((i, cursor[i], sample.ranked[cursor[i]][1]))
            cursor[i] += 1
            need -= 1
    outcome.counts["checked"] += len(todo)
    return todo


def _score(part: list[tuple[int, int, int]], samples: Sequence[SampleCandidates], scorer: Any, cache: Any,
           images: _PoolBytes, pool_features: np.ndarray, settings: AbsenceSettings,
           outcome: CheckOutcome) -> list[tuple[str | None, float | None, float | None]]:
    """(drop reason or None, object score, cosine with the sample's image) per pair: duplicates by
    sha256 and by features first (they need no model), then cached or fresh scores."""
    from ccneg_build.images.decode import ImageRejected, decode_image
    from ccneg_build.visual.cache import score_key

    data = images.read({row for _, _, row in part})
    verdicts: list[tuple[str | None, float | None, float | None]] = [(None, None, None)] * len(part)
    keys: dict[int, str] = {}
    for n, (i, _position, row) in enumerate(part):
        sample, sha = samples[i], images.sha.get(row)
        cosine = float(pool_features[row] @ sample.feature) if sample.feature is not None else None
        if data.get(row) is None:
            verdicts[n] = ("candidate_unreadable", None, cosine)
        elif sha is not None and sha == sample.sha256:
            verdicts[n] = ("duplicate_image", None, cosine)
        elif cosine is not None and cosine >= settings.duplicate_similarity:
            verdicts[n] = ("near_duplicate", None, cosine)
        else:
            verdicts[n] = (None, None, cosine)
            keys[n] = score_key(scorer.identity, sha or "", sample.obj,
                                sample.alternatives if scorer.needs_distractors else [])
    cached = cache.get_many(set(keys.values()))
    fresh = []
    for n, key in keys.items():
        if key in cached:
            outcome.counts["cache_hits"] += 1
            verdicts[n] = (None, cached[key], verdicts[n][2])
        else:
            fresh.append(n)
    batch_size = settings.verifier.batch_size
    for start in range(0, len(fresh), batch_size):
        batch, decoded = [], []
        for n in fresh[start:start + batch_size]:
            try:
                decoded.append(decode_image(data[part[n][2]]))
                batch.append(n)
            except ImageRejected:
                verdicts[n] = ("candidate_unreadable", None, verdicts[n][2])
        if not batch:
            continue
        chosen = [samples[part[n][0]] for n in batch]
        scores = scorer.score(decoded, [c.obj for c in chosen],
                              [c.alternatives if scorer.needs_distractors else [] for c in chosen])
        cache.put_many({keys[n]: s for n, s in zip(batch, scores)})
        outcome.counts["scored"] += len(batch)
        for n, s in zip(batch, scores):
            verdicts[n] = (None, float(s), verdicts[n][2])
    return verdicts


def _drop(sample: SampleCandidates, position: int, row: int, pool_ids: Sequence[str], reason: str,
          score: float | None, similarity: float | None = None) -> dict[str, Any]:
    return {"id": sample.id, "candidate_id": pool_ids[row], "rank": position + 1,
            "mining_score": sample.ranked[position][0], "reason": reason, "object_score": score,
            "similarity": similarity}


def _bar(progress: bool, total: int, model: str):
    if not progress or total == 0:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=f"verifying absence ({model})", unit="img", file=sys.stderr, dynamic_ncols=True)
