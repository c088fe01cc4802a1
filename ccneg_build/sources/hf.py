"""Hugging Face datasets as input: ``hf:ORG/NAME[:SPLIT]``, streamed (never fully downloaded).

A local dataset folder works the same way (``hf:./my-folder``), which is also how a
ccneg output folder can be fed back in.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from ccneg_core.record import SourceRow
from ccneg_build.sources.base import InputError, Source
from ccneg_build.sources.tabular import Columns, row_from_record

_SPLIT = re.compile(r"^(?P<name>.+?)(?::(?P<split>[A-Za-z0-9_.\-\[\]%]+))?$")


def parse_hf_spec(spec: str) -> tuple[str, str]:
    """``hf:ORG/NAME[:SPLIT]`` -> (name, split); the split defaults to ``train``."""
    body = spec[len("hf:"):]
    match = _SPLIT.match(body)
    if not body or match is None:
        raise InputError(f"input {spec}: write a Hugging Face dataset as hf:ORG/NAME or hf:ORG/NAME:SPLIT")
    name, split = match.group("name"), match.group("split") or "train"
    if "/" in split:  # the colon belonged to the name (e.g. a Windows path)
        name, split = body, "train"
    return name, split


class HuggingFaceSource(Source):
    """Streams one split of a Hugging Face dataset through ``datasets`` (streaming mode)."""

    columns: Columns
    dataset_name: str
    split: str

    def prepare(self, caption: str | None, url: str | None, image: str | None, labels: str | None) -> None:
        self.dataset_name, self.split = parse_hf_spec(self.name)
        stream = self._open()
        available = list(stream.features.keys()) if stream.features else list(self._peek(stream).keys())
        self.columns = Columns.resolve(available, self.name, caption, url, image, labels)
        self.facts.update({"dataset": self.dataset_name, "split": self.split})

    def _open(self) -> Any:
        try:
            import datasets
        except ImportError:  # pragma: no cover - datasets is a core dependency
            raise InputError("hf: inputs need the 'datasets' package: pip install datasets") from None
        try:
            return datasets.load_dataset(self.dataset_name, split=self.split, streaming=True)
        except Exception as exc:  # network, missing dataset, bad split: all are input errors
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"input {self.name}: cannot open this dataset ({first_line})") from None

    @staticmethod
    def _peek(stream: Any) -> dict[str, Any]:
        for record in stream:
            return record
        return {}

    def iter_rows(self) -> Iterator[SourceRow]:
        import datasets

        stream = self._open()
        if self.columns.image and stream.features and isinstance(stream.features.get(self.columns.image), datasets.Image):
            stream = stream.cast_column(self.columns.image, datasets.Image(decode=False))
        stream = stream.select_columns(self.columns.needed())
        for index, record in enumerate(stream):
            yield row_from_record(self.name, index, record, self.columns)
