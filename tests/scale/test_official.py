"""The released CC-Neg files: import-official -> ccneg-bench -> export-official, every field kept."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

torch = pytest.importorskip("torch", reason="reading the released .pt needs torch (ccneg[bench])")

from PIL import Image  # noqa: E402

from ccneg_build.cli import main as ccneg_build  # noqa: E402
from ccneg_build.official.released_format import overlay, released_eval_size  # noqa: E402
from tests.scale.helpers import read_folder  # noqa: E402
from tests.scale.released_fixture import AUTHOR_PREFIX, SUBDIR, write_release  # noqa: E402

ROWS = 24


@pytest.fixture
def release(tmp_path) -> tuple[Path, dict]:
    folder = tmp_path / "release"
    folder.mkdir()
    return folder, write_release(folder, ROWS)


def _import(release_dir: Path, out: Path, *extra: str) -> int:
    return ccneg_build(["import-official", str(release_dir), "--out", str(out), "--no-progress", "--shard-size", "10",
                        *extra])


def test_the_split_rule_matches_the_release():
    assert released_eval_size(228_246) == 40_000
    assert released_eval_size(300_000) == 40_000
    assert released_eval_size(ROWS) == 4 and released_eval_size(1000) == 175


def test_import_keeps_split_fields_and_images(release, tmp_path):
    folder, original = release
    out = tmp_path / "imported"
    assert _import(folder, out) == 0
    train, evaluation = read_folder_split(out, "train"), read_folder_split(out, "eval")
    assert (len(train), len(evaluation)) == (ROWS - 4, 4)
    assert [r["source_row"] for r in evaluation] == [20, 21, 22, 23]  # the last rows, in order
    assert (out / "splits" / "eval.txt").read_text().split() == [r["id"] for r in evaluation]
    first = train[0]
    annotation = original["annotations"][0]
    assert first["caption"] == annotation["json"]["caption"]
    assert first["negated_caption"] == "A woman, not next to a table, in the dining area."
    assert first["exclusion_caption"] == "A woman in the dining area"
    assert first["subject"] == "woman" and first["negated_object"] == "table" and first["negated_predicate"] == "next to"
    assert first["relations"] == [{"object": "table", "predicate": "next to"}, {"object": "dining area", "predicate": "in the"}]
    assert first["num_relations"] == 2 and first["labels"] == ["landscape", "sky"]
    assert first["negation_cue"] == "not" and first["url"] == "http://images.example/000000000.jpg"
    assert first["image"]["bytes"] == (folder / SUBDIR / "000000000.jpg").read_bytes()
    assert train[7]["subject"] is None
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["splits"] == {"train": 20, "eval": 4}
    assert "last 4 of 24" in manifest["split_rule"] and "last 4 of 24" in (out / "README.md").read_text()
    # a second run resumes: nothing to do, same files
    before = {p.name: p.read_bytes() for p in (out / "data").glob("*.parquet")}
    assert _import(folder, out) == 0
    assert before == {p.name: p.read_bytes() for p in (out / "data").glob("*.parquet")}


def read_folder_split(out: Path, split: str) -> list[dict]:
    tables = [pq.read_table(f) for f in sorted((out / "data").glob(f"{split}-*.parquet"))]
    return [row for table in tables for row in table.to_pylist()]


def test_round_trip_through_ccneg_bench_and_export_keeps_every_field(release, tmp_path, capsys):
    folder, original = release
    out = tmp_path / "imported"
    assert _import(folder, out) == 0

    bench = pytest.importorskip("ccneg_bench.cli")
    results = {}
    for name, dataset, extra in (("released", folder, ["--released-eval-size", "4"]), ("imported", out, [])):
        result_dir = tmp_path / f"bench-{name}"
        code = bench.main(["--model", "text:negation-words", "--dataset", str(dataset), "--output", str(result_dir),
                           "--no-progress", "--device", "cpu", "--workers", "0", *extra])
        assert code == 0
        (result_file,) = result_dir.glob("**/*.json")
        results[name] = json.loads(result_file.read_text())
    accuracy = {k: _accuracy(v) for k, v in results.items()}
    assert accuracy["released"] == accuracy["imported"] == 1.0  # the text baseline solves one-sided CC-Neg

    exported = tmp_path / "exported"
    assert ccneg_build(["export-official", str(out), "--to", str(exported), "--image-path-prefix", AUTHOR_PREFIX]) == 0
    again = torch.load(exported / "ccneg_preprocessed.pt", weights_only=True)
    assert again == original  # image_paths, every annotation field, num_ops: all identical
    for path in original["image_paths"]:
        relative = path[len(AUTHOR_PREFIX):]
        assert (exported / relative).read_bytes() == (folder / relative).read_bytes()


def _accuracy(result: dict) -> float:
    for key in ("accuracy", "acc"):
        if key in result:
            value = result[key]
            return value["value"] if isinstance(value, dict) else value
    metrics = result.get("metrics") or result.get("results") or {}
    value = metrics.get("accuracy")
    return value["value"] if isinstance(value, dict) else value


def test_export_of_a_plain_dataset_reads_with_release_style_code(release, tmp_path):
    folder, _ = release
    out = tmp_path / "imported"
    assert _import(folder, out) == 0
    shutil.rmtree(out / "official")  # now just a ccneg dataset like any build with images
    exported = tmp_path / "exported"
    assert ccneg_build(["export-official", str(out), "--to", str(exported)]) == 0
    info = json.loads((exported / "ccneg_export.json").read_text())
    # what code written for the release does: last N are eval, open the stored path, read two fields
    data = torch.load(exported / "ccneg_preprocessed.pt", weights_only=True)
    eval_paths = data["image_paths"][-info["eval_rows_last"]:]
    eval_annotations = data["annotations"][-info["eval_rows_last"]:]
    assert len(eval_paths) == 4
    for path, annotation in zip(eval_paths, eval_annotations):
        Image.open(path).load()
        assert annotation["json"]["caption"] and annotation["sop_data"]["negative-prompt"].replace(",", "")
        assert annotation["sop_data"]["sop_decomposition"]["object-predicate-pairs"]
    assert set(data["num_ops"]) == {1, 2}
    assert ccneg_build(["export-official", str(out), "--to", str(exported)]) == 2  # refuses to overwrite


def test_an_edit_after_import_is_exported_as_edited():
    original = {"labels": "a, b", "sop_data": {"negative-prompt": "x, not y", "MIDs": "/m/1"}}
    baseline = {"labels": "a,b", "sop_data": {"negative-prompt": "x, not y"}}
    current = {"labels": "a,b", "sop_data": {"negative-prompt": "x without y"}}
    assert overlay(original, baseline, current) == {"labels": "a, b", "sop_data": {"negative-prompt": "x without y",
                                                                                   "MIDs": "/m/1"}}


def test_missing_images_are_rejected_with_a_reason_and_the_split_is_kept(tmp_path):
    folder = tmp_path / "release"
    folder.mkdir()
    write_release(folder, ROWS, missing_images=(3, 22))
    out = tmp_path / "imported"
    assert _import(folder, out) == 0
    rejected = read_folder(out / "rejected").to_pylist()
    assert [(r["source_row"], r["reason"], r["stage"]) for r in rejected] == [(3, "missing_image", "image"),
                                                                               (22, "missing_image", "image")]
    assert len(read_folder_split(out, "eval")) == 3  # the split is by position in the release, not refilled


def test_a_file_with_pickled_code_is_refused_without_running_it(tmp_path, capsys):
    folder = tmp_path / "release"
    folder.mkdir()
    canary = tmp_path / "ran"
    torch.save({"image_paths": [], "annotations": [], "x": _Canary(canary)}, folder / "ccneg_preprocessed.pt")
    assert _import(folder, tmp_path / "out") == 2
    assert not canary.exists()
    assert "weights_only=True" in capsys.readouterr().err
    assert not (tmp_path / "out" / "data").exists()


class _Canary:
    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))
