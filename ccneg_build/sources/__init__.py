"""Input readers: one per input kind, all yielding :class:`~ccneg_core.record.SourceRow`.

:func:`open_source` is the single entry point: it resolves the input (a file, a
``hf:`` dataset or the embedded CC3M sample), detects or takes its format, checks that
it can be read at all, and returns a :class:`~ccneg_build.sources.base.Source` whose
``iter_rows()`` streams the rows. Engines (local, Ray) read through it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ccneg_build.sources.base import InputError, Source, file_facts, open_checked
from ccneg_build.sources.hf import HuggingFaceSource
from ccneg_build.sources.tabular import CsvSource, JsonLinesSource, ParquetSource
from ccneg_build.sources.text import open_text
from ccneg_build.sources.tsv import CC3MSource, sniff_columns

FORMATS = ("auto", "cc3m", "cc3m-labels", "parquet", "jsonl", "csv", "hf")
SAMPLE_NAME = "cc3m_sample.tsv"
_EXTENSIONS = {
    ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".csv": "csv",
}

__all__ = ["FORMATS", "InputError", "Source", "open_source", "detect_format", "sample_path"]


def sample_path() -> Path:
    """The embedded sample: 300 real CC3M validation captions (caption<TAB>url)."""
    return Path(str(resources.files("ccneg_build") / "data" / SAMPLE_NAME))


def detect_format(path: Path) -> str:
    """Guess a file's format from its extension, then from its first bytes."""
    by_extension = _EXTENSIONS.get(path.suffix.lower())
    if by_extension:
        return by_extension
    with path.open("rb") as handle:
        if handle.read(4) == b"PAR1":
            return "parquet"
    with open_text(path) as text:
        head = text.read(8)
    if head[:1] == "{":
        return "jsonl"
    columns = sniff_columns(path)
    if columns == 2:
        return "cc3m"
    if columns == 5:
        return "cc3m-labels"
    raise InputError(
        f"input {path}: cannot tell its format (first lines have {columns} tab-separated columns); "
        f"give --input-format ({', '.join(FORMATS[1:])})"
    )


def open_source(
    spec: str | None,
    input_format: str = "auto",
    caption_column: str | None = None,
    url_column: str | None = None,
    image_column: str | None = None,
    labels_column: str | None = None,
) -> Source:
    """Resolve an input and check it is readable; raises :class:`InputError` otherwise."""
    if input_format not in FORMATS:
        raise InputError(f"--input-format {input_format!r}: use one of {', '.join(FORMATS)}")
    columns = (caption_column, url_column, image_column, labels_column)
    if spec is not None and (spec.startswith("hf:") or input_format == "hf"):
        name = spec if spec.startswith("hf:") else f"hf:{spec}"
        source = HuggingFaceSource(name=name, format="hf")
        source.prepare(*columns)
        return source

    path = sample_path() if spec is None else Path(spec).expanduser()
    open_checked(path)
    fmt = detect_format(path) if input_format == "auto" else input_format
    name = path.name
    facts = file_facts(path, count_lines=fmt != "parquet")
    facts["path"] = SAMPLE_NAME + " (embedded sample)" if spec is None else str(spec)
    if fmt in ("cc3m", "cc3m-labels"):
        named = [flag for flag, value in zip(("--caption-column", "--url-column", "--image-column",
                                              "--labels-column"), columns) if value]
        if named:
            raise InputError(f"input {path}: {', '.join(named)} applies to Parquet/JSONL/CSV/hf inputs, "
                             f"not to a {fmt} TSV with fixed columns")
        source: Source = CC3MSource(name=name, format=fmt, path=path, facts=facts)
        source.total_rows = facts["lines"]
        return source
    cls = {"parquet": ParquetSource, "jsonl": JsonLinesSource, "csv": CsvSource}[fmt]
    source = cls(name=name, format=fmt, path=path, facts=facts)
    source.prepare(*columns)  # type: ignore[attr-defined]
    if fmt == "jsonl":
        source.total_rows = facts["lines"]
    return source
