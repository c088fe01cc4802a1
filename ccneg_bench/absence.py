"""``mine-distractors --verify-absence``: check each mined candidate before it is assigned.

The miner ranks pool images by ``sim(image, exclusion) - sim(image, object)``: an image ranks
high when it looks like the exclusion caption and unlike the object's *name*, which is not the
same as "the negated caption is true of it". Trained on such distractors, a model can learn to
agree with the miner instead of looking at the image. So each candidate, best first, must pass,
in this order (the first failure is its drop reason):

1. ``duplicate_image``: its bytes are not the sample's own image (same sha256);
2. ``near_duplicate``: the cosine of its image features (the mining model's) with the sample's
   own image is below ``--duplicate-similarity`` (a re-encoded or resized copy);
3. ``object_present``: a visual scorer judges the negated object absent: its score is below the
   threshold;
4. ``subject_absent`` (unless ``--no-verify-subject``): the same scorer judges the sample's
   subject present (score at or above the threshold): a distractor must make the negated caption
   true, and "a dog without a ball" is not true of a picture without a dog.

(``candidate_unreadable``: the image could not be decoded for scoring.) The scorer and its score
are ``ccneg-build --verify-visual``'s (:mod:`ccneg_bench.presence`: a CLIP-like model's
probability for "a photo of a {thing}." among other objects, or an open-vocabulary detector's
best box), so a score means the same in both commands: at or above the threshold, the thing is
there. For the object, the other objects are first the caption's other things (which the
distractor should show: they draw the probability away from an absent object), then objects of
the dataset's vocabulary; for the subject, they are drawn as ``--verify-visual`` draws them.

Checking is lazy: per sample, only as many of its ``--verify-candidates`` best candidates as it
still needs are checked, round by round in rank order, so a sample whose first ``k`` pass costs
``k`` (or ``2k`` with the subject) scores. Scores are cached in ``CACHE/absence/scores.sqlite``
(:mod:`ccneg_core.score_cache`, keyed by model, image bytes, thing and alternatives), so a
rerun, a rerun with another threshold, or a run resumed after a crash scores nothing twice.
"""

from __future__ import annotations

import hashlib
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ccneg_bench.presence import load as load_scorer
from ccneg_core.presence import DISTRACTORS, VisualOptions
from ccneg_core.score_cache import ScoreCache, score_key
from ccneg_core.vocabulary import absence_alternatives, distractors, normalise_object
from ccneg_core.image_decode import ImageRejected, decode_image, read_image_bytes

if TYPE_CHECKING:
    import numpy as np

#: Why a candidate was not assigned (``distractors/manifest.json`` counts them; docs/train.md lists them).
DROP_REASONS: dict[str, str] = {
    "duplicate_image": "the candidate's image bytes are the sample's own image (same sha256)",
    "near_duplicate": "the candidate's image features have cosine >= --duplicate-similarity with the sample's image",
    "object_present": "the verifier's score for the negated object is at or above the threshold",
    "subject_absent": "the verifier's score for the sample's subject is below the threshold",
    "candidate_unreadable": "the candidate image could not be decoded for scoring",
}
#: Cosine (mining model's image features) at and above which a candidate is the sample's own
#: picture: resized or re-encoded copies of one photo sit near 1, different photos of the same
#: kind of scene lower.
DEFAULT_DUPLICATE_SIMILARITY = 0.95
#: ``--verify-candidates`` default: ranked candidates per sample that may be checked, per distractor kept.
CANDIDATES_PER_DISTRACTOR = 10
#: Seed of the alternatives drawn from the vocabulary (fixed: a rerun asks the same questions).
ALTERNATIVES_SEED = 0
CACHE_FILE = Path("absence") / "scores.sqlite"
#: Pairs checked at a time (bounds the bytes held in memory).
SLICE = 4096


@dataclass(frozen=True)
class AbsenceSettings:
    """What ``--verify-absence*`` asked for."""

    verifier: VisualOptions
    candidates: int
    duplicate_similarity: float = DEFAULT_DUPLICATE_SIMILARITY
    check_subject: bool = True

    def describe(self) -> dict[str, Any]:
        return {"model": self.verifier.label, "threshold": self.verifier.effective_threshold,
                "duplicate_similarity": self.duplicate_similarity, "candidates_per_sample": self.candidates,
                "check_subject": self.check_subject}


@dataclass(frozen=True)
class Question:
    """What the verifier is asked of an image: is ``name`` there (weighed against ``alternatives``)?"""

    name: str
    alternatives: tuple[str, ...] = ()


@dataclass
class SampleCandidates:
    """One sample, what to ask of its candidates, and its ranked candidates (pool rows, best first)."""

    id: str
    obj: Question
    subject: Question | None
    sha256: str | None
    feature: "np.ndarray | None"  # the sample's own image, mining model; None when unreadable
    ranked: list[tuple[float, int]]  # (mining score, pool row)


@dataclass
class Verdict:
    """The checks of one candidate: the first failed check's reason (None: it passed) and the scores."""

    reason: str | None = None
    object_score: float | None = None
    subject_score: float | None = None
    similarity: float | None = None


@dataclass
class Kept:
    mining_score: float
    row: int
    verdict: Verdict


@dataclass
class CheckOutcome:
    """Per sample the kept candidates, best first; every drop; counts."""

    kept: list[list[Kept]]
    dropped: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)

    def summary(self, k: int) -> dict[str, Any]:
        return {
            "checked": self.counts.get("checked", 0), "kept": sum(len(x) for x in self.kept),
            "dropped": {r: self.counts.get(r, 0) for r in DROP_REASONS}, "scored": self.counts.get("scored", 0),
            "score_cache_hits": self.counts.get("cache_hits", 0),
            "samples_with_fewer_than_k": sum(1 for x in self.kept if len(x) < k),
            "samples_without_distractor": sum(1 for x in self.kept if not x),
        }


def questions(rows: Sequence[dict[str, Any]], vocabulary: Sequence[str], needs_alternatives: bool,
              check_subject: bool) -> list[tuple[Question, Question | None]]:
    """Per sample, the object question and (when checked and known) the subject question."""

    out = []
    for row in rows:
        caption = row.get("caption") or ""
        obj, subject = normalise_object(row["negated_object"]), normalise_object(row.get("subject"))
        named = [row.get("subject")] + [(r or {}).get("object") for r in row.get("relations") or []]
        others = absence_alternatives(row["id"], ALTERNATIVES_SEED, caption, obj, named, vocabulary, DISTRACTORS) \
            if needs_alternatives else []
        subject_question = None
        if check_subject and subject and subject != obj:
            subject_others = distractors(row["id"], ALTERNATIVES_SEED, caption, subject, vocabulary, DISTRACTORS) \
                if needs_alternatives else []
            subject_question = Question(subject, tuple(subject_others))
        out.append((Question(obj, tuple(others)), subject_question))
    return out


class _PoolBytes:
    """Pool image bytes and their sha256, read chunk by chunk for the rows a slice needs."""

    def __init__(self, pool: Any) -> None:
        self.table = pool.table
        self.sha = {r: s for r, s in enumerate(pool.sha256) if s}

    def read(self, rows: set[int]) -> dict[int, bytes | None]:
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


class _Asker:
    """Scores (image, question) pairs with the verifier, through the score cache."""

    def __init__(self, scorer: Any, cache: Any, batch_size: int, counts: Counter) -> None:
        self.scorer, self.cache, self.batch_size, self.counts = scorer, cache, batch_size, counts

    def ask(self, items: list[tuple[bytes, str, Question]]) -> list[float | None]:
        """The score of each (image bytes, image sha256, question); None for an image that does not decode."""
        alternatives = [list(q.alternatives) if self.scorer.needs_distractors else [] for _, _, q in items]
        keys = [score_key(self.scorer.identity, sha, q.name, others) for (_, sha, q), others in zip(items, alternatives)]
        cached = self.cache.get_many(set(keys))
        scores: list[float | None] = [cached.get(key) for key in keys]
        self.counts["cache_hits"] += sum(s is not None for s in scores)
        fresh = [n for n, s in enumerate(scores) if s is None]
        for start in range(0, len(fresh), self.batch_size):
            batch, images = [], []
            for n in fresh[start:start + self.batch_size]:
                try:
                    images.append(decode_image(items[n][0]))
                    batch.append(n)
                except ImageRejected:
                    pass
            if not batch:
                continue
            values = self.scorer.score(images, [items[n][2].name for n in batch], [alternatives[n] for n in batch])
            self.cache.put_many({keys[n]: v for n, v in zip(batch, values)})
            self.counts["scored"] += len(batch)
            for n, v in zip(batch, values):
                scores[n] = float(v)
        return scores


def check_candidates(samples: Sequence[SampleCandidates], k: int, pool: Any, pool_features: "np.ndarray",
                     settings: AbsenceSettings, cache_dir: Path, device: str, progress: bool = True) -> CheckOutcome:
    """Assign each sample up to ``k`` candidates that pass every check (see the module doc)."""

    outcome = CheckOutcome(kept=[[] for _ in samples])
    cursor = [0] * len(samples)
    cache = ScoreCache(Path(cache_dir) / CACHE_FILE)
    asker = _Asker(load_scorer(settings.verifier.model, settings.verifier.pretrained, device, settings.verifier.precision), cache, settings.verifier.batch_size, outcome.counts)
    images = _PoolBytes(pool)
    bar = _bar(progress, len(samples) * k, settings.verifier.model)
    try:
        while True:
            todo = _next_round(samples, k, outcome, cursor)
            if not todo:
                break
            if bar is not None:
                bar.total = max(bar.total, bar.n + len(todo))
            for start in range(0, len(todo), SLICE):
                part = todo[start:start + SLICE]
                verdicts = _check(part, samples, asker, images, pool_features, settings)
                for (i, position, row), verdict in zip(part, verdicts):
                    if verdict.reason is None:
                        outcome.kept[i].append(Kept(samples[i].ranked[position][0], row, verdict))
                    else:
                        outcome.counts[verdict.reason] += 1
                        outcome.dropped.append(_drop(samples[i], position, pool.table.ids[row], verdict))
                if bar is not None:
                    bar.update(len(part))
    finally:
        cache.close()
        if bar is not None:
            bar.close()
    return outcome


def _next_round(samples: Sequence[SampleCandidates], k: int, outcome: CheckOutcome,
                cursor: list[int]) -> list[tuple[int, int, int]]:
    """The (sample, rank position, pool row) pairs to check now: each sample takes as many next
    candidates as it still lacks (so its kept candidates stay in rank order)."""
    todo = []
    for i, sample in enumerate(samples):
        need = k - len(outcome.kept[i])
        while need > 0 and cursor[i] < len(sample.ranked):
            todo.append((i, cursor[i], sample.ranked[cursor[i]][1]))
            cursor[i] += 1
            need -= 1
    outcome.counts["checked"] += len(todo)
    return todo


def _check(part: list[tuple[int, int, int]], samples: Sequence[SampleCandidates], asker: _Asker, images: _PoolBytes,
           pool_features: "np.ndarray", settings: AbsenceSettings) -> list[Verdict]:
    """The verdict of each pair: duplicates first (no model), then the object, then the subject."""
    threshold = settings.verifier.effective_threshold
    data = images.read({row for _, _, row in part})
    verdicts = []
    for i, _position, row in part:
        sample = samples[i]
        verdict = Verdict(similarity=float(pool_features[row] @ sample.feature) if sample.feature is not None else None)
        if data.get(row) is None:
            verdict.reason = "candidate_unreadable"
        elif images.sha.get(row) is not None and images.sha[row] == sample.sha256:
            verdict.reason = "duplicate_image"
        elif verdict.similarity is not None and verdict.similarity >= settings.duplicate_similarity:
            verdict.reason = "near_duplicate"
        verdicts.append(verdict)

    def ask(field_name: str, question_of: Any, fails: Any, reason: str) -> None:
        open_ = [n for n, v in enumerate(verdicts) if v.reason is None and question_of(samples[part[n][0]]) is not None]
        scores = asker.ask([(data[part[n][2]], images.sha[part[n][2]], question_of(samples[part[n][0]])) for n in open_])
        for n, score in zip(open_, scores):
            setattr(verdicts[n], field_name, score)
            if score is None:
                verdicts[n].reason = "candidate_unreadable"
            elif fails(score):
                verdicts[n].reason = reason

    ask("object_score", lambda s: s.obj, lambda score: score >= threshold, "object_present")
    ask("subject_score", lambda s: s.subject, lambda score: score < threshold, "subject_absent")
    return verdicts


def _drop(sample: SampleCandidates, position: int, candidate_id: str, verdict: Verdict) -> dict[str, Any]:
    return {"id": sample.id, "candidate_id": candidate_id, "rank": position + 1,
            "mining_score": sample.ranked[position][0], "reason": verdict.reason,
            "object_score": verdict.object_score, "subject_score": verdict.subject_score,
            "similarity": verdict.similarity}


def _bar(progress: bool, total: int, model: str):
    if not progress or total == 0:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=f"verifying distractors ({model})", unit="img", file=sys.stderr,
                dynamic_ncols=True)
