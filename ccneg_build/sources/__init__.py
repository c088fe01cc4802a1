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
from ccneg_build.sources.text import open_text
from ccneg_build.sources.tsv import sniff_columns
from ccneg_core.registry import Registry

#: input file format -> "module:function(path, format, facts, columns) -> Source"; add a format
#: with one module and one line here (``--input-format`` offers them, besides auto and hf).
FILE_FORMATS = Registry("input format", {
    "cc3m": "ccneg_build.sources.tsv:open_file",
    "cc3m-labels": "ccneg_build.sources.tsv:open_file",
    "parquet": "ccneg_build.sources.tabular:open_parquet",
    "jsonl": "ccneg_build.sources.tabular:open_jsonl",
    "csv": "ccneg_build.sources.tabular:open_csv",
})

SAMPLE_NAME = "cc3m_sample.tsv"
_EXTENSIONS = {
    ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".csv": "csv",
}



def input_formats() -> list[str]:
    """What ``--input-format`` accepts: ``auto`` (detect), every registered file format, ``hf``."""
    return ["auto", *FILE_FORMATS, "hf"]


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
        f"give --input-format ({', '.join(input_formats()[1:])})"
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
    if input_format not in input_formats():
        raise InputError(f"--input-format {input_format!r}: use one of {', '.join(input_formats())}")
    columns = (caption_column, url_column, image_column, labels_column)
    if spec is not None and (spec.startswith("hf:") or input_format == "hf"):
        name = spec if spec.startswith("hf:") else f"hf:{spec}"
        source = HuggingFaceSource(name=name, format="hf")
        source.prepare(*columns)
        return source

    path = sample_path() if spec is None else Path(spec).expanduser()
    open_checked(path)
    fmt = detect_format(path) if input_format == "auto" else input_format
    facts = file_facts(path, count_lines=fmt != "parquet")
    facts["path"] = SAMPLE_NAME + " (embedded sample)" if spec is None else str(spec)
    return FILE_FORMATS.load(fmt)(path, fmt, facts, columns)
