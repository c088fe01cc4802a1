"""``--style negbench`` with an LLM backend: absent objects from a real client against a local server."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ccneg_build import cli
from tests.llm.conftest import FAST, files_containing

CAPTIONS = [
    "a dog sitting on a couch in the living room",
    "a cat sleeping on a bed",
    "a horse standing in a field",
    "a dog running on the beach FAULT:badjsonx9",  # every attempt answers truncated JSON
]


def _input(tmp_path: Path) -> Path:
    path = tmp_path / "captions.tsv"
    path.write_text("".join(f"{c}\thttp://example.com/{i}.jpg\n" for i, c in enumerate(CAPTIONS)), encoding="utf-8")
    return path


def _build(server, tmp_path: Path, out: Path, *extra: str) -> int:
    fast = [f"--{k.replace('_', '-')}={v}" for k, v in FAST.items()]
    return cli.main([str(_input(tmp_path)), "--style", "negbench", "--backend", "openai", "--base-url",
                     server.base_url, "--out", str(out), "--eval-size", "0", "--no-progress", *fast, *extra])


def _table(folder: Path) -> list[dict]:
    return pa.concat_tables([pq.read_table(p) for p in sorted(folder.glob("*.parquet"))]).to_pylist()


def test_llm_proposals_are_judged_by_the_rules(server, fake_keys, tmp_path, capsys):
    out = tmp_path / "nb"
    assert _build(server, tmp_path, out) == 0, capsys.readouterr().err
    rows = _table(out / "data")
    assert len(rows) == 3
    for row in rows:
        # the toy model lists the first object, its plural and "animal" first: all refused, with reasons
        assert row["absent_source"] == "llm" and row["absent_object"] in ("umbrella", "bicycle")
        assert [r["reason"] for r in row["absent_refused"]] == ["absent_mentioned", "absent_plural",
                                                                "absent_hypernym"]
        assert row["absent_objects"] == ["umbrella", "bicycle"]
        assert row["generator"]["backend"] == "openai" and row["prompt_version"] == "v1"
    [bad] = _table(out / "rejected")
    assert bad["reason"] == "llm_invalid_json" and bad["stage"] == "absent"
    assert "absent_objects" in bad["raw_response"]
    stages = {entry["stage"] for entry in server.requests}
    assert stages == {"absent_objects"}  # no negation requests in this style
    sent = len(server.requests)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["settings"]["negbench"]["absent_source"] == "llm"
    assert manifest["settings"]["negbench"]["absent_prompt"]
    assert not files_containing(out, fake_keys)

    # the same command again: every answer comes from the request cache
    capsys.readouterr()
    assert _build(server, tmp_path, out) == 0
    assert len(server.requests) == sent


def test_fallback_rule_uses_the_corpus_statistics(server, fake_keys, tmp_path, capsys):
    out = tmp_path / "nb"
    assert _build(server, tmp_path, out, "--fallback", "rule") == 0, capsys.readouterr().err
    rows = _table(out / "data")
    assert len(rows) == 4
    [fallen] = [r for r in rows if "FAULT" in r["caption"]]
    assert fallen["absent_source"] == "cooccurrence" and fallen["generator"]["fallback_from"] == "openai"
    assert json.loads((out / "manifest.json").read_text())["counts"]["accepted_by_fallback"] == 1


def test_paraphrases_are_kept_only_when_they_keep_objects_and_negations(server, fake_keys, tmp_path, capsys):
    out = tmp_path / "nb"
    assert _build(server, tmp_path, out, "--negbench-paraphrase") == 0, capsys.readouterr().err
    rows = {r["caption"]: r for r in _table(out / "data")}
    horse = rows["a horse standing in a field"]
    assert horse["paraphrase_status"] == "paraphrase_object_lost" and not horse["paraphrased"]
    assert all("pony" not in text for text in horse["mcq_options"])  # the template texts stay
    kept = [r for r in rows.values() if r is not horse]
    assert kept and all(r["paraphrase_status"] == "kept" and r["paraphrased"] for r in kept)
    for row in kept:
        assert not any("image" in text or "photo" in text for text in row["mcq_options"] + row["retrieval_captions"])
    mcq = (out / "negbench" / "mcq_train.csv").read_text()
    assert "picture" in mcq
    assert {e["stage"] for e in server.requests} == {"absent_objects", "negbench_paraphrase"}


def test_paraphrase_needs_an_llm_backend(tmp_path, capsys):
    code = cli.main(["--style", "negbench", "--negbench-paraphrase", "--out", str(tmp_path / "x"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "--negbench-paraphrase needs" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()
