"""Adding a provider is one module plus one registry line (docs/llm.md, "Adding a provider")."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from ccneg_build import cli
from ccneg_build.negators import registry


def test_a_provider_module_and_one_registry_line_give_a_working_backend(tmp_path: Path, monkeypatch,
                                                                        capsys) -> None:
    monkeypatch.setitem(registry.BACKENDS, "scripted", "tests.llm.plugin_provider:ScriptedBackend")
    source = tmp_path / "captions.tsv"
    source.write_text("a dog on a couch\thttp://x/1\na flag on a dome\thttp://x/2\n", encoding="utf-8")
    out = tmp_path / "out"
    code = cli.main([str(source), "--backend", "scripted", "--fallback", "rule", "--out", str(out),
                     "--eval-size", "0"])  # as a user types it: progress bars on
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    rows = {r["caption"]: r for r in pq.read_table(out / "data").to_pylist()}
    assert rows["a dog on a couch"]["negated_caption"] == "a dog not on a couch"
    assert rows["a dog on a couch"]["generator"]["backend"] == "scripted"
    assert rows["a dog on a couch"]["generator"]["model"] == "scripted-1"
    # the scripted answer for the flag fails the shared filter, so --fallback rule wrote the row
    assert rows["a flag on a dome"]["generator"]["backend"] == "rule"
    assert rows["a flag on a dome"]["generator"]["fallback_from"] == "scripted"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["llm.fallback_rows"] == 1
    assert manifest["counts"]["llm.relation_parsing.requests"] == 2
    assert manifest["negator"]["backend"] == "scripted" and manifest["negator"]["fallback"] == "rule"
    assert (out / ".ccneg" / "cache" / "scripted").is_dir()  # the engine's request cache
    assert "llm.relation_parsing" in stdout and "requests 2" in stdout
