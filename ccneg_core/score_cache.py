"""Visual scores kept on disk (``OUT/.ccneg/cache/visual/scores.sqlite``).

A score depends only on the model, the image bytes, the object and the alternatives it
was compared with, so it is keyed by a hash of exactly those. The cache sits with the LLM
request caches, which ``--overwrite`` keeps: a rerun with another threshold, or a resumed
run whose shards were renamed by other settings, scores nothing twice. Writes are batched
(one transaction per model batch) and survive a killed process.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Iterable, Sequence

_SCHEMA = "CREATE TABLE IF NOT EXISTS scores (key TEXT PRIMARY KEY, score REAL NOT NULL)"


def score_key(identity: str, image_sha256: str, obj: str, alternatives: Sequence[str]) -> str:
    """The cache key of one score: everything that determines it, hashed."""
    text = "\x1f".join([identity, image_sha256, obj, *alternatives])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ScoreCache:
    """Get many and put many scores by key (one process at a time: the run lock holds OUT)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, timeout=60.0)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(_SCHEMA)

    def get_many(self, keys: Iterable[str]) -> dict[str, float]:
        keys = list(keys)
        found: dict[str, float] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(self._conn.execute(f"SELECT key, score FROM scores WHERE key IN ({marks})", chunk).fetchall())
        return found

    def put_many(self, items: dict[str, float]) -> None:
        with self._conn:
            self._conn.executemany("INSERT OR REPLACE INTO scores VALUES (?, ?)", items.items())

    def __len__(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM scores").fetchone()[0])

    def close(self) -> None:
        self._conn.close()
