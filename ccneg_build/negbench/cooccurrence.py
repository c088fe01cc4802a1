"""Offline absent objects: objects that often appear with a row's objects, but not in that row.

A first pass over the input counts, for every object the lexicon knows, in how many rows it is
present and in how many rows each pair of objects is present together. The pass is cut into the
same content-named shards as the build: each shard's counts are stored under
``OUT/.ccneg/negbench/counts/<shard>.json`` (written atomically), so a killed pass resumes where
it stopped, and their sum (``OUT/.ccneg/negbench/cooccurrence.json``) depends only on the input
and the settings, never on workers, engine or interruptions.

A row's candidates are then ranked by how likely each object is given one of the row's present
objects, smoothed towards the object's overall frequency so that a small corpus still proposes
something plausible:

    score(d) = max over present c of (n(c, d) + a * n(d) / rows) / (n(c) + a),   a = SMOOTHING
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from ccneg_core.layout import STATE_DIR
from ccneg_core.record import SourceRow
from ccneg_core.writer import atomic_write_json

#: Where the negbench style keeps its working state (removed by ``--overwrite``).
NEGBENCH_STATE = Path(STATE_DIR) / "negbench"
COUNTS_DIR = NEGBENCH_STATE / "counts"
STATISTICS_FILE = NEGBENCH_STATE / "cooccurrence.json"
#: Pseudo-count pulling a rare object's conditional frequency towards its overall frequency.
SMOOTHING = 1.0
STATISTICS_VERSION = "1"


@dataclass
class Counts:
    """Rows, per-object and per-pair counts of present concepts."""

    rows: int = 0
    objects: Counter[str] | None = None
    pairs: Counter[str] | None = None

    def __post_init__(self) -> None:
        self.objects = self.objects if self.objects is not None else Counter()
        self.pairs = self.pairs if self.pairs is not None else Counter()

    def add_row(self, concepts: Sequence[str]) -> None:
        unique = sorted(set(concepts))
        self.rows += 1
        assert self.objects is not None and self.pairs is not None
        self.objects.update(unique)
        for i, first in enumerate(unique):
            for second in unique[i + 1:]:
                self.pairs[pair_key(first, second)] += 1

    def merge(self, other: "Counts") -> None:
        assert self.objects is not None and self.pairs is not None
        self.rows += other.rows
        self.objects.update(other.objects or {})
        self.pairs.update(other.pairs or {})

    def as_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "objects": dict(sorted((self.objects or {}).items())),
                "pairs": dict(sorted((self.pairs or {}).items()))}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Counts":
        return cls(int(data["rows"]), Counter(data["objects"]), Counter(data["pairs"]))


def pair_key(first: str, second: str) -> str:
    a, b = sorted((first, second))
    return f"{a}|{b}"


class Statistics:
    """The corpus counts, ranking candidate absent objects for a set of present ones."""

    def __init__(self, counts: Counts, proposable: Callable[[str], bool]) -> None:
        self.counts = counts
        assert counts.objects is not None and counts.pairs is not None
        self.objects = counts.objects
        self.pairs = counts.pairs
        self.vocabulary = sorted(c for c in self.objects if proposable(c))

    def ranked(self, present: Sequence[str], limit: int) -> list[tuple[str, float]]:
        """The ``limit`` best candidates (concept, score), best first; ties by frequency, then name."""
        rows = max(1, self.counts.rows)
        have = set(present)
        known = [c for c in have if c in self.objects]
        if not known:
            return []
        scored = []
        for candidate in self.vocabulary:
            if candidate in have:
                continue
            prior = SMOOTHING * self.objects[candidate] / rows
            score = max((self.pairs.get(pair_key(c, candidate), 0) + prior) / (self.objects[c] + SMOOTHING)
                        for c in known)
            scored.append((-score, -self.objects[candidate], candidate))
        scored.sort()
        return [(candidate, round(-negative, 6)) for negative, _n, candidate in scored[:limit]]


def load_statistics(out: Path, proposable: Callable[[str], bool]) -> Statistics:
    """The statistics the first pass stored for this run (raises ``FileNotFoundError`` before it ran)."""
    data = json.loads((Path(out) / STATISTICS_FILE).read_text(encoding="utf-8"))
    return Statistics(Counts.from_json(data["counts"]), proposable)


def prepare_statistics(out: Path, shards: Iterable[tuple[Any, list[SourceRow]]],
                       concepts_of_rows: Callable[[list[SourceRow]], list[Sequence[str]]],
                       progress: bool = False, total_rows: int | None = None) -> dict[str, Any]:
    """Run (or resume) the first pass over ``shards`` and store their summed counts.

    ``concepts_of_rows`` gives each row's present concepts (the same extraction the rows' step
    uses). Returns a summary for the manifest: rows counted, objects, pairs, shards resumed.
    """
    out = Path(out)
    stems: list[str] = []
    resumed = 0
    bar = _bar(progress, total_rows)
    try:
        for plan, batch in shards:
            stems.append(plan.stem)
            path = out / COUNTS_DIR / f"{plan.stem}.json"
            if path.exists():
                resumed += 1
            else:
                counts = Counts()
                for concepts in concepts_of_rows([row for row in batch if not row.error]):
                    counts.add_row(concepts)
                atomic_write_json(path, counts.as_json())
            if bar is not None:
                bar.update(len(batch))
    finally:
        if bar is not None:
            bar.close()
    key = hashlib.blake2b("\x1f".join([STATISTICS_VERSION, *stems]).encode(), digest_size=8).hexdigest()
    target = out / STATISTICS_FILE
    existing = _read(target)
    if existing is None or existing.get("key") != key:
        total = Counts()
        for stem in stems:
            total.merge(Counts.from_json(json.loads((out / COUNTS_DIR / f"{stem}.json").read_text(encoding="utf-8"))))
        existing = {"key": key, "shards": len(stems), "counts": total.as_json()}
        atomic_write_json(target, existing)
    counts = existing["counts"]
    return {"rows": counts["rows"], "objects": len(counts["objects"]), "pairs": len(counts["pairs"]),
            "shards": len(stems), "shards_resumed": resumed}


def _read(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _bar(enabled: bool, total: int | None) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    tqdm.monitor_interval = 0
    return tqdm(total=total, unit="row", desc="negbench: object co-occurrence", file=sys.stderr, dynamic_ncols=True)
