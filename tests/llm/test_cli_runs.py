"""``ccneg-build --backend openai`` end to end: kill -9 and resume, key hygiene, summary."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.llm.conftest import FAKE_KEYS, FAKE_OPENAI_KEY, files_containing
from tests.llm.fault_server import FaultServer

REPO = Path(__file__).resolve().parents[2]


def _command(server: FaultServer, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "ccneg_build.cli", "--backend", "openai", "--base-url", server.base_url,
            "--out", str(out), "--no-progress", "--timeout", "5", "--backoff-base", "0.01", *extra]


def _env() -> dict[str, str]:
    env = dict(os.environ, OPENAI_API_KEY=FAKE_OPENAI_KEY, PYTHONPATH=str(REPO))
    env.pop("GEMINI_API_KEY", None)
    return env


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300)


def _rows(out: Path) -> tuple[list[dict], list[dict]]:
    def read(folder: str) -> list[dict]:
        files = sorted((out / folder).glob("*.parquet"))
        rows = [row for f in files for row in pq.read_table(f).to_pylist()]
        return sorted(rows, key=lambda r: r["id"])
    return read("data"), read("rejected")


def _cached(out: Path) -> int:
    [db] = list(out.rglob("llm-requests.sqlite"))
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0]


@pytest.fixture
def slow_server():
    srv = FaultServer(delay=0.03).start()
    yield srv
    srv.stop()


def test_kill_9_then_rerun_loses_nothing_and_repeats_no_answered_request(slow_server, tmp_path) -> None:
    flags = ("--limit", "240", "--shard-size", "40", "--concurrency", "4")
    reference = _run(_command(slow_server, tmp_path / "reference", *flags))
    assert reference.returncode == 0, reference.stderr
    reference_requests = slow_server.count
    assert reference_requests > 240

    out = tmp_path / "killed"
    before = slow_server.count
    proc = subprocess.Popen(_command(slow_server, out, *flags), cwd=REPO, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while slow_server.count - before < reference_requests // 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    sent_before_kill = slow_server.count - before
    assert 0 < sent_before_kill < reference_requests  # killed mid-run
    cached_at_kill = _cached(out)
    assert cached_at_kill > 0

    rerun = _run(_command(slow_server, out, *flags))
    assert rerun.returncode == 0, rerun.stderr
    sent_after = slow_server.count - before - sent_before_kill
    # every request the killed run had answered (and cached) is never sent again
    assert sent_after == reference_requests - cached_at_kill

    accepted, rejected = _rows(out)
    ref_accepted, ref_rejected = _rows(tmp_path / "reference")
    ids = [r["id"] for r in accepted + rejected]
    assert len(ids) == 240 and len(set(ids)) == 240  # nothing lost, nothing duplicated
    assert accepted == ref_accepted and rejected == ref_rejected


def test_api_key_reaches_the_server_but_no_file_or_output(server, tmp_path) -> None:
    out = tmp_path / "out"
    result = _run(_command(server, out, "--limit", "30", "--price-in", "0.15", "--price-out", "0.6"))
    assert result.returncode == 0, result.stderr
    assert server.requests and all(r["auth"] for r in server.requests)
    assert files_containing(out, FAKE_KEYS) == []  # data, rejected, manifest, card, cache, markers
    assert not any(key in result.stdout + result.stderr for key in FAKE_KEYS)
    assert "relation_parsing" in result.stdout and "$" in result.stdout  # usage and cost summary


def test_refused_key_is_one_line_and_exit_code_2(server, tmp_path) -> None:
    out = tmp_path / "out"
    source = tmp_path / "captions.tsv"
    source.write_text("FAULT:401x99 a dog on a couch\thttp://example.invalid/1.jpg\n")
    result = _run(_command(server, out, str(source)))
    assert result.returncode == 2
    assert "OPENAI_API_KEY" in result.stderr and "Traceback" not in result.stderr
    assert not any(key in result.stderr for key in FAKE_KEYS)
    assert not (out / "data").exists()  # no shard was marked done with rejected rows


def test_fallback_rule_writes_the_rule_backends_row(server, tmp_path) -> None:
    source = tmp_path / "captions.tsv"
    source.write_text("FAULT:leakx99 a girl with a kite\thttp://example.invalid/1.jpg\n"
                      "a dog on a couch\thttp://example.invalid/2.jpg\n")
    out = tmp_path / "out"
    result = _run(_command(server, out, str(source), "--fallback", "rule", "--eval-size", "0"))
    assert result.returncode == 0, result.stderr
    accepted, rejected = _rows(out)
    assert rejected == []
    by_backend = {r["generator"]["backend"]: r for r in accepted}
    assert by_backend["rule"]["generator"]["fallback_from"] == "openai"
    assert by_backend["rule"]["caption"].startswith("FAULT:leak")
    assert by_backend["openai"]["generator"]["fallback_from"] is None
    counts = json.loads((out / "manifest.json").read_text())["counts"]
    assert counts["llm.fallback_rows"] == 1


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _user_command(base_url: str, out: Path, *extra: str) -> list[str]:
    """The command as a user types it: default timeout, retries and progress bars."""
    return [sys.executable, "-m", "ccneg_build.cli", "--backend", "openai", "--base-url", base_url,
            "--out", str(out), *extra]


def test_a_closed_port_stops_with_one_line_then_the_same_command_completes_on_a_live_server(tmp_path) -> None:
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    out = tmp_path / "out"
    command = _user_command(base_url, out, "--limit", "30")
    dead = _run(command)
    assert dead.returncode == 1, dead.stderr
    last = dead.stderr.strip().splitlines()[-1]
    assert last.startswith("ccneg-build: error: the LLM server " + base_url) and "unreachable" in last
    assert "Traceback" not in dead.stderr
    assert not (out / "data").exists() and not list(out.rglob("*.done.json"))  # nothing called done

    server = FaultServer().start(port)  # the server comes up on the same port
    try:
        alive = _run(command)
    finally:
        server.stop()
    assert alive.returncode == 0, alive.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["rows_read"] == 30 and "llm_retries_exhausted" not in manifest["reject_reasons"]


def test_a_server_that_dies_mid_run_owes_rows_and_the_rerun_sends_only_unanswered_requests(tmp_path) -> None:
    flags = ("--limit", "120", "--shard-size", "20", "--concurrency", "2")
    reference_server = FaultServer().start()
    try:
        reference = _run(_command(reference_server, tmp_path / "reference", *flags))
        needed = reference_server.count
    finally:
        reference_server.stop()
    assert reference.returncode == 0, reference.stderr

    server = FaultServer(delay=0.02).start()
    port = server.port
    out = tmp_path / "out"
    process = subprocess.Popen(_command(server, out, *flags), cwd=REPO, env=_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while server.count < needed // 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.stop()  # the server dies (as a crashed llama.cpp server would)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 1, stderr
    assert "unreachable" in stderr.strip().splitlines()[-1] and "Traceback" not in stderr
    assert not (out / "manifest.json").exists()  # not called done
    answered = _cached(out)
    assert 0 < answered < needed

    revived = FaultServer().start(port)
    try:
        again = _run(_command(revived, out, *flags))
    finally:
        revived.stop()
    assert again.returncode == 0, again.stderr
    assert revived.count == needed - answered  # no answered request is sent again
    accepted, rejected = _rows(out)
    assert (accepted, rejected) == _rows(tmp_path / "reference")


def test_a_hanging_server_stops_the_run_after_one_probe_timeout(tmp_path) -> None:
    import socket

    with socket.socket() as hanging:  # accepts connections (the kernel's backlog) but never answers
        hanging.bind(("127.0.0.1", 0))
        hanging.listen(64)
        base_url = f"http://127.0.0.1:{hanging.getsockname()[1]}/v1"
        started = time.monotonic()
        result = _run(_user_command(base_url, tmp_path / "out", "--limit", "20", "--timeout", "2"))
        elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert base_url in last and "no answer within 2 s" in last and "Traceback" not in result.stderr
    assert elapsed < 120  # one probe timeout, not minutes per row
