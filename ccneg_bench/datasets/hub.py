"""A Hugging Face dataset in the ccneg record schema (``hf:ORG/NAME`` or ``hf:/local/folder``).

Loaded with ``datasets.load_dataset`` (so the Hub cache, revisions and offline mode work as
usual); the image column is read undecoded and decoded by our own safe decoder in workers.
"""

from __future__ import annotations

from typing import Any

from ccneg_bench.datasets.base import DatasetOptions, EvalDataset, ImageTable, Sample, digest, even_chunks


class HubImageTable(ImageTable):
    """Rows of an Arrow-backed ``datasets.Dataset`` (memory-mapped, so cheap to share with workers)."""

    def __init__(self, dataset: Any, ids: list[str], name: str) -> None:
        self.dataset = dataset
        self.ids = ids
        self.name = name
        self.root = None

    def chunks(self, size: int) -> list[tuple[int, int]]:
        return even_chunks(len(self.ids), size)

    def read_refs(self, start: int, stop: int) -> list[Any]:
        return self.dataset[start:stop]["image"]

    def fingerprint(self) -> str:
        return digest([self.name, getattr(self.dataset, "_fingerprint", None)])


def load_hub(name: str, split: str = "eval", revision: str | None = None) -> EvalDataset:
    import datasets

    try:
        ds = datasets.load_dataset(name, split=split, revision=revision)
    except ValueError as err:
        if split != "eval":
            raise ValueError(f"hf:{name}: {str(err).splitlines()[0]} (choose a split with --split)") from None
        # the generic Parquet loader names the eval split "test" (see docs/format.md)
        try:
            ds = datasets.load_dataset(name, split="test", revision=revision)
        except ValueError:
            raise ValueError(f"hf:{name}: {str(err).splitlines()[0]} (choose a split with --split)") from None
    if "image" in ds.column_names:
        ds = ds.cast_column("image", datasets.Image(decode=False))
    text = ds.remove_columns([c for c in ds.column_names if c == "image"])
    columns = set(text.column_names)
    missing = {"id", "caption", "negated_caption"} - columns
    if missing:
        raise ValueError(f"hf:{name}: missing columns {sorted(missing)} (not a ccneg dataset?)")

    def col(name_: str) -> list[Any]:
        return text[name_] if name_ in columns else [None] * len(text)

    ids = list(col("id"))
    distractors = col("distractor_ids")
    samples = [
        Sample(id=i, caption=c or "", negated_caption=n or "", negation_cue=cue,
               num_relations=int(k) if k is not None else None, negation_type=t,
               distractor_id=(d[0] if isinstance(d, list) and d else None))
        for i, c, n, cue, k, t, d in zip(ids, col("caption"), col("negated_caption"), col("negation_cue"),
                                          col("num_relations"), col("negation_type"), distractors)
    ]
    images = HubImageTable(ds, ids, name)
    dataset = EvalDataset(spec=f"hf:{name}", split=split, samples=samples, images=images)
    dataset.attach_distractors(images if any(s.distractor_id for s in samples) else None)
    return dataset


def open_dataset(path: str, split: str, options: DatasetOptions) -> EvalDataset:
    """``hf:ORG/NAME`` or ``hf:/local/folder`` (the dataset registry's entry)."""
    return load_hub(path, split=split)
