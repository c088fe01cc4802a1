"""Images as files on disk for the public benchmarks: path resolution and an image table.

Why a module of its own: NegBench stores absolute paths from its authors' machine, SugarCREPE
bare COCO file names, CREPE Visual Genome ids plus a crop box. All of them end up as "a file
somewhere under the user's image folder", found by :func:`resolve_under` and read through one
:class:`FileImageTable` whose fingerprint changes when a file is replaced (size, mtime).
"""

from __future__ import annotations

import os
from typing import Any, Sequence

from ccneg_bench.datasets.base import ImageTable, digest, even_chunks


def resolve_under(original: str, image_root: str | None, base: str) -> str:
    """The local file for a path written in a benchmark file.

    With ``image_root``: the longest tail of ``original`` that exists under it
    (``/authors/data/coco/val2017/x.jpg`` finds ``ROOT/coco/val2017/x.jpg``, ``ROOT/val2017/x.jpg``
    or ``ROOT/x.jpg``, in that order); an existing absolute path is used as it is. Without it, a
    relative path is taken relative to ``base`` (the benchmark file's folder). When nothing
    exists the most likely candidate is returned, so that the sample fails as ``missing_image``
    naming the path that was tried.
    """
    normal = original.strip().replace("\\", "/")
    if os.path.isabs(normal) and os.path.exists(normal):
        return normal
    if image_root is None:
        return normal if os.path.isabs(normal) else os.path.join(base, normal)
    parts = [p for p in normal.split("/") if p and p not in (".", "..")]
    for first in range(len(parts)):
        candidate = os.path.join(image_root, *parts[first:])
        if os.path.exists(candidate):
            return candidate
    return os.path.join(image_root, *parts[-1:]) if parts else image_root


class FileImageTable(ImageTable):
    """One image file per row, optionally cropped to a box ``(x, y, width, height)``."""

    def __init__(self, paths: Sequence[str], ids: Sequence[str],
                 crops: Sequence[tuple[int, int, int, int] | None] | None = None) -> None:
        self.paths = [os.path.abspath(p) for p in paths]
        self.ids = list(ids)
        self.crops = list(crops) if crops is not None else [None] * len(self.paths)
        self.root = None

    def chunks(self, size: int) -> list[tuple[int, int]]:
        return even_chunks(len(self.paths), size)

    def read_refs(self, start: int, stop: int) -> list[Any]:
        refs: list[Any] = []
        for path, crop in zip(self.paths[start:stop], self.crops[start:stop]):
            ref: dict[str, Any] = {"bytes": None, "path": path}
            if crop is not None:
                ref["crop"] = crop
            refs.append(ref)
        return refs

    def fingerprint(self) -> str:
        stats = []
        for path in self.paths:
            try:
                stat = os.stat(path)
                stats.append((path, stat.st_size, stat.st_mtime_ns))
            except OSError:
                stats.append((path, None, None))
        return digest([stats, self.crops])
