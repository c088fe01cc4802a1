"""``ccneg-build --images download`` end to end: a real subprocess, a real server, kill -9, resume."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.scale.helpers import build_env, ccneg_build_command, dataset_tables, run_ccneg_build, sample_captions, write_tsv
from tests.scale.image_server import ImageServer

FAILURES = ["/status/404", "/status/500", "/page.html", "/truncated.jpg", "/bomb.png", "/loop/a", "/noai.jpg"]
EXTENSIONS = ["jpg", "png", "webp", "gif"]
ROWS = 72


def _urls(server: ImageServer) -> list[str]:
    paths = []
    for n in range(ROWS):
        paths.append(FAILURES[n // 10] if n % 10 == 9 and n // 10 < len(FAILURES) else f"/img/{n}.{EXTENSIONS[n % 4]}")
    return [server.url(p) for p in paths]


def _args(tsv: Path, out: Path) -> list[str]:
    return [str(tsv), "--out", str(out), "--images", "download", "--shard-size", "24", "--image-concurrency", "2",
            "--image-timeout", "2", "--image-retries", "0", "--no-progress", "--eval-size", "0.2",
            "--allow-private-addresses"]


def _stored_urls(out: Path) -> set[str]:
    """URLs whose outcome is on disk: in an image store or in a finished shard's parts."""
    urls: set[str] = set()
    state = out / ".ccneg"
    for folder in (state / "images").glob("*"):
        table = pq.read_table(list(folder.glob("part-*.parquet"))) if list(folder.glob("part-*.parquet")) else None
        if table is not None:
            urls |= set(table.column("url").to_pylist())
    for marker in (state / "parts").glob("*.done.json"):
        stem = marker.name[: -len(".done.json")]
        for kind in ("records", "rejected"):
            urls |= set(pq.read_table(state / "parts" / f"{stem}.{kind}.parquet", columns=["url"]).column("url").to_pylist())
    return urls


@pytest.mark.slow
def test_kill_during_downloads_then_resume_gives_the_same_dataset(tmp_path):
    with ImageServer(image_delay=0.08) as server:
        tsv = write_tsv(tmp_path / "captions.tsv", sample_captions(ROWS), _urls(server))

        reference = run_ccneg_build(*_args(tsv, tmp_path / "reference"))
        assert reference.returncode == 0, reference.stderr[-3000:]
        server.requests.clear()

        out = tmp_path / "killed"
        process = subprocess.Popen(ccneg_build_command(*_args(tsv, out)), env=build_env(),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if len(server.requests) >= 30 and any((out / ".ccneg" / "images").glob("*/part-*.parquet")):
                break
            time.sleep(0.02)
        assert process.poll() is None, "the build finished before it could be killed; slow the server down"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        assert not (out / "data").exists() or not any((out / "data").glob("*.parquet"))

        stored = _stored_urls(out)
        assert stored, "nothing was stored before the kill"
        before = len(server.requests)
        resumed = run_ccneg_build(*_args(tsv, out))
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert not any((out / ".ccneg" / "images").glob("*/part-*")), "download stores of finished shards are freed"
        again = [server.url(p) for p in server.requests[before:]]
        assert not stored & set(again), f"downloaded twice: {sorted(stored & set(again))[:5]}"
        # every URL was fetched in one of the two runs
        assert {server.url(p) for p in server.requests} >= set(_urls(server)) - stored

    ref_tables, got_tables = dataset_tables(tmp_path / "reference"), dataset_tables(out)
    for name in ("data", "rejected"):
        assert got_tables[name].equals(ref_tables[name]), name
    data, rejected = ref_tables["data"], ref_tables["rejected"]
    assert data.num_rows + rejected.num_rows == ROWS  # every row ends with an image or a reason
    image_reasons = {r["reason"] for r in rejected.to_pylist() if r["stage"] == "image"}
    assert image_reasons == {"http_404", "http_500", "not_an_image", "corrupt_image", "decompression_bomb",
                             "redirect_loop", "opted_out"}
    for row in data.to_pylist():
        assert row["image"]["bytes"] and row["image_sha256"]
    assert set(data.column("split").to_pylist()) == {"train", "eval"}

    # what the Hub viewer and load_dataset see: the image column decodes to pictures
    from datasets import load_dataset

    loaded = load_dataset(str(out), cache_dir=str(tmp_path / "hf-cache"))
    first = loaded["train"][0]
    assert first["image"].size[0] > 0 and first["negated_caption"] and first["split"] == "train"


def test_a_loopback_url_list_is_refused_unless_allowed(tmp_path):
    with ImageServer() as server:
        urls = [server.url(f"/img/{n}.jpg") for n in range(6)]
        tsv = write_tsv(tmp_path / "captions.tsv", sample_captions(6), urls)
        refused = run_ccneg_build(str(tsv), "--out", str(tmp_path / "refused"), "--images", "download")
        assert server.requests == []  # not one request reached the local server
        # every row refused: nothing is published, and the one-line error says why
        assert refused.returncode == 2, refused.stderr[-3000:]
        assert "no row was accepted: 6 rows read, all rejected (private_address 6)" in refused.stderr

        allowed = run_ccneg_build(str(tsv), "--out", str(tmp_path / "allowed"), "--images", "download",
                                  "--allow-private-addresses")
        assert allowed.returncode == 0, allowed.stderr[-3000:]
        assert sorted(server.requests) == sorted(f"/img/{n}.jpg" for n in range(6))
    tables = dataset_tables(tmp_path / "allowed")
    assert not any(r["stage"] == "image" for r in (tables["rejected"].to_pylist() if tables["rejected"] else []))
    assert all(row["image"]["bytes"] for row in tables["data"].to_pylist())
