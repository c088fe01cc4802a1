"""Fixtures of the review tests: a real browser, and a dataset built with images by ccneg-build."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.data import write_image_input
from tests.review.browser import chromium  # noqa: F401  (fixture)
from tests.scale.helpers import run_ccneg_build, sample_captions


@pytest.fixture(scope="session")
def built_with_images(tmp_path_factory) -> Path:
    """``ccneg-build INPUT --images column --image-column image --out OUT``, typed as a user would."""
    folder = tmp_path_factory.mktemp("built")
    source = write_image_input(folder / "captions.parquet", sample_captions(80))
    out = folder / "out"
    done = run_ccneg_build(str(source), "--images", "column", "--image-column", "image", "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out
