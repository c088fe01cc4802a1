"""Readers: every input kind, format detection, --limit, and bad rows that cost only themselves."""

from __future__ import annotations

import codecs
import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ccneg_core.record import make_id
from ccneg_build.sources import detect_format, open_source, sample_path
from ccneg_build.sources.base import InputError

from .conftest import CAPTIONS


def _tsv(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_embedded_sample_is_300_real_cc3m_rows() -> None:
    source = open_source(None)
    rows = list(source.iter_rows())
    assert source.format == "cc3m" and len(rows) == 300 == source.total_rows
    assert all(r.error is None and r.caption and r.url.startswith("http") for r in rows)
    assert sample_path().name == "cc3m_sample.tsv"


def test_cc3m_tsv_rows_ids_and_urls(tmp_path: Path) -> None:
    path = _tsv(tmp_path / "val.tsv", [f"{c}\thttp://example.org/{i}.jpg" for i, c in enumerate(CAPTIONS)])
    source = open_source(str(path))
    rows = list(source.iter_rows())
    assert source.format == "cc3m"
    assert [r.caption for r in rows] == CAPTIONS
    assert rows[3].url == "http://example.org/3.jpg" and rows[3].source_row == 3
    assert rows[3].id == make_id("val.tsv", 3, CAPTIONS[3])
    assert source.describe()["sha256"] and source.describe()["bytes"] == path.stat().st_size


def test_image_labels_tsv_is_detected_and_keeps_labels(tmp_path: Path) -> None:
    path = _tsv(tmp_path / "labels.tsv", [
        "a dog on a couch\thttp://x/1.jpg\tdog,couch,furniture\t/m/0bt9lr,/m/02crq1\t0.9,0.8,0.7",
        "a flag on a dome\thttp://x/2.jpg\tflag\t/m/03120\t0.95",
    ])
    rows = list(open_source(str(path)).iter_rows())
    assert open_source(str(path)).format == "cc3m-labels"
    assert rows[0].labels == ("dog", "couch", "furniture") and rows[1].labels == ("flag",)


def test_parquet_jsonl_csv_with_named_columns(tmp_path: Path) -> None:
    records = [{"text": c, "link": f"http://x/{i}.jpg", "other": i} for i, c in enumerate(CAPTIONS[:3])]
    pq.write_table(pa.Table.from_pylist(records), tmp_path / "in.parquet")
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    with (tmp_path / "in.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text", "link", "other"])
        writer.writeheader()
        writer.writerows(records)
    for name, fmt in (("in.parquet", "parquet"), ("in.jsonl", "jsonl"), ("in.csv", "csv")):
        source = open_source(str(tmp_path / name), url_column="link")
        rows = list(source.iter_rows())
        assert source.format == fmt
        assert [r.caption for r in rows] == CAPTIONS[:3], name  # "text" found as the caption column
        assert [r.url for r in rows] == [f"http://x/{i}.jpg" for i in range(3)], name


def test_image_column_from_parquet(tmp_path: Path) -> None:
    table = pa.table({"caption": ["a flag on a dome"], "picture": [{"bytes": b"\x89PNG", "path": "a.png"}]})
    pq.write_table(table, tmp_path / "img.parquet")
    row = next(open_source(str(tmp_path / "img.parquet"), image_column="picture").iter_rows())
    assert row.image == {"bytes": b"\x89PNG", "path": "a.png"}


def test_named_column_missing_is_an_input_error(tmp_path: Path) -> None:
    pq.write_table(pa.table({"text": ["a"]}), tmp_path / "in.parquet")
    with pytest.raises(InputError, match="no column 'caption_text'.*--caption-column"):
        open_source(str(tmp_path / "in.parquet"), caption_column="caption_text")
    pq.write_table(pa.table({"body": ["a"]}), tmp_path / "nocap.parquet")
    with pytest.raises(InputError, match="no caption column found"):
        open_source(str(tmp_path / "nocap.parquet"))


def test_detection_by_content_and_override(tmp_path: Path) -> None:
    tsv = _tsv(tmp_path / "captions.txt", ["a flag on a dome\thttp://x/1.jpg"])
    assert detect_format(tsv) == "cc3m"
    jsonl = tmp_path / "records.data"
    jsonl.write_text('{"caption": "a flag on a dome"}\n', encoding="utf-8")
    assert detect_format(jsonl) == "jsonl"
    parquet = tmp_path / "table.bin"
    pq.write_table(pa.table({"caption": ["x"]}), parquet)
    assert detect_format(parquet) == "parquet"
    odd = _tsv(tmp_path / "odd.txt", ["one\ttwo\tthree"])
    with pytest.raises(InputError, match="--input-format"):
        detect_format(odd)
    # the override reads a 2-column file named .csv as CC3M TSV
    renamed = _tsv(tmp_path / "really_tsv.csv", ["a flag on a dome\thttp://x/1.jpg"])
    assert next(open_source(str(renamed), input_format="cc3m").iter_rows()).caption == "a flag on a dome"


def test_hf_input_streams_a_local_dataset_folder(tmp_path: Path) -> None:
    folder = tmp_path / "hfdata" / "data"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"caption": CAPTIONS[:4], "url": ["http://x/a"] * 4}), folder / "train-00000-of-00001.parquet")
    source = open_source(f"hf:{tmp_path / 'hfdata'}:train")
    rows = list(source.iter_rows())
    assert source.format == "hf" and [r.caption for r in rows] == CAPTIONS[:4]
    assert rows[0].source == f"hf:{tmp_path / 'hfdata'}:train"
    with pytest.raises(InputError, match="cannot open this dataset"):
        open_source(f"hf:{tmp_path / 'missing'}")


def test_malformed_tsv_rows_are_rejected_with_reasons(tmp_path: Path) -> None:
    good = "a flag on a dome\thttp://x/1.jpg\n".encode()
    lines = [
        good,
        b"only one column\n",
        b"\thttp://x/empty.jpg\n",
        b"caf\xe9 with bad bytes\thttp://x/2.jpg\n",
        b"a caption with a \x00 nul\thttp://x/3.jpg\n",
        ("long " * 4000).encode() + b"\thttp://x/4.jpg\n",
        b"a\tb\tc\n",
        good,
    ]
    path = tmp_path / "bad.tsv"
    path.write_bytes(b"".join(lines))
    rows = list(open_source(str(path), input_format="cc3m").iter_rows())
    assert [r.error for r in rows] == [
        None, "bad_columns", "empty_caption", "bad_encoding", "nul_byte", "caption_too_long", "bad_columns", None,
    ]
    assert all(r.error_detail for r in rows if r.error)
    assert "line 4" in rows[3].error_detail


def test_malformed_jsonl_and_csv_rows(tmp_path: Path) -> None:
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_bytes(b'{"caption": "a flag on a dome"}\n{not json}\n[1, 2]\n{"caption": 5}\n{"caption": ""}\n'
                      b'{"caption": "caf\xe9"}\n')
    errors = [r.error for r in open_source(str(jsonl)).iter_rows()]
    assert errors == [None, "bad_json", "bad_json", "bad_columns", "empty_caption", "bad_encoding"]
    csv_path = tmp_path / "bad.csv"
    csv_path.write_bytes(b"caption,url\na flag on a dome,http://x\ntoo,many,fields\ncaf\xe9,http://y\n")
    errors = [r.error for r in open_source(str(csv_path)).iter_rows()]
    assert errors == [None, "bad_columns", "bad_encoding"]


def test_column_flags_do_not_apply_to_cc3m_tsv(tmp_path: Path) -> None:
    path = _tsv(tmp_path / "val.tsv", ["a flag on a dome\thttp://x/1.jpg"])
    with pytest.raises(InputError, match="--image-column applies to Parquet"):
        open_source(str(path), image_column="image")


def test_missing_folder_and_unreadable_inputs_fail_at_once(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        open_source(str(tmp_path / "absent.tsv"))
    with pytest.raises(InputError, match="is a folder"):
        open_source(str(tmp_path))
    (tmp_path / "empty.tsv").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        open_source(str(tmp_path / "empty.tsv"))
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(InputError, match="not a readable Parquet"):
        open_source(str(broken))


def test_readers_stream_instead_of_loading_everything(tmp_path: Path) -> None:
    """Reading the first row of a large file must not read the rest (generators all the way)."""
    path = tmp_path / "big.tsv"
    with path.open("w", encoding="utf-8") as handle:
        for i in range(200_000):
            handle.write(f"a dog number {i} on a couch\thttp://x/{i}.jpg\n")
    rows = open_source(str(path)).iter_rows()
    first = next(rows)
    assert first.source_row == 0 and first.caption == "a dog number 0 on a couch"
    handle_position = rows.gi_frame.f_locals["text"].buffer.tell()  # type: ignore[attr-defined]
    assert handle_position < path.stat().st_size / 10


BOM = "\ufeff"


READERS = [
    ("val.tsv", "a flag on a dome\thttp://x/1.jpg\na dog on a couch\thttp://x/2.jpg\n", {}),
    ("labels.tsv", "a flag on a dome\thttp://x/1.jpg\tflag\t/m/1\t0.9\na dog on a couch\thttp://x/2.jpg\tdog\t/m/2\t0.8\n",
     {}),
    ("in.csv", "caption,url\na flag on a dome,http://x/1.jpg\na dog on a couch,http://x/2.jpg\n", {}),
    ("named.csv", "caption,url\na flag on a dome,http://x/1.jpg\na dog on a couch,http://x/2.jpg\n",
     {"caption_column": "caption"}),
    ("in.jsonl", '{"caption": "a flag on a dome"}\n{"caption": "a dog on a couch"}\n', {}),
    ("no_extension", '{"caption": "a flag on a dome"}\n{"caption": "a dog on a couch"}\n', {}),
]


@pytest.mark.parametrize("name, body, extra", READERS)
def test_every_reader_strips_a_leading_utf8_bom(tmp_path: Path, name: str, body: str, extra: dict) -> None:
    path = tmp_path / name
    path.write_bytes((BOM + body).encode("utf-8"))
    rows = list(open_source(str(path), **extra).iter_rows())
    assert [r.caption for r in rows] == ["a flag on a dome", "a dog on a couch"]
    assert all(r.error is None for r in rows), [r.error_detail for r in rows]
    (tmp_path / "plain").mkdir()
    plain = tmp_path / "plain" / name
    plain.write_bytes(body.encode("utf-8"))
    assert [r.id for r in open_source(str(plain), **extra).iter_rows()] == [r.id for r in rows]  # same ids


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize("name, body, extra", READERS)
def test_utf16_and_utf32_with_a_byte_order_mark_read_like_utf8(tmp_path: Path, name: str, body: str, extra: dict,
                                                               encoding: str) -> None:
    """Spreadsheet programs export "Unicode text" as UTF-16 with a mark: same rows, same ids as UTF-8."""
    body = body.replace("a dog on a couch", "a dog on a couch in the caf\u00e9 \u0a41\U0001F436")  # U+0A41: 0x0A byte
    path = tmp_path / name
    path.write_bytes((BOM + body).encode(encoding))
    source = open_source(str(path), **extra)
    rows = list(source.iter_rows())
    assert [r.caption for r in rows] == ["a flag on a dome", "a dog on a couch in the caf\u00e9 \u0a41\U0001F436"]
    assert all(r.error is None for r in rows), [r.error_detail for r in rows]
    assert source.describe()["encoding"] == encoding
    if source.total_rows is not None:
        assert source.total_rows == 2  # lines counted in the decoded text, not by 0x0A bytes
    (tmp_path / "utf8").mkdir()
    plain = tmp_path / "utf8" / name
    plain.write_bytes(body.encode("utf-8"))
    assert [r.id for r in open_source(str(plain), **extra).iter_rows()] == [r.id for r in rows]
    assert "encoding" not in open_source(str(plain), **extra).describe()  # UTF-8 runs resume as before


def test_undecodable_rows_are_rejected_with_their_text_kept(tmp_path: Path) -> None:
    """Each reader rejects only the bad row, as bad_encoding, keeping its text with U+FFFD in place."""
    tsv = tmp_path / "bad.tsv"
    tsv.write_bytes(b"a flag on a dome\thttp://x/1.jpg\ncaf\xe9 with a dog\thttp://x/\xff2.jpg\n")
    good, bad = open_source(str(tsv)).iter_rows()
    assert good.error is None and bad.error == "bad_encoding"
    assert bad.caption == "caf\ufffd with a dog" and bad.url == "http://x/\ufffd2.jpg"
    assert bad.error_detail == "line 2: invalid UTF-8 at byte 3"
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_bytes(b'{"caption": "a flag on a dome", "url": "http://x/1"}\n'
                      b'{"caption": "caf\xe9 on a hill", "url": "http://x/3"}\n'
                      b'{broken \xff\n')
    rows = list(open_source(str(jsonl)).iter_rows())
    assert [r.error for r in rows] == [None, "bad_encoding", "bad_encoding"]
    assert rows[1].caption == "caf\ufffd on a hill" and rows[1].url == "http://x/3"
    assert rows[2].caption == "{broken \ufffd"  # no caption to pick out: the whole line
    csv_path = tmp_path / "bad.csv"
    csv_path.write_bytes(b"url,caption\nhttp://x/1,a flag on a dome\nhttp://x/2,caf\xe9 by the sea\n")
    rows = list(open_source(str(csv_path)).iter_rows())
    assert [r.error for r in rows] == [None, "bad_encoding"]
    assert rows[1].caption == "caf\ufffd by the sea" and rows[1].url == "http://x/2"
    assert rows[1].error_detail == "row 1: invalid UTF-8 bytes in column 'caption'"
    utf16 = tmp_path / "bad16.tsv"  # a lone surrogate: undecodable UTF-16
    utf16.write_bytes(codecs.BOM_UTF16_LE + "a flag on a dome\thttp://x/1\nbad ".encode("utf-16-le") + b"\x00\xd8"
                      + " dog\thttp://x/2\n".encode("utf-16-le"))
    good, bad = open_source(str(utf16)).iter_rows()
    assert good.error is None and bad.error == "bad_encoding" and bad.caption == "bad \ufffd dog"
    assert bad.error_detail == "line 2: invalid UTF-16-LE at byte 8"


def test_markup_and_bidi_controls_are_rejected_when_read(tmp_path: Path) -> None:
    path = _tsv(tmp_path / "val.tsv", [
        "a <b>dog</b> on a couch\thttp://x/1.jpg",
        "dogs &amp; cats on a sofa\thttp://x/2.jpg",
        "a dog on a \u202ehcuoc\thttp://x/3.jpg",
        "a dog \u2066on\u2069 a couch\thttp://x/4.jpg",
        "sand & sea : paradise on the prom\thttp://x/5.jpg",  # plain text, kept
        "this tattoo is beautiful with birds <3\thttp://x/6.jpg",  # plain text, kept
    ])
    rows = list(open_source(str(path)).iter_rows())
    assert [r.error for r in rows] == ["markup", "markup", "bad_characters", "bad_characters", None, None]
    assert "U+202E" in rows[2].error_detail and "<b>" in rows[0].error_detail


def test_an_input_format_plugs_in_with_one_registry_line(tmp_path, monkeypatch):
    """A third party's format: one module and one line in FILE_FORMATS; --input-format then offers it."""
    from ccneg_build import cli
    from ccneg_build.sources import FILE_FORMATS

    corpus = tmp_path / "captions.lines"
    corpus.write_text("a dog on a couch\na woman next to a table in the dining area\n\n", encoding="utf-8")
    with pytest.raises(SystemExit):  # not registered: refused by the command line
        cli.main([str(corpus), "--input-format", "lines", "--out", str(tmp_path / "no"), "--no-progress"])
    monkeypatch.setitem(FILE_FORMATS, "lines", "tests.build.plugin_format:open_file")
    assert cli.main([str(corpus), "--input-format", "lines", "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["inputs"][0]["format"] == "lines"
    assert manifest["counts"]["rows_read"] == 3 and manifest["counts"]["accepted"] == 2
    assert manifest["reject_reasons"] == {"empty_caption": 1}
