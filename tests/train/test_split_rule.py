"""One reader of a built folder, one split rule: ccneg-bench, ccneg-train and the miner see the
same rows of a split, the rows of ``data/{split}-*.parquet``, whatever the ``split`` column says.

The expected ids come from an independent restatement that imports nothing from ccneg: the
published id lists ``splits/{split}-ID.txt`` and a plain reading of the files named after the split.
The folder is made by the real ``ccneg-build`` command, with images, as a user makes it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ccneg_bench.datasets import load_eval_dataset
from ccneg_bench.mining import check_mining_inputs, open_pool
from ccneg_bench.options import UsageError
from ccneg_bench.train.checks import check_split
from ccneg_bench.train.data import load_train_rows
from ccneg_core.dataset import DatasetFolderError, read_split, split_names
from ccneg_build.publication import record_files
from tests.helpers.data import write_image_input
from tests.scale.helpers import build_env, run_ccneg_build, sample_captions

#: a real ccneg-build run (spaCy) and a real ccneg-bench run: over 30 s on 2 cores
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """``ccneg-build INPUT --images column --image-column image --out OUT --eval-size 12``."""
    folder = tmp_path_factory.mktemp("split_rule")
    source = write_image_input(folder / "captions.parquet", sample_captions(60), size=32)
    out = folder / "out"
    done = run_ccneg_build(str(source), "--images", "column", "--image-column", "image", "--out", str(out),
                           "--eval-size", "12")
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture()
def folder(built, tmp_path) -> Path:
    """A copy of the built folder whose ``split`` column disagrees with the file names everywhere."""
    copy = tmp_path / "ds"
    shutil.copytree(built, copy)
    for path in (copy / "data").glob("*.parquet"):
        table = pq.read_table(path)
        wrong = "train" if path.name.startswith("eval-") else "eval"
        column = pa.array([wrong] * table.num_rows, pa.string())
        pq.write_table(table.set_column(table.schema.get_field_index("split"), "split", column), path)
        record_files(copy, [f"data/{path.name}"])  # edited by hand: listed anew, as the readers check
    return copy


def _published_ids(folder: Path, split: str) -> list[str]:
    """The id list ccneg-build published for ``split`` (independent of the readers)."""
    (listed,) = [f["path"] for f in json.loads((folder / "manifest.json").read_text())["files"]
                 if f.get("name") == f"splits/{split}.txt"]
    return (folder / listed).read_text(encoding="utf-8").split()


def _ids_in_named_files(folder: Path, split: str) -> list[str]:
    """Plain restatement of the rule: the rows of the files named ``{split}-NNNNN-of-NNNNN-ID.parquet``."""
    ids: list[str] = []
    for name in sorted(os.listdir(folder / "data")):
        stem = name[: -len(".parquet")] if name.endswith(".parquet") else ""
        parts = stem.rsplit("-", 4)
        if len(parts) == 5 and parts[0] == split and parts[2] == "of" and parts[1].isdigit() and parts[3].isdigit():
            ids.extend(pq.read_table(folder / "data" / name, columns=["id"]).column(0).to_pylist())
    return ids


def test_every_reader_takes_a_split_from_the_file_names(folder):
    assert split_names(folder) == ["eval", "train"]
    for split in ("train", "eval"):
        expected = _published_ids(folder, split)
        assert expected and expected == _ids_in_named_files(folder, split)
        assert read_split(folder, split, ["id"]).column("id").to_pylist() == expected
        assert [s.id for s in load_eval_dataset(str(folder), split=split).samples] == expected
        assert load_train_rows(folder, split=split, need_distractors=False).ids == expected
        assert open_pool(str(folder), split).table.ids == expected
        check_split(folder, split, "--split")
    assert len(_published_ids(folder, "eval")) == 12


def test_a_split_the_files_do_not_have_is_an_error_everywhere(folder):
    with pytest.raises(ValueError, match="available splits: eval, train"):
        load_eval_dataset(str(folder), split="validation")
    with pytest.raises(DatasetFolderError, match="available splits: eval, train"):
        load_train_rows(folder, split="validation", need_distractors=False)
    with pytest.raises(DatasetFolderError, match="available splits: eval, train"):
        open_pool(str(folder), "validation")
    with pytest.raises(UsageError, match="^--split validation: .*no split 'validation'"):
        check_mining_inputs(str(folder), str(folder), "validation")
    with pytest.raises(UsageError, match="^--pool-split test: .*available splits: eval, train"):
        check_mining_inputs(str(folder), str(folder), "train", pool_split="test")
    with pytest.raises(UsageError, match="its splits are: eval, train"):
        check_split(folder, "validation", "--split")


def test_a_data_file_without_a_split_in_its_name_is_named(folder):
    shutil.copy(next((folder / "data").glob("train-*.parquet")), folder / "data" / "extra.parquet")
    record_files(folder, ["data/extra.parquet"])
    for read in (lambda: load_eval_dataset(str(folder), split="eval"),
                 lambda: load_train_rows(folder, split="train", need_distractors=False),
                 lambda: open_pool(str(folder), "eval"),
                 lambda: check_split(folder, "train", "--split")):
        with pytest.raises(DatasetFolderError, match=r"extra\.parquet: the name states no split"):
            read()


def test_columns_a_file_lacks_read_as_typed_nulls_and_required_ones_are_named(folder):
    path = next((folder / "data").glob("eval-*.parquet"))
    table = pq.read_table(path)
    pq.write_table(table.drop_columns(["negation_cue", "num_relations"]), path)
    record_files(folder, [f"data/{path.name}"])
    both = read_split(folder, None, ["id", "negation_cue", "num_relations"])
    assert both.schema.field("num_relations").type == pa.int32()  # the record schema's type, not a string
    eval_ids = set(_published_ids(folder, "eval"))
    for row in both.to_pylist():
        assert (row["negation_cue"] is None) == (row["id"] in eval_ids)
    pq.write_table(table.drop_columns(["caption"]), path)
    record_files(folder, [f"data/{path.name}"])
    with pytest.raises(DatasetFolderError, match=rf"{path.name}: missing required column\(s\) \['caption'\]"):
        load_eval_dataset(str(folder), split="eval")


def _command(name: str) -> str:
    script = Path(sys.executable).parent / name
    return str(script) if script.exists() else name


def test_the_commands_as_typed_score_and_refuse_by_file_name(folder, tmp_path):
    env = build_env()
    out = tmp_path / "results"
    bench = subprocess.run([_command("ccneg-bench"), "--model", "text:negation-words", "--dataset", str(folder),
                            "--output", str(out)], capture_output=True, text=True, env=env, cwd=tmp_path,
                           timeout=300)
    assert bench.returncode == 0, bench.stderr
    result = json.loads(next(out.glob("*.json")).read_text())
    assert result["n"] == len(_published_ids(folder, "eval"))
    mine = subprocess.run([_command("ccneg-train"), "mine-distractors", "--data", str(folder), "--pool", str(folder),
                           "--split", "validation"], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=300)
    assert mine.returncode == 2
    assert len(mine.stderr.strip().splitlines()) == 1
    assert "--split validation: " in mine.stderr and "available splits: eval, train" in mine.stderr
    assert not (folder / "distractors").exists()
