"""CIFAR-10/100 in their "python version" layout, read without running any pickled code.

The official archives (``cifar-10-batches-py/`` with ``test_batch``, ``data_batch_1..5``,
``batches.meta``; ``cifar-100-python/`` with ``test``, ``train``, ``meta``) are Python pickles.
Unpickling can run arbitrary code, and a folder a user downloaded is untrusted, so these files
are read with :class:`RestrictedUnpickler`: it builds the plain containers the format uses
(dicts, lists, strings, numbers) and numpy arrays, and refuses every other global. torchvision
is not used because it checks each file's MD5 and downloads on mismatch.
"""

from __future__ import annotations

import io
import os
import pickle
from dataclasses import dataclass
from typing import Any

import numpy as np

from ccneg_bench.datasets.base import ImageTable, digest, even_chunks

#: the only globals a CIFAR pickle needs: numpy's array reconstruction (numpy 1 and 2 names),
#: and ``_codecs.encode``, with which protocol-2 pickles written by Python 3 rebuild ``bytes``
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
}
LAYOUTS = {
    "cifar10": ("cifar-10-batches-py", {"test": ["test_batch"], "train": [f"data_batch_{i}" for i in range(1, 6)]},
                "batches.meta", "label_names", "labels"),
    "cifar100": ("cifar-100-python", {"test": ["test"], "train": ["train"]}, "meta", "fine_label_names", "fine_labels"),
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that only rebuilds numpy arrays besides builtin containers."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: a CIFAR file holds only arrays and lists")
        if module == "_codecs":
            import codecs

            return codecs.encode
        if name == "_reconstruct":
            try:
                from numpy._core.multiarray import _reconstruct  # numpy >= 2
            except ImportError:  # pragma: no cover - numpy 1
                from numpy.core.multiarray import _reconstruct
            return _reconstruct
        return getattr(np, name)


def _load(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            value = RestrictedUnpickler(handle, encoding="latin1").load()
    except OSError as err:
        raise ValueError(f"{path}: cannot read ({err.strerror or err})") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
        raise ValueError(f"{path}: not a CIFAR python-version file ({err})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path}: expected a dict, got {type(value).__name__}")
    return {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in value.items()}


def find_layout(path: str) -> tuple[str, str]:
    """(``cifar10`` | ``cifar100``, the folder holding the batch files) for a root or the folder itself."""
    for name, (folder, _, meta, _, _) in LAYOUTS.items():
        for candidate in (os.path.join(path, folder), path):
            if os.path.isfile(os.path.join(candidate, meta)):
                return name, candidate
    raise ValueError(f"{path}: no CIFAR python-version folder here (expected cifar-10-batches-py/ or cifar-100-python/)")


@dataclass
class CifarSplit:
    name: str
    class_names: list[str]
    pixels: np.ndarray  # (N, 32, 32, 3) uint8
    labels: list[int]
    files: list[str]


def read_cifar(path: str, split: str = "test") -> CifarSplit:
    name, folder = find_layout(path)
    _, splits, meta_file, names_key, labels_key = LAYOUTS[name]
    if split not in splits:
        raise ValueError(f"{name} has splits test and train, not {split!r}")
    meta = _load(os.path.join(folder, meta_file))
    class_names = [n.decode() if isinstance(n, bytes) else str(n) for n in meta.get(names_key) or []]
    if not class_names:
        raise ValueError(f"{os.path.join(folder, meta_file)}: no {names_key!r} list")
    arrays, labels, files = [], [], []
    for batch in splits[split]:
        file = os.path.join(folder, batch)
        data = _load(file)
        if "data" not in data or labels_key not in data:
            raise ValueError(f"{file}: missing 'data' or {labels_key!r}")
        block = np.asarray(data["data"], dtype=np.uint8)
        if block.ndim != 2 or block.shape[1] != 3072 or len(data[labels_key]) != len(block):
            raise ValueError(f"{file}: expected N x 3072 pixels and N labels, got {block.shape} and {len(data[labels_key])}")
        arrays.append(block.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.extend(int(v) for v in data[labels_key])
        files.append(file)
    return CifarSplit(name=name, class_names=class_names, pixels=np.concatenate(arrays), labels=labels, files=files)


class ArrayImageTable(ImageTable):
    """In-memory uint8 images handed to the decoder as PNG bytes (one safe decoding path for all)."""

    def __init__(self, pixels: np.ndarray, ids: list[str], files: list[str]) -> None:
        self.pixels = pixels
        self.ids = ids
        self.files = files
        self.root = None

    def chunks(self, size: int) -> list[tuple[int, int]]:
        return even_chunks(len(self.ids), size)

    def read_refs(self, start: int, stop: int) -> list[Any]:
        from PIL import Image

        refs = []
        for array in self.pixels[start:stop]:
            buffer = io.BytesIO()
            Image.fromarray(array).save(buffer, format="PNG", compress_level=0)
            refs.append({"bytes": buffer.getvalue(), "path": None})
        return refs

    def fingerprint(self) -> str:
        return digest([[(f, os.path.getsize(f), os.stat(f).st_mtime_ns) for f in self.files], len(self.ids)])
