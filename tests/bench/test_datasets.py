"""Dataset kinds: ccneg-build folders (+ distractors), the released CC-Neg files, hf: ids."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

import ccneg_bench
from ccneg_bench.datasets import load_eval_dataset
from ccneg_build.publication import record_files
from tests.helpers.data import make_rows, write_ccneg_folder, write_distractors, write_released_folder, write_rows


def test_ccneg_folder_split_selection_and_errors(tmp_path):
    write_ccneg_folder(tmp_path / "ds", n=10, split="eval", shards=2)
    write_rows(tmp_path / "ds", make_rows(6, split="train", seed=1), "train")
    assert len(load_eval_dataset(str(tmp_path / "ds"), split="eval").samples) == 10
    assert len(load_eval_dataset(str(tmp_path / "ds"), split="train").samples) == 6
    with pytest.raises(ValueError, match="available splits: eval, train"):
        load_eval_dataset(str(tmp_path / "ds"), split="validation")
    with pytest.raises(ValueError, match="not found"):
        load_eval_dataset(str(tmp_path / "nope"))


def test_miner_distractors_are_joined_by_id(tmp_path):
    folder = write_ccneg_folder(tmp_path / "ds", n=12)
    ids = [s.id for s in load_eval_dataset(str(folder)).samples]
    write_distractors(folder, ids[:9], pool_size=5)
    dataset = load_eval_dataset(str(folder))
    assignments = pq.read_table(folder / "distractors" / "assignments.parquet").to_pydict()
    first = dict(zip(assignments["id"], (d[0] for d in assignments["distractor_ids"])))
    assert [s.distractor_id for s in dataset.samples] == [first.get(i) for i in ids]
    assert dataset.distractors.ids[dataset.distractor_rows[0]] == first[ids[0]]
    assert dataset.distractor_rows[9:] == [None, None, None]


def test_text_baseline_is_near_100_on_ccneg_and_50_on_balanced(tmp_path):
    folder = write_ccneg_folder(tmp_path / "ds", n=12)
    write_distractors(folder, [s.id for s in load_eval_dataset(str(folder)).samples])
    ccneg, balanced = ccneg_bench.evaluate("text:negation-words", str(folder), ["ccneg", "ccneg-balanced"], workers=0, progress=False)
    assert ccneg["metrics"]["accuracy"] == 1.0
    assert balanced["metrics"]["accuracy"] == 0.5 and balanced["metrics"]["accuracy_distractor_image"] == 0.0


def test_distractor_ids_column_in_data_points_at_samples(tiny_spec, tmp_path):
    rows = make_rows(8)
    schema = pa.schema(list(pa.Table.from_pylist(rows[:1]).schema) + [pa.field("distractor_ids", pa.list_(pa.string()))])
    for i, row in enumerate(rows):
        row["distractor_ids"] = [rows[(i + 1) % len(rows)]["id"]]
    (tmp_path / "ds" / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp_path / "ds" / "data" / "eval-00000-of-00001.parquet")
    record_files(tmp_path / "ds", ["data/eval-00000-of-00001.parquet"])
    dataset = load_eval_dataset(str(tmp_path / "ds"))
    assert dataset.distractor_rows == [1, 2, 3, 4, 5, 6, 7, 0]
    spec, weights = tiny_spec
    result = ccneg_bench.evaluate(spec, dataset, ["ccneg-balanced"], pretrained=weights, workers=0, progress=False)[0]
    assert result["status"] == "ok" and result["metrics"]["n_scored"] == 8


def test_released_files_eval_split_and_rerooting(tmp_path):
    folder = write_released_folder(tmp_path / "released", n=30)
    dataset = load_eval_dataset(str(folder), split="eval", eval_size=10)
    data = torch.load(folder / "ccneg_preprocessed.pt", weights_only=True)
    assert dataset.notes["released_range"] == [20, 30]
    assert [s.caption for s in dataset.samples] == [a["json"]["caption"] for a in data["annotations"][-10:]]
    assert [s.negated_caption for s in dataset.samples] == [a["sop_data"]["negative-prompt"].replace(",", "")
                                                            for a in data["annotations"][-10:]]
    assert any("," in a["sop_data"]["negative-prompt"] for a in data["annotations"][-10:])
    assert len({s.id for s in dataset.samples}) == 10
    # the release's rule by default: the last 40,000 rows, so a 30-row file is all eval
    assert len(load_eval_dataset(str(folder)).samples) == 30
    assert all(s.num_relations for s in dataset.samples) and dataset.samples[0].negation_cue in ("not", "no", "without")
    refs = dataset.images.read_refs(0, 10)
    assert all((folder / r["path"]).exists() for r in refs)
    assert len(load_eval_dataset(str(folder), split="train", eval_size=10).samples) == 20
    result = ccneg_bench.evaluate("text:negation-words", dataset, ["ccneg"], workers=0, progress=False)[0]
    assert result["metrics"]["n_scored"] == 10


def test_released_file_with_pickled_code_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    (tmp_path / "rel").mkdir()
    torch.save({"image_paths": [], "annotations": [Payload()]}, tmp_path / "rel" / "ccneg_preprocessed.pt")
    with pytest.raises(ValueError, match="weights_only=True"):
        load_eval_dataset(str(tmp_path / "rel"))
    assert not (tmp_path / "pwned").exists()


def test_hf_dataset_spec_with_a_local_folder(tmp_path):
    folder = write_ccneg_folder(tmp_path / "hub", n=10)
    dataset = load_eval_dataset(f"hf:{folder}", split="eval")
    assert len(dataset.samples) == 10 and dataset.samples[0].caption
    result = ccneg_bench.evaluate("text:negation-words", dataset, ["ccneg"], workers=0, progress=False)[0]
    assert result["metrics"]["accuracy"] == 1.0


def test_released_row_without_negation_is_reported_not_fatal(tmp_path):
    folder = write_released_folder(tmp_path / "released", n=12)
    data = torch.load(folder / "ccneg_preprocessed.pt", weights_only=True)
    broken = data["annotations"][-1]
    del broken["sop_data"]
    torch.save(data, folder / "ccneg_preprocessed.pt")
    result = ccneg_bench.evaluate("text:negation-words", str(folder), ["ccneg"], dataset_options={"eval_size": 5},
                                  workers=0, progress=False)[0]
    assert result["metrics"]["n_scored"] == 4 and result["metrics"]["accuracy"] == 1.0
    broken_id = load_eval_dataset(str(folder), eval_size=5).samples[-1].id
    assert result["failures"] == [{"id": broken_id, "code": "missing_caption",
                                   "detail": f"sample {broken_id}: the negated caption is empty"}]


def test_corrupt_shard_is_named(tmp_path):
    folder = write_ccneg_folder(tmp_path / "ds", n=4)
    (folder / "data" / "eval-00001-of-00002.parquet").write_bytes(b"PAR1 not really")
    load_eval_dataset(str(folder))  # a file the manifest does not list is never read
    record_files(folder, ["data/eval-00001-of-00002.parquet"])  # listed: read, and its damage named
    with pytest.raises(ValueError, match="eval-00001-of-00002.parquet: unreadable Parquet shard"):
        load_eval_dataset(str(folder))


def test_a_dataset_kind_plugs_in_with_one_registry_line(tmp_path, monkeypatch, capsys):
    """A third party's format: one module and one line in DATASETS; the command line then takes it."""
    import json

    from PIL import Image

    from ccneg_bench.cli import main
    from ccneg_bench.datasets import DATASETS

    for name, colour in (("red.png", (255, 0, 0)), ("blue.png", (0, 0, 255))):
        Image.new("RGB", (8, 8), colour).save(tmp_path / name)
    lines = tmp_path / "pairs.txt"
    lines.write_text("red.png|a red square|a square that is not red\nblue.png|a blue square|no blue square\n",
                     encoding="utf-8")
    monkeypatch.setitem(DATASETS, "lines", "tests.bench.plugin_dataset:open_dataset")
    assert "lines" in DATASETS.names()
    assert main(["--model", "text:negation-words", "--dataset", f"lines:{lines}", "--task", "ccneg",
                 "--output", str(tmp_path / "results"), "--no-progress"]) == 0
    [result] = [json.loads(p.read_text()) for p in (tmp_path / "results").glob("*.json")]
    assert (result["status"], result["n"], result["metrics"]["accuracy"]) == ("ok", 2, 1.0)
    monkeypatch.undo()  # unregistered again: the spec is refused, and the error lists the known kinds
    with pytest.raises(ValueError, match="KIND one of released, hf, negbench") as refused:
        load_eval_dataset(f"lines:{lines}")
    assert "lines" not in str(refused.value).split("KIND one of")[1]


def test_a_folder_that_does_not_match_its_manifest_is_refused_in_one_line(tmp_path):
    folder = write_ccneg_folder(tmp_path / "ds", n=4)
    data = folder / "data" / "eval-00000-of-00001.parquet"
    data.write_bytes(data.read_bytes()[:-10])
    with pytest.raises(ValueError) as refused:
        load_eval_dataset(str(folder))
    message = str(refused.value)
    assert "\n" not in message and "eval-00000-of-00001.parquet has" in message
    assert "rerun the ccneg-build command" in message
    (folder / "manifest.json").unlink()
    with pytest.raises(ValueError, match="no published dataset .no manifest.json.*rerun the ccneg-build command"):
        load_eval_dataset(str(folder))
