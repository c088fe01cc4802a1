"""The persistent request cache: one SQLite file in the output folder, shared by workers.

Every answered request is committed on its own before the answer is used, so a run
killed at any moment (kill -9 included) has lost no answer it paid for: the rerun reads
it back instead of asking again. WAL mode lets several worker processes read while one
writes; ``busy_timeout`` makes writers wait for each other instead of failing.

The key is a hash of everything that determines an answer (backend, model, prompt
version and hash, generation parameters, the request itself) and nothing else: no base
URL, no credentials. The cache stores answers and token counts, never keys or headers.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from ccneg_build.negators.llm.messages import ChatRequest, Completion

CACHE_FILENAME = "llm-requests.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    key TEXT PRIMARY KEY,
    stage TEXT NOT NULL,
    backend TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    text TEXT NOT NULL,
    tokens_in INTEGER NOT NULL,
    tokens_out INTEGER NOT NULL,
    created REAL NOT NULL
)
"""


def request_key(
    *, backend: str, model: str, prompt_version: str, prompt_digest: str,
    params: dict[str, Any], request: ChatRequest,
) -> str:
    """A hash of everything that determines the answer to ``request``."""
    payload: dict[str, Any] = {
        "backend": backend,
        "model": model,
        "prompt_version": prompt_version,
        "prompt_digest": prompt_digest,
        "params": params,
        "stage": request.stage,
    }
    if request.prefix_digest:  # the repeated part, hashed once per template
        payload["prefix"] = request.prefix_digest
        payload["final"] = request.turns[-1]
    else:
        payload.update(system=request.system, turns=request.turns, schema=request.schema)
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class RequestCache:
    """Get and put answers by key; safe across threads of one process and across processes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._pid = -1
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        # A connection must never cross a fork: reopen in each worker process.
        if self._conn is None or self._pid != os.getpid():
            conn = sqlite3.connect(self.path, timeout=60.0, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=60000")
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode survives a killed process (not a power cut) without an fsync per answer.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def get(self, key: str) -> Completion | None:
        with self._lock:
            row = self._connection().execute(
                "SELECT text, tokens_in, tokens_out FROM answers WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        return Completion(text=row[0], tokens_in=row[1], tokens_out=row[2])

    def put(self, key: str, *, stage: str, backend: str, model: str, prompt_version: str,
            completion: Completion) -> None:
        """Store one answer and commit it at once (autocommit: one transaction per answer)."""
        with self._lock:
            self._connection().execute(
                "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key, stage, backend, model, prompt_version, completion.text,
                 completion.tokens_in, completion.tokens_out, time.time()),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._connection().execute("SELECT COUNT(*) FROM answers").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None
