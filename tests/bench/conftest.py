"""Fixtures for the ccneg-bench tests: a tiny open_clip config and small generated datasets."""

from __future__ import annotations

import os

import pytest

from tests.helpers.data import write_ccneg_folder
from tests.helpers.tiny_models import save_tiny_checkpoint

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory):
    """(config JSON path, seeded safetensors weights path) of the tiny open_clip model."""
    return save_tiny_checkpoint(tmp_path_factory.mktemp("tiny_clip"), seed=0)


@pytest.fixture(scope="session")
def tiny_spec(tiny_clip):
    config, weights = tiny_clip
    return f"open_clip:{config}", str(weights)


@pytest.fixture()
def ccneg_dir(tmp_path):
    return write_ccneg_folder(tmp_path / "ccneg", n=40, duplicate_every=5, row_group_size=16)
