"""Publishing in-process: names carry the publication id, the card names exact files, a rerun
replaces an older version's folder (no ids, globs in the card) cleanly, and only ccneg's files go."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import yaml

from ccneg_build.card_parts import named_data_files
from ccneg_core.dataset import read_split
from ccneg_build.hub import validate_folder


def _published(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                  if p.is_file() and p.relative_to(out).parts[0] in ("data", "rejected", "splits"))


def _as_an_older_version_wrote_it(out: Path) -> None:
    """The layout before publication ids: plain names, globs in the card, a manifest without ``name``."""
    manifest = json.loads((out / "manifest.json").read_text())
    publication = manifest.pop("publication")
    files = []
    for entry in manifest["files"]:
        plain = entry["path"].replace(f"-{publication}", "")
        (out / entry["path"]).rename(out / plain)
        if plain.endswith(".parquet"):  # the older manifest listed the Parquet files only
            files.append({k: v for k, v in entry.items() if k != "name"} | {"path": plain})
    manifest["files"] = files
    (out / "manifest.json").write_text(json.dumps(manifest))
    card = (out / "README.md").read_text()
    _, header, body = card.split("---\n", 2)
    meta = yaml.safe_load(header)
    for config in meta["configs"]:
        for entry in config["data_files"]:
            default = config["config_name"] == "default"
            entry["path"] = f"data/{entry['split']}-*.parquet" if default else "rejected/*.parquet"
    (out / "README.md").write_text("---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n" + body)
    (out / ".ccneg" / "written.json").write_text(json.dumps({"files": [f["path"] for f in files]}))


def test_a_folder_of_an_older_version_reads_and_a_rerun_republishes_it_cleanly(build, tmp_path: Path) -> None:
    out = tmp_path / "out"
    command = ("--out", out, "--limit", "60", "--shard-size", "20", "--rows-per-file", "10", "--eval-size", "8")
    assert build(*command)[0] == 0
    rows = read_split(out, None, ["id", "caption"]).to_pylist()
    current = _published(out)
    _as_an_older_version_wrote_it(out)
    assert read_split(out, None, ["id", "caption"]).to_pylist() == rows  # an older folder still reads
    assert validate_folder(out).problems == []  # and still pushes
    assert len(datasets.load_dataset(str(out), cache_dir=str(tmp_path / "hf"))["eval"]) == 8

    code, _, stderr = build(*command)  # the same command with this version: every shard resumes
    assert code == 0, stderr
    assert _published(out) == current  # the older names (id lists included) are gone
    assert read_split(out, None, ["id", "caption"]).to_pylist() == rows
    named = named_data_files((out / "README.md").read_text())
    assert named and all("*" not in name for name in named)
    assert validate_folder(out).problems == []


def test_a_user_file_beside_the_data_survives_republishing(build, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert build("--out", out, "--limit", "30", "--eval-size", "4")[0] == 0
    (out / "data" / "notes.md").write_text("mine")
    assert build("--out", out, "--limit", "30", "--eval-size", "6")[0] == 0  # another publication
    assert (out / "data" / "notes.md").read_text() == "mine"
    assert len(read_split(out, "eval", ["id"])) == 6
    problems = validate_folder(out).problems  # but the Hub would get it: push names it
    assert len(problems) == 1 and "data/notes.md is not in manifest.json" in problems[0]
