"""End to end through the real ``ccneg-build`` command: output folder, loading, refusals, workers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from ccneg_build.negators import registry
from ccneg_core.record import RECORD_SCHEMA, REJECT_SCHEMA
from ccneg_build.verify import REASONS

from .conftest import CAPTIONS


def _files(out: Path) -> dict[str, bytes]:
    """The published dataset (data, rejects, id lists) as bytes, for identity checks."""
    names = sorted(p for p in out.rglob("*") if p.is_file() and p.parts[len(out.parts)] in ("data", "rejected", "splits"))
    return {str(p.relative_to(out)): p.read_bytes() for p in names}


def test_sample_build_layout_manifest_and_both_loaders(build, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, _ = build("--out", out, "--limit", "120", "--shard-size", "50", "--eval-size", "20")
    assert code == 0
    assert "rows read" in stdout and "accepted" in stdout and "split eval" in stdout
    manifest = json.loads((out / "manifest.json").read_text())
    counts = manifest["counts"]
    assert counts["rows_read"] == 120 == counts["accepted"] + counts["rejected"]
    assert counts["splits"] == {"train": counts["accepted"] - 20, "eval": 20}
    assert manifest["backend"] == "rule" and manifest["seed"] == 0 and manifest["model"]
    assert len(manifest["inputs"][0]["sha256"]) == 64
    assert sum(manifest["reject_reasons"].values()) == counts["rejected"]
    assert set(manifest["reject_reasons"]) <= set(REASONS)
    assert {"total_s", "shards_s", "publish_s"} <= set(manifest["timings"])

    publication = manifest["publication"]
    assert len(publication) == 12 and int(publication, 16) >= 0
    assert sorted(p.name for p in (out / "data").iterdir()) == [
        f"eval-00000-of-00001-{publication}.parquet", f"train-00000-of-00001-{publication}.parquet"]
    listed = {f["path"] for f in manifest["files"]}  # every published file, and only those
    assert listed == {str(p.relative_to(out)) for p in out.rglob("*")
                      if p.is_file() and p.parts[len(out.parts)] in ("data", "rejected", "splits")}
    data = pq.read_table(out / "data" / f"train-00000-of-00001-{publication}.parquet")
    assert data.schema.remove_metadata().equals(RECORD_SCHEMA.remove_metadata())
    rejected = pq.read_table(out / "rejected" / f"rejected-00000-of-00001-{publication}.parquet")
    assert rejected.schema.remove_metadata().equals(REJECT_SCHEMA.remove_metadata())
    assert rejected.num_rows == counts["rejected"]

    loaded = datasets.load_dataset(str(out))
    assert set(loaded) == {"train", "eval"}
    assert len(loaded["eval"]) == 20 and set(loaded["eval"]["split"]) == {"eval"}
    assert isinstance(loaded["train"].features["image"], datasets.Image)
    row = loaded["train"][0]
    assert row["negated_caption"] != row["caption"] and row["relations"] and row["negation_cue"]
    eval_ids = (out / "splits" / f"eval-{publication}.txt").read_text().split()
    assert eval_ids == loaded["eval"]["id"]
    assert (out / "splits" / f"train-{publication}.txt").read_text().split() == loaded["train"]["id"]

    # the generic Parquet loader maps the file-name keyword "eval" to its split name "test"
    generic = datasets.load_dataset("parquet", data_dir=str(out / "data"))
    assert set(generic) == {"train", "test"}
    assert generic["test"]["id"] == eval_ids and set(generic["test"]["split"]) == {"eval"}
    assert generic["train"]["id"] == loaded["train"]["id"]

    card = (out / "README.md").read_text()
    header = yaml.safe_load(card.split("---\n")[1])
    default = next(c for c in header["configs"] if c["config_name"] == "default")
    for entry in default["data_files"]:  # the card names exactly the manifest's files of each split
        assert entry["path"] == sorted(f["path"] for f in manifest["files"]
                                       if f["path"].startswith("data/") and f["split"] == entry["split"])
    features = {f["name"]: f for f in header["dataset_info"][0]["features"]}
    assert features["image"]["dtype"] == "image" and "list" in features["relations"]
    assert {"caption", "negated_caption", "exclusion_caption", "split"} <= set(features)
    assert "arXiv:2403.20312" in card and "Google LLC" in card


def test_malformed_rows_cost_only_themselves(build, tmp_path: Path) -> None:
    path = tmp_path / "mixed.tsv"
    good = [f"{c}\thttp://x/{i}.jpg\n".encode() for i, c in enumerate(CAPTIONS)]
    bad = [b"only one column\n", b"\thttp://x/e.jpg\n", b"caf\xe9 bytes\thttp://x/b.jpg\n",
           b"a \x00 nul byte on a dome\thttp://x/n.jpg\n", ("word " * 4000).encode() + b"\thttp://x/l.jpg\n"]
    path.write_bytes(b"".join(good[:4] + bad + good[4:]))
    out = tmp_path / "out"
    code, stdout, _ = build(path, "--out", out, "--eval-size", "0", "--input-format", "cc3m")
    assert code == 0
    rejected = pq.read_table(out / "rejected").to_pylist()
    read_rejects = {r["source_row"]: r["reason"] for r in rejected if r["stage"] == "read"}
    assert read_rejects == {4: "bad_columns", 5: "empty_caption", 6: "bad_encoding", 7: "nul_byte",
                            8: "caption_too_long"}
    assert all(r["detail"] for r in rejected)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["rows_read"] == len(good) + len(bad)
    assert manifest["counts"]["accepted"] >= len(good) - 2  # the good captions survive
    assert manifest["rejects_by_stage"]["read"] == len(bad)
    assert "bad_encoding" in stdout


@pytest.mark.parametrize("make_input", ["missing", "folder", "broken_parquet"])
def test_unreadable_input_exits_2_and_writes_nothing(make_input: str, tmp_path: Path) -> None:
    target = {"missing": tmp_path / "absent.tsv", "folder": tmp_path, "broken_parquet": tmp_path / "x.parquet"}[make_input]
    if make_input == "broken_parquet":
        target.write_bytes(b"PAR1 not really")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "ccneg_build.cli", str(target), "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and str(target) in proc.stderr
    assert not out.exists()


def test_other_settings_are_refused_unless_overwrite(build, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert build("--out", out, "--limit", "30")[0] == 0
    first = _files(out)
    code, _, err = build("--out", out, "--limit", "30", "--seed", "1")
    assert code == 2 and "seed" in err and "--overwrite" in err
    assert _files(out) == first  # nothing touched
    code, stdout, _ = build("--out", out, "--limit", "30")  # same settings: resumed, nothing recomputed
    assert code == 0 and "resume run" in stdout and "(1 already done)" in stdout
    assert _files(out) == first
    code, _, _ = build("--out", out, "--limit", "30", "--seed", "1", "--overwrite")
    assert code == 0 and json.loads((out / "manifest.json").read_text())["seed"] == 1

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    code, _, err = build("--out", foreign, "--limit", "5")
    assert code == 2 and "not made by ccneg-build" in err
    code, _, err = build("--out", foreign, "--limit", "5", "--overwrite")  # not even with --overwrite
    assert code == 2 and "not made by ccneg-build" in err
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"] and (foreign / "notes.txt").read_text() == "mine"


def test_workers_and_shard_files_do_not_change_the_data(build, tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    assert build("--out", one, "--limit", "160", "--shard-size", "40", "--rows-per-file", "60")[0] == 0
    assert build("--out", two, "--limit", "160", "--shard-size", "40", "--rows-per-file", "60", "--workers", "2")[0] == 0
    assert _files(one) == _files(two)
    names = sorted(p.name for p in (one / "data").iterdir())
    train_rows = json.loads((one / "manifest.json").read_text())["counts"]["splits"]["train"]
    publication = json.loads((one / "manifest.json").read_text())["publication"]
    files = -(-train_rows // 60)  # rows per file 60, whatever share of the rows the filter keeps
    assert files >= 2 and names[0].startswith("eval-00000-of-")
    assert [n for n in names if n.startswith("train-")] == [f"train-{k:05d}-of-{files:05d}-{publication}.parquet"
                                                            for k in range(files)]
    assert len(datasets.load_dataset(str(one))["train"]) == train_rows


def test_images_from_a_column(build, tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n fake but non-empty"
    table = pa.table({
        "caption": CAPTIONS[:4],
        "picture": [{"bytes": png, "path": "a.png"}, None, {"bytes": png, "path": "c.png"}, {"bytes": png, "path": "d.png"}],
    })
    pq.write_table(table, tmp_path / "with_images.parquet")
    out = tmp_path / "out"
    code, _, _ = build(tmp_path / "with_images.parquet", "--out", out, "--images", "column",
                       "--image-column", "picture", "--eval-size", "0")
    assert code == 0
    rows = pq.read_table(out / "data").to_pylist()
    assert rows and all(r["image"]["bytes"] == png and len(r["image_sha256"]) == 64 for r in rows)
    rejected = pq.read_table(out / "rejected").to_pylist()
    assert {"source_row": 1, "reason": "missing_image"} in [{k: r[k] for k in ("source_row", "reason")} for r in rejected]


def test_a_registered_backend_plugs_in_and_keeps_secrets_out(build, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SUFFIX_API_KEY", "sk-test-very-secret")
    monkeypatch.setitem(registry.BACKENDS, "suffix", "tests.build.plugin_negator:SuffixNegator")
    out = tmp_path / "out"
    code, _, _ = build("--out", out, "--backend", "suffix", "--limit", "40")
    assert code == 0
    assert (out / ".ccneg" / "cache" / "suffix").is_dir()  # the backend got its state folder
    rows = pq.read_table(out / "data").to_pylist()
    assert rows and {r["generator"]["backend"] for r in rows} == {"suffix"}
    assert {r["negation_cue"] for r in rows} == {"without"} and {r["prompt_version"] for r in rows} == {"suffix-v1"}
    for path in out.rglob("*"):
        if path.is_file():
            assert b"sk-test-very-secret" not in path.read_bytes(), path
    assert json.loads((out / "manifest.json").read_text())["negator"]["api_key"] == "<redacted>"


def test_unknown_backend_and_bad_flags(build, tmp_path: Path) -> None:
    code, _, err = build("--out", tmp_path / "o", "--backend", "nonesuch", "--limit", "1")
    assert code == 2 and "--backend 'nonesuch' is unknown" in err and "rule" in err
    code, _, err = build("--out", tmp_path / "o2", "--eval-size", "ten")
    assert code == 2 and "--eval-size" in err


def test_reasons_subcommand_and_help() -> None:
    proc = subprocess.run([sys.executable, "-m", "ccneg_build.cli", "reasons"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and "exclusion_has_object" in proc.stdout
    for code in ("markup", "bad_characters", "private_address"):
        assert code in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "ccneg_build.cli", "--help"], capture_output=True, text=True,
                          timeout=120)
    for flag in ("--backend", "--seed", "--limit", "--workers", "--eval-size", "--overwrite", "--out",
                 "--images", "--shard-size", "--input-format", "--caption-column", "--allow-private-addresses",
                 "markup", "bad_characters", "private_address"):
        assert flag in proc.stdout


def test_a_second_run_on_a_locked_folder_is_refused(build, tmp_path: Path) -> None:
    from ccneg_build.outdir import RunLock

    out = tmp_path / "out"
    assert build("--out", out, "--limit", "10")[0] == 0
    with RunLock(out):  # as if another ccneg-build were writing the folder
        code, _, err = build("--out", out, "--limit", "10")
    assert code == 2 and "another ccneg-build run" in err
    assert build("--out", out, "--limit", "10")[0] == 0  # the lock is gone with its holder
