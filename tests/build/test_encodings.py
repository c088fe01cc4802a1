"""Text in UTF-16/32 with a byte order mark builds like UTF-8; bad bytes cost their row only, with
the row's text kept; a build that accepts no row publishes nothing and says why in one line."""

from __future__ import annotations

import codecs
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest

from ccneg_core.dataset import DatasetFolderError, read_split, rejected_files

from .conftest import CAPTIONS


def _lines(count: int) -> list[str]:
    return [f"{CAPTIONS[i % len(CAPTIONS)]}\thttp://example.org/{i}.jpg" for i in range(count)]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-32-be"])
def test_a_utf16_or_utf32_export_builds_the_same_dataset_as_utf8(build, tmp_path: Path, encoding: str) -> None:
    text = "".join(line + "\n" for line in _lines(24))
    (tmp_path / "utf8").mkdir()
    (tmp_path / "wide").mkdir()
    (tmp_path / "utf8" / "captions.tsv").write_bytes(text.encode("utf-8"))
    mark = codecs.BOM_UTF16_LE if encoding == "utf-16-le" else codecs.BOM_UTF32_BE
    (tmp_path / "wide" / "captions.tsv").write_bytes(mark + text.encode(encoding))
    results = {}
    for name in ("utf8", "wide"):
        code, stdout, stderr = build(tmp_path / name / "captions.tsv", "--out", tmp_path / f"out-{name}",
                                     "--eval-size", "4")
        assert code == 0, stderr
        assert "rows read                                24" in stdout
        results[name] = read_split(tmp_path / f"out-{name}", None, ["id", "caption", "negated_caption"]).to_pylist()
    assert results["wide"] == results["utf8"] and len(results["wide"]) > 12


def test_rows_with_bad_bytes_are_rejected_with_their_text(build, tmp_path: Path) -> None:
    source = tmp_path / "mixed.tsv"
    good = "".join(line + "\n" for line in _lines(6)).encode("utf-8")
    source.write_bytes(good + b"a dog on a caf\xe9 terrace\thttp://example.org/x\xff.jpg\n")
    code, _, stderr = build(source, "--out", tmp_path / "out", "--eval-size", "1")
    assert code == 0, stderr
    (path,) = rejected_files(tmp_path / "out")
    rejected = [row for row in pq.read_table(path).to_pylist() if row["reason"] == "bad_encoding"]
    assert len(rejected) == 1 and rejected[0]["source_row"] == 6
    assert rejected[0]["caption"] == "a dog on a caf\ufffd terrace"
    assert rejected[0]["url"] == "http://example.org/x\ufffd.jpg"
    assert rejected[0]["detail"] == "line 7: invalid UTF-8 at byte 14"


def test_a_build_that_accepts_no_row_fails_in_one_line_and_publishes_nothing(build, tmp_path: Path) -> None:
    source = tmp_path / "unreadable.tsv"
    source.write_bytes(b"caf\xe9 on a hill\thttp://x/1.jpg\n\xff\xfe\xfd bad\thttp://x/2.jpg\n\thttp://x/3.jpg\n")
    out = tmp_path / "out"
    code, stdout, stderr = build(source, "--out", out)
    assert code == 2 and stdout == ""
    (line,) = stderr.strip().splitlines()
    assert line.startswith("ccneg-build: error: no row was accepted: 3 rows read, all rejected "
                           "(bad_encoding 2, empty_caption 1); first: row 0: bad_encoding (line 1: invalid UTF-8")
    visible = sorted(p.relative_to(out).as_posix() for p in out.iterdir())
    assert visible == [".ccneg"]  # no data, card or manifest: nothing a loader takes for a dataset
    with pytest.raises(Exception) as refused:
        datasets.load_dataset(str(out), cache_dir=str(tmp_path / "hf-cache"))
    assert "doesn't contain any data files" in str(refused.value)
    with pytest.raises(DatasetFolderError, match="no published dataset .*accepted no row"):
        read_split(out, "train", ["id"])
    code, _, again = build(source, "--out", out)  # the rerun resumes and says the same
    assert code == 2 and again == stderr
