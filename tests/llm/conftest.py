"""Fixtures of the LLM tests: the local fault-injecting server, fake keys, rows, negators."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Sequence

import pytest

from ccneg_build.negators.llm.factory import create_llm_negator
from ccneg_build.negators.llm.negator import LLMNegator
from ccneg_core.record import SourceRow, make_id
from tests.llm.fault_server import FaultServer

#: A recognisable fake key: if it ever shows up in a file or a log, a test fails.
FAKE_OPENAI_KEY = "sk-ccneg-FAKE-openai-0123456789abcdef"
FAKE_GEMINI_KEY = "AIza-ccneg-FAKE-gemini-0123456789abcdef"
FAKE_KEYS = (FAKE_OPENAI_KEY, FAKE_GEMINI_KEY)

#: Fast retries for tests (the default first delay is 1 s).
FAST = {"timeout": 1.0, "max_attempts": 3, "backoff_base": 0.01}


@pytest.fixture
def server() -> Iterator[FaultServer]:
    srv = FaultServer(retry_after="1", slow_s=3.0).start()
    yield srv
    srv.stop()


@pytest.fixture
def fake_keys(monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_OPENAI_KEY)
    monkeypatch.setenv("GEMINI_API_KEY", FAKE_GEMINI_KEY)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    return FAKE_KEYS


def make_rows(captions: Sequence[str], source: str = "test.tsv") -> list[SourceRow]:
    return [SourceRow(id=make_id(source, i, c), source=source, source_row=i, caption=c) for i, c in enumerate(captions)]


def negator_for(backend: str, server: FaultServer, state_dir: Path, **options: Any) -> LLMNegator:
    base_url = server.base_url if backend == "openai" else server.root_url
    return create_llm_negator(backend, {"base_url": base_url, **FAST, **options}, state_dir)


def files_containing(folder: Path, needles: Sequence[str]) -> list[str]:
    """Every file under ``folder`` whose bytes contain one of ``needles``."""
    hits = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if any(n.encode() in data for n in needles):
                hits.append(str(path))
    return hits
