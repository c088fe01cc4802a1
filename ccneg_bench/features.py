"""Batched, cached feature encoding: the one place images and captions become vectors.

Importable API (used by the tasks and by ``ccneg_bench.train``)::

    from ccneg_bench.features import encode_image_table, encode_texts, feature_cache_dir
    cache = feature_cache_dir(cache_root, adapter, dataset)          # or None: no cache
    images = encode_image_table(adapter, dataset.images, cache=cache, batch_size=64, workers=2)
    images.features  # (N, D) float32, L2-normalised; rows whose image failed are zero
    images.ok        # (N,) bool;  images.errors: {row: (reason code, detail)}
    texts = encode_texts(adapter, ["a dog", "a dog not on a couch"], cache=cache)
    texts.of(["a dog"])  # (1, D) rows, looked up by string

Why it is fast:

* images are decoded and transformed in DataLoader workers, one *chunk* (a contiguous row
  range, at most ``chunk_size`` rows and never across a Parquet row group) per task;
* each chunk's features are written to the cache as soon as the chunk completes (temp file +
  ``os.replace``), so a rerun, a second task or a crashed run resumes without decoding again;
* each unique caption is encoded once (captions whose tokens are identical, e.g. cut at the
  context length, share one row), in batches of similar token length (no padding to
  speak of; the open_clip text tower runs on the batch's real length);
* the encoders run under autocast at ``precision`` (see :mod:`ccneg_core.devices`: ``auto``
  is bf16 on CUDA where supported, else fp16, and fp32 on the CPU).

Cache layout: ``CACHE/<model>-<model fingerprint>/<dataset fingerprint>/<split>/`` holding
``images-<table fingerprint>-<decoder fingerprint>/chunk-<start>-<stop>.npz``, ``texts.npy`` + ``texts.json``
and ``texts.tokens.json`` (each caption's uncut token count).
The model fingerprint hashes the weights' content (a weights file's SHA-256, a published tag,
or the seed of a random initialisation; each model kind's ``identity``, see :mod:`ccneg_bench.models.kind`) with the
architecture and preprocessing, so no two models ever share a cache folder; the dataset and
table fingerprints change whenever the data files change, the decoder fingerprint whenever
the pixel limit or the decoder's reason codes change.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from ccneg_bench.datasets.base import EvalDataset, ImageTable
from ccneg_bench.models.base import ModelAdapter
from ccneg_core.image_decode import CORRUPT, DEFAULT_MAX_PIXELS, ImageRejected, decode_image_with_note, decoder_fingerprint
from ccneg_core.devices import DEFAULT_PRECISION, autocast
from ccneg_core.writer import atomic_output, atomic_write_text

DEFAULT_CHUNK_SIZE = 1024
#: uncut token count of every cached caption (text -> count), beside ``texts.json``
TOKEN_COUNTS_FILE = "texts.tokens.json"


@dataclass
class ImageFeatures:
    """Normalised image features of a table, with per-row failures."""

    features: np.ndarray
    ok: np.ndarray
    errors: dict[int, tuple[str, str]]
    stats: dict[str, Any] = field(default_factory=dict)
    #: rows that decoded after a mode conversion: {row: (note code, detail)}
    notes: dict[int, tuple[str, str]] = field(default_factory=dict)


@dataclass
class TextFeatures:
    """Normalised features of unique strings."""

    texts: list[str]
    features: np.ndarray
    stats: dict[str, Any] = field(default_factory=dict)
    #: uncut token count of each text (None when the model does not count tokens)
    token_counts: np.ndarray | None = None
    #: the model's text context length (None: no token limit)
    context_length: int | None = None

    def __post_init__(self) -> None:
        self.index = {text: row for row, text in enumerate(self.texts)}

    def rows(self, texts: Sequence[str]) -> np.ndarray:
        return np.fromiter((self.index[t] for t in texts), dtype=np.int64, count=len(texts))

    def of(self, texts: Sequence[str]) -> np.ndarray:
        return self.features[self.rows(texts)]

    def over_context(self, texts: Sequence[str]) -> np.ndarray | None:
        """Per text: longer than the context length, so the model reads it cut (None: unknown)."""
        if self.token_counts is None or self.context_length is None:
            return None
        return self.token_counts[self.rows(texts)] > self.context_length


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[-60:] or "x"


def feature_cache_dir(root: str | os.PathLike | None, adapter: ModelAdapter, dataset: EvalDataset) -> Path | None:
    """The cache folder of one (model, dataset, split), or None when caching is off."""
    if root is None:
        return None
    model_part = f"{_slug(adapter.spec)}-{adapter.fingerprint()}"
    return Path(root) / model_part / f"{_slug(os.path.basename(dataset.spec))}-{dataset.fingerprint()}" / _slug(dataset.split)


def _normalise(features: torch.Tensor) -> np.ndarray:
    features = features.float()
    return torch.nn.functional.normalize(features, dim=-1).cpu().numpy()


def _atomic_save_npz(path: Path, **arrays: Any) -> None:
    with atomic_output(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)


def crop_box(image: Image.Image, box: Any) -> Image.Image:
    """Cut the region ``(x, y, width, height)`` out of ``image`` (CREPE scores region crops).

    PIL fills any part of the box outside the image with black, as torchvision's ``crop`` does
    on PIL images, so boxes that overhang the border score like the official code's.
    """
    x, y, width, height = (int(v) for v in box)
    return image.crop((x, y, x + width, y + height))


class _ChunkBatches(IterableDataset):
    """Yields decoded, transformed batches; worker w takes chunks w, w + W, w + 2W, ..."""

    def __init__(self, table: ImageTable, chunks: list[tuple[int, int]], transform: Any,
                 batch_size: int, max_pixels: int) -> None:
        self.table, self.chunks, self.transform = table, chunks, transform
        self.batch_size, self.max_pixels = batch_size, max_pixels

    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        for position in range(worker, len(self.chunks), workers):
            start, stop = self.chunks[position]
            try:
                refs = self.table.read_refs(start, stop)
            except Exception as err:  # an unreadable shard fails its rows, not the run
                detail = f"{type(err).__name__}: {err}"[:300]
                yield {"chunk": position, "rows": [], "pixels": None, "notes": [],
                       "errors": [(r, CORRUPT, detail) for r in range(start, stop)]}
                continue
            for first in range(start, stop, self.batch_size):
                yield self._batch(position, start, refs, first, min(first + self.batch_size, stop))

    def _batch(self, position: int, start: int, refs: list[Any], first: int, last: int) -> dict[str, Any]:
        rows, pixels, errors, notes = [], [], [], []
        for row in range(first, last):
            try:
                ref = refs[row - start]
                image, note = decode_image_with_note(ref, root=self.table.root, max_pixels=self.max_pixels)
                if isinstance(ref, dict) and ref.get("crop") is not None:
                    image = crop_box(image, ref["crop"])
                pixels.append(self.transform(image))
                rows.append(row)
                if note:
                    notes.append((row, note, f"image stored as {note[len('converted_'):]}, converted to RGB"))
            except ImageRejected as err:
                errors.append((row, err.reason, err.detail[:300]))
            except Exception as err:  # a transform failing on an odd image
                errors.append((row, "image_transform_failed", f"{type(err).__name__}: {err}"[:300]))
        return {"chunk": position, "rows": rows, "pixels": torch.stack(pixels) if pixels else None, "errors": errors,
                "notes": notes}


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)  # decoding workers must not fight the encoder for cores


def _progress(total: int, desc: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="img", file=sys.stderr, disable=not enabled, leave=False)


def encode_image_table(
    adapter: ModelAdapter,
    table: ImageTable,
    *,
    cache: Path | None = None,
    batch_size: int = 64,
    workers: int = 2,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    precision: str = DEFAULT_PRECISION,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    progress: bool = True,
    desc: str = "images",
) -> ImageFeatures:
    """Encode every image of ``table`` (or load it from ``cache``); never raises for a bad image."""
    started = time.perf_counter()
    n = len(table)
    chunks = table.chunks(chunk_size)
    # the decoder's settings are part of the key: cached chunks hold its failure codes
    folder = cache / f"images-{table.fingerprint()}-{decoder_fingerprint(max_pixels)}" if cache is not None else None
    features: np.ndarray | None = None
    ok = np.zeros(n, dtype=bool)
    errors: dict[int, tuple[str, str]] = {}
    notes: dict[int, tuple[str, str]] = {}
    todo: list[tuple[int, int]] = []
    for start, stop in chunks:
        path = folder / f"chunk-{start:010d}-{stop:010d}.npz" if folder else None
        if path is not None and path.exists():
            with np.load(path, allow_pickle=False) as stored:
                if features is None:
                    features = np.zeros((n, stored["features"].shape[1]), dtype=np.float32)
                features[start:stop] = stored["features"]
                ok[start:stop] = stored["ok"]
                for row, code, detail in json.loads(str(stored["errors"])):
                    errors[row] = (code, detail)
                for row, code, detail in json.loads(str(stored["notes"])) if "notes" in stored else []:
                    notes[row] = (code, detail)
        else:
            todo.append((start, stop))
    stats = {"images": n, "chunks": len(chunks), "chunks_from_cache": len(chunks) - len(todo), "images_decoded": 0}

    if todo and not adapter.needs_images:  # text-only baselines: constant image features, no decoding
        constant = _normalise(adapter.encode_images(torch.zeros(1, 1)))
        features = np.repeat(constant, n, axis=0).astype(np.float32)
        ok[:] = True
        for bounds in todo if folder is not None else []:  # cached too: a warm run need not build the model
            _save_chunk(folder, bounds, features, ok, errors, notes)
        todo = []

    if todo:
        features = _encode_chunks(adapter, table, todo, features, ok, errors, notes, folder, batch_size, workers,
                                  precision, max_pixels, progress, desc, stats)
    if features is None:  # every image failed (or the table is empty): rows of zeros, right width
        features = np.zeros((n, _embedding_width(adapter)), dtype=np.float32)
    stats["seconds"] = time.perf_counter() - started
    stats["images_converted"] = len(notes)
    return ImageFeatures(features=features, ok=ok, errors=errors, stats=stats, notes=notes)


def _embedding_width(adapter: ModelAdapter) -> int:
    with torch.inference_mode():
        return int(adapter.encode_texts(["a"]).shape[-1])


def _encode_chunks(adapter: ModelAdapter, table: ImageTable, todo: list[tuple[int, int]],
                   features: np.ndarray | None, ok: np.ndarray, errors: dict[int, tuple[str, str]],
                   notes: dict[int, tuple[str, str]], folder: Path | None, batch_size: int, workers: int, precision: str, max_pixels: int,
                   progress: bool, desc: str, stats: dict[str, Any]) -> np.ndarray | None:
    n = len(table)
    stream = _ChunkBatches(table, todo, adapter.image_transform(), batch_size, max_pixels)
    loader = DataLoader(stream, batch_size=None, num_workers=workers, worker_init_fn=_worker_init if workers else None,
                        pin_memory=adapter.device.type == "cuda", prefetch_factor=4 if workers else None)
    remaining = {position: stop - start for position, (start, stop) in enumerate(todo)}
    bar = _progress(sum(remaining.values()), desc, progress)
    try:
        for batch in loader:
            rows, position = batch["rows"], batch["chunk"]
            if batch["pixels"] is not None:
                with autocast(adapter.device, precision):
                    encoded = _normalise(adapter.encode_images(batch["pixels"].to(adapter.device, non_blocking=True)))
                if features is None:
                    features = np.zeros((n, encoded.shape[1]), dtype=np.float32)
                features[rows] = encoded
                ok[rows] = True
            for row, code, detail in batch["errors"]:
                errors[row] = (code, detail)
            for row, code, detail in batch["notes"]:
                notes[row] = (code, detail)
            handled = len(rows) + len(batch["errors"])
            stats["images_decoded"] += len(rows)
            bar.update(handled)
            remaining[position] -= handled
            if remaining[position] == 0 and folder is not None:
                _save_chunk(folder, todo[position], features, ok, errors, notes)
    finally:
        bar.close()
    return features


def _save_chunk(folder: Path, bounds: tuple[int, int], features: np.ndarray | None, ok: np.ndarray,
                errors: dict[int, tuple[str, str]], notes: dict[int, tuple[str, str]]) -> None:
    start, stop = bounds
    width = features.shape[1] if features is not None else 0
    block = features[start:stop] if features is not None else np.zeros((stop - start, width), np.float32)
    chunk_errors = [(row, *errors[row]) for row in range(start, stop) if row in errors]
    chunk_notes = [(row, *notes[row]) for row in range(start, stop) if row in notes]
    _atomic_save_npz(folder / f"chunk-{start:010d}-{stop:010d}.npz", features=block, ok=ok[start:stop],
                     errors=np.array(json.dumps(chunk_errors)), notes=np.array(json.dumps(chunk_notes)))


def encode_texts(
    adapter: ModelAdapter,
    texts: Sequence[str],
    *,
    cache: Path | None = None,
    batch_size: int = 256,
    precision: str = DEFAULT_PRECISION,
    progress: bool = True,
) -> TextFeatures:
    """Encode each unique string once (cached per model/dataset/split); shortest first."""
    started = time.perf_counter()
    unique = list(dict.fromkeys(texts))
    known: dict[str, np.ndarray] = {}
    stored_texts: list[str] = []
    stored: np.ndarray | None = None
    if cache is not None and (cache / "texts.json").exists():
        try:
            stored_texts = json.loads((cache / "texts.json").read_text(encoding="utf-8"))
            stored = np.load(cache / "texts.npy", allow_pickle=False)
            if len(stored) != len(stored_texts):
                stored_texts, stored = [], None
        except (OSError, ValueError):
            stored_texts, stored = [], None
    if stored is not None:
        position = {t: i for i, t in enumerate(stored_texts)}
        known = {t: stored[position[t]] for t in unique if t in position}
    missing = [t for t in unique if t not in known]
    to_encode, same_input = _one_per_model_input(adapter, missing)
    lengths = dict(zip(to_encode, adapter.text_lengths(to_encode)))
    to_encode.sort(key=lambda t: (lengths[t], len(t)))  # similar lengths share a batch: little padding
    from tqdm.auto import tqdm

    new_blocks = []
    with tqdm(total=len(to_encode), desc="captions", unit="txt", file=sys.stderr, disable=not progress or not to_encode, leave=False) as bar:
        for first in range(0, len(to_encode), batch_size):
            batch = to_encode[first:first + batch_size]
            with autocast(adapter.device, precision):
                new_blocks.append(_normalise(adapter.encode_texts(batch)))
            bar.update(len(batch))
    if new_blocks:
        known.update(zip(to_encode, np.concatenate(new_blocks)))
        known.update((text, known[first]) for text, first in same_input.items())
        if cache is not None:
            new = np.stack([known[t] for t in missing])
            all_texts = stored_texts + missing
            all_features = np.concatenate([stored, new]) if stored is not None else new
            _atomic_save_texts(cache, all_texts, all_features)
    width = next(iter(known.values())).shape[0] if known else 0
    matrix = np.stack([known[t] for t in unique]).astype(np.float32) if unique else np.zeros((0, width), np.float32)
    context_length = adapter.context_length
    counts = token_counts(adapter, unique, cache) if context_length is not None else None
    stats = {"texts": len(unique), "texts_encoded": len(to_encode), "seconds": time.perf_counter() - started}
    return TextFeatures(texts=unique, features=matrix, stats=stats,
                        token_counts=np.asarray(counts, dtype=np.int64) if counts is not None else None,
                        context_length=context_length)


def token_counts(adapter: ModelAdapter, texts: list[str], cache: Path | None) -> list[int] | None:
    """Uncut token count of each text (None: the model does not count tokens), cached per model.

    They tell which captions the model reads cut (``truncated``). The cache keeps them beside
    the features (``texts.tokens.json``, text -> count), so that a warm run, whose model is never
    built, reports them exactly as the cold run did; only texts not counted before reach the
    tokenizer.
    """
    if not texts:
        return []
    counted = _read_token_counts(cache)
    if counted is None:
        return None
    missing = [t for t in dict.fromkeys(texts) if t not in counted]
    if missing:
        fresh = adapter.token_lengths(missing)
        if fresh is None:
            if cache is not None:
                atomic_write_text(cache / TOKEN_COUNTS_FILE, json.dumps({"counts": None}))
            return None
        counted.update(zip(missing, (int(n) for n in fresh)))
        if cache is not None:
            atomic_write_text(cache / TOKEN_COUNTS_FILE, json.dumps({"counts": counted}))
    return [counted[t] for t in texts]


def _read_token_counts(cache: Path | None) -> dict[str, int] | None:
    """The cached counts ({} when none are cached yet), None when the model is known not to count."""
    path = cache / TOKEN_COUNTS_FILE if cache is not None else None
    if path is None or not path.exists():
        return {}
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    counts = stored.get("counts", {}) if isinstance(stored, dict) else {}
    if counts is None:
        return None
    try:
        return {str(t): int(n) for t, n in counts.items()}
    except (AttributeError, TypeError, ValueError):  # a damaged file: count again
        return {}


def _one_per_model_input(adapter: ModelAdapter, texts: list[str]) -> tuple[list[str], dict[str, str]]:
    """The texts to encode (the first of each group the model reads identically) and, for
    every other text, the one whose features it shares.

    Two captions that differ only past the context length tokenize identically; sharing one
    feature row makes their scores tie exactly, whatever batch each would have landed in.
    """
    keys = adapter.text_input_keys(texts) if texts else None
    if keys is None:
        return list(texts), {}
    first_of: dict[bytes, str] = {}
    same_input: dict[str, str] = {}
    for text, key in zip(texts, keys):
        first = first_of.setdefault(key, text)
        if first != text:
            same_input[text] = first
    return list(first_of.values()), same_input


def _atomic_save_texts(cache: Path, texts: list[str], features: np.ndarray) -> None:
    # the features first, then the list that commits them (a reader checks both lengths match)
    with atomic_output(cache / "texts.npy") as tmp, open(tmp, "wb") as handle:
        np.save(handle, features.astype(np.float32))
    atomic_write_text(cache / "texts.json", json.dumps(texts))
