"""Fixtures of the review tests: a real browser, and a dataset built with images by ccneg-build."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.helpers.data import draw_image
from tests.review.browser import chromium  # noqa: F401  (fixture)
from tests.scale.helpers import run_ccneg_build, sample_captions


def write_image_input(path: Path, n: int, size: int = 64) -> Path:
    """A Parquet input of ``n`` real CC3M captions with a generated picture each."""
    captions = sample_captions(n)
    images = [{"bytes": draw_image(i, size=size), "path": f"{i:04d}.png"} for i in range(n)]
    table = pa.table({"caption": captions, "image": images})
    pq.write_table(table, path)
    return path


@pytest.fixture(scope="session")
def built_with_images(tmp_path_factory) -> Path:
    """``ccneg-build INPUT --images column --image-column image --out OUT``, typed as a user would."""
    folder = tmp_path_factory.mktemp("built")
    source = write_image_input(folder / "captions.parquet", 80)
    out = folder / "out"
    done = run_ccneg_build(str(source), "--images", "column", "--image-column", "image", "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out
