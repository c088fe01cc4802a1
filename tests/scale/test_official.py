"""The released CC-Neg files: import-official -> ccneg-bench -> export-official, every field kept.

Every command runs as a user types it (the installed console script, progress bars on); the
release's split is the last 40,000 rows, so this small file is all eval unless ``--eval-size``
says otherwise.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

torch = pytest.importorskip("torch", reason="reading the released .pt needs torch (ccneg[bench])")

from PIL import Image  # noqa: E402

from ccneg_build.cli import main as ccneg_build  # noqa: E402
from ccneg_core.released_format import (  # noqa: E402
    ReleasedFormatError,
    overlay,
    released_eval_size,
    split_range,
)
from ccneg_build.publication import record_files  # noqa: E402
from tests.scale.helpers import read_folder  # noqa: E402
from tests.scale.released_fixture import AUTHOR_PREFIX, SUBDIR, user_command, write_release  # noqa: E402

ROWS = 24


@pytest.fixture
def release(tmp_path) -> tuple[Path, dict]:
    folder = tmp_path / "release"
    folder.mkdir()
    return folder, write_release(folder, ROWS)


def _user_import(release_dir: Path, out: Path):
    """``ccneg-build import-official DIR --out OUT`` exactly as a user types it (progress bar on)."""
    done = user_command("ccneg-build", "import-official", str(release_dir), "--out", str(out))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-3000:]
    assert "import-official: 100%" in done.stderr  # the progress bar ran to the end
    return done


def _import(release_dir: Path, out: Path, *extra: str) -> int:
    """The same command in this process, with the flags a test needs (a split, small shards)."""
    return ccneg_build(["import-official", str(release_dir), "--out", str(out), *extra])


def test_the_split_rule_matches_the_release():
    # the release slices data[-40000:]: the last 40,000 rows, whatever the file size
    assert released_eval_size(228_246) == 40_000
    assert released_eval_size(300_000) == 40_000
    assert released_eval_size(ROWS) == ROWS and released_eval_size(1000) == 1000
    assert released_eval_size(ROWS, 4) == 4 and released_eval_size(3, 4) == 3
    assert split_range(228_246, "eval") == (188_246, 228_246) and split_range(228_246, "train") == (0, 188_246)
    assert split_range(ROWS, "eval") == (0, ROWS) and split_range(ROWS, "train") == (0, 0)
    assert split_range(ROWS, "all", 4) == (0, ROWS)
    with pytest.raises(ReleasedFormatError, match="not 'test'"):
        split_range(ROWS, "test")
    with pytest.raises(ReleasedFormatError, match="must not be negative"):
        released_eval_size(ROWS, -1)


def test_import_keeps_the_release_split_fields_and_images(release, tmp_path):
    folder, original = release
    out = tmp_path / "imported"
    done = _user_import(folder, out)
    assert f"{ROWS} rows read, {ROWS} kept (train 0, eval {ROWS})" in done.stdout
    assert "every row is eval" in done.stdout and "--eval-size N" in done.stdout
    evaluation = read_folder_split(out, "eval")
    assert [r["source_row"] for r in evaluation] == list(range(ROWS)) and read_folder_split(out, "train") == []
    manifest = json.loads((out / "manifest.json").read_text())
    (eval_list,) = [f["path"] for f in manifest["files"] if f["name"] == "splits/eval.txt"]
    assert (out / eval_list).read_text().split() == [r["id"] for r in evaluation]
    assert "last 24 of 24" in manifest["split_rule"]
    # the release's own fields travel in official/, published and listed like every other file
    assert {f["name"] for f in manifest["files"] if f["path"].startswith("official/")} == {
        "official/annotations.parquet", "official/released.json"}
    first = evaluation[0]
    annotation = original["annotations"][0]
    assert first["caption"] == annotation["json"]["caption"]
    # c' as the release scores and trains on it (commas removed); the original is kept in official/
    assert first["negated_caption"] == "A woman not next to a table in the dining area."
    assert first["exclusion_caption"] == "A woman in the dining area"
    assert first["subject"] == "woman" and first["negated_object"] == "table" and first["negated_predicate"] == "next to"
    assert first["relations"] == [{"object": "table", "predicate": "next to"}, {"object": "dining area", "predicate": "in the"}]
    assert first["num_relations"] == 2 and first["labels"] == ["landscape", "sky"]
    assert first["negation_cue"] == "not" and first["url"] == "http://images.example/000000000.jpg"
    assert first["image"]["bytes"] == (folder / SUBDIR / "000000000.jpg").read_bytes()
    assert evaluation[7]["subject"] is None
    assert evaluation[2]["caption"] == annotation_caption(original, 2)  # json.caption wins over "caption"

    # --eval-size N: only the last N rows are eval; resumable like a build
    split = tmp_path / "split"
    assert _import(folder, split, "--eval-size", "4", "--shard-size", "10", "--no-progress") == 0
    train, evaluation = read_folder_split(split, "train"), read_folder_split(split, "eval")
    assert [r["source_row"] for r in evaluation] == [20, 21, 22, 23] and len(train) == ROWS - 4
    manifest = json.loads((split / "manifest.json").read_text())
    assert manifest["counts"]["splits"] == {"train": 20, "eval": 4}
    assert "last 4 of 24" in manifest["split_rule"] and "last 4 of 24" in (split / "README.md").read_text()
    before = {p.name: p.read_bytes() for p in (split / "data").glob("*.parquet")}
    assert _import(folder, split, "--eval-size", "4", "--shard-size", "10") == 0
    assert before == {p.name: p.read_bytes() for p in (split / "data").glob("*.parquet")}


def annotation_caption(data: dict, index: int) -> str:
    annotation = data["annotations"][index]
    assert annotation["caption"] != annotation["json"]["caption"]  # the fixture makes them differ here
    return annotation["json"]["caption"]


def read_folder_split(out: Path, split: str) -> list[dict]:
    tables = [pq.read_table(f) for f in sorted((out / "data").glob(f"{split}-*.parquet"))]
    return [row for table in tables for row in table.to_pylist()]


def test_round_trip_through_ccneg_bench_and_export_keeps_every_field(release, tmp_path):
    folder, original = release
    out = tmp_path / "imported"
    _user_import(folder, out)

    bench = pytest.importorskip("ccneg_bench.cli")
    results = {}
    done = user_command("ccneg-bench", "--model", "text:negation-words", "--dataset", str(folder),
                        "--output", str(tmp_path / "bench-released"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert bench.main(["--model", "text:negation-words", "--dataset", str(out), "--output",
                       str(tmp_path / "bench-imported"), "--no-progress", "--workers", "0"]) == 0
    for name in ("released", "imported"):
        (result_file,) = (tmp_path / f"bench-{name}").glob("**/*.json")
        results[name] = json.loads(result_file.read_text())
    assert results["released"]["n"] == results["imported"]["n"] == ROWS  # one split rule: all 24 rows are eval
    accuracy = {k: _accuracy(v) for k, v in results.items()}
    assert accuracy["released"] == accuracy["imported"] == 1.0  # the text baseline solves one-sided CC-Neg
    assert results["released"]["breakdowns"] == results["imported"]["breakdowns"]
    assert results["released"]["metrics"]["truncated"] is None  # the text baseline has no token limit

    exported = tmp_path / "exported"
    done = user_command("ccneg-build", "export-official", str(out), "--to", str(exported),
                        "--image-path-prefix", AUTHOR_PREFIX)
    assert done.returncode == 0, done.stderr[-3000:]
    again = torch.load(exported / "ccneg_preprocessed.pt", weights_only=True)
    assert again == original  # image_paths, every annotation field (commas in c' too), num_ops: all identical
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
    assert _import(folder, out, "--eval-size", "4", "--no-progress") == 0
    shutil.rmtree(out / "official")  # now just a ccneg dataset like any build with images
    record_files(out, [])  # listed anew without official/, as the readers check
    exported = tmp_path / "exported"
    done = user_command("ccneg-build", "export-official", str(out), "--to", str(exported))
    assert done.returncode == 0 and "--released-eval-size 4" in done.stdout, done.stderr[-3000:]
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
    done = _user_import(folder, out)
    assert f"{ROWS - 2} kept" in done.stdout and "missing_image 2" in done.stdout
    rejected = read_folder(out / "rejected").to_pylist()
    assert [(r["source_row"], r["reason"], r["stage"]) for r in rejected] == [(3, "missing_image", "image"),
                                                                               (22, "missing_image", "image")]
    split = tmp_path / "split"
    assert _import(folder, split, "--eval-size", "4", "--no-progress") == 0
    assert len(read_folder_split(split, "eval")) == 3  # the split is by position in the release, not refilled


def test_a_file_with_pickled_code_is_refused_without_running_it(tmp_path, capsys):
    folder = tmp_path / "release"
    folder.mkdir()
    canary = tmp_path / "ran"
    torch.save({"image_paths": [], "annotations": [], "x": _Canary(canary)}, folder / "ccneg_preprocessed.pt")
    done = user_command("ccneg-build", "import-official", str(folder), "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and not canary.exists()
    assert "weights_only=True" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "data").exists()
    bench = pytest.importorskip("ccneg_bench.cli")
    assert bench.main(["--model", "text:negation-words", "--dataset", str(folder), "--output",
                       str(tmp_path / "results"), "--no-progress", "--workers", "0"]) == 2
    assert not canary.exists() and "weights_only=True" in capsys.readouterr().err


class _Canary:
    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def _replace_first_image(out: Path, data: bytes) -> str:
    """Put ``data`` as the image of the first row of the first data file; returns that row's id."""
    path = sorted((out / "data").glob("*.parquet"))[0]
    table = pq.read_table(path)
    rows = table.to_pylist()
    rows[0]["image"] = {"bytes": data, "path": "x.png"}
    pq.write_table(type(table).from_pylist(rows, schema=table.schema), path)
    record_files(out, [path.relative_to(out).as_posix()])  # edited by hand: listed anew
    return rows[0]["id"]


def test_export_converts_images_with_the_shared_decoder_and_names_a_bad_one(release, tmp_path):
    folder, _ = release
    out = tmp_path / "imported"
    assert _import(folder, out, "--eval-size", "4", "--no-progress") == 0
    shutil.rmtree(out / "official")
    record_files(out, [])
    transparent = io.BytesIO()
    Image.new("RGBA", (16, 16), (0, 0, 0, 0)).save(transparent, "PNG")
    row_id = _replace_first_image(out, transparent.getvalue())
    exported = tmp_path / "exported"
    done = user_command("ccneg-build", "export-official", str(out), "--to", str(exported))
    assert done.returncode == 0 and "1 images converted to JPEG" in done.stdout, done.stderr[-3000:]
    data = torch.load(exported / "ccneg_preprocessed.pt", weights_only=True)
    (path,) = [p for p, a in zip(data["image_paths"], data["annotations"]) if a["json"]["key"] == row_id]
    with Image.open(path) as image:  # transparency becomes white, as in every other command
        assert image.format == "JPEG" and min(image.convert("RGB").getextrema()[0]) >= 250

    _replace_first_image(out, b"<html>not an image</html>")
    done = user_command("ccneg-build", "export-official", str(out), "--to", str(tmp_path / "again"))
    assert done.returncode != 0 and "Traceback" not in done.stderr
    (line,) = [l for l in done.stderr.splitlines() if l.strip()]
    assert row_id in line and "not_an_image" in line
