"""The layout of a ccneg dataset folder: every path in it, named once.

ccneg-build writes the folder, ccneg-train's miner adds ``distractors/``, and ccneg-bench and
ccneg-train read it; all of them take the names from here, so a folder written by one
command is always found by the others. The one reader of the folder is
:mod:`ccneg_core.dataset`; what may be written or deleted is :mod:`ccneg_build.outdir`.

::

    OUT/
      README.md, manifest.json         dataset card, how the folder was made
      data/{split}-NNNNN-of-NNNNN.parquet       accepted rows; the file name states the split
      rejected/rejected-NNNNN-of-NNNNN.parquet  rejected rows with their reasons
      splits/{split}.txt               the ids of each split, one per line
      distractors/assignments.parquet, images.parquet, manifest.json   mined distractor images
      negbench/mcq_{split}.csv, retrieval_{split}.csv, images/   --style negbench: NegBench's CSV layout
      .ccneg/                          run state: run.json, written.json, lock, parts/, images/
"""

from __future__ import annotations

import re
from pathlib import Path

CARD = "README.md"
MANIFEST = "manifest.json"
DATA_DIR = "data"
REJECTED_DIR = "rejected"
SPLITS_DIR = "splits"

#: What ``mine-distractors`` writes next to ``data/``.
DISTRACTOR_DIR = "distractors"
ASSIGNMENTS_FILE = "assignments.parquet"
POOL_IMAGES_FILE = "images.parquet"

#: NegBench-style files, in NegBench's own CSV column layout (``ccneg-build --style negbench``).
NEGBENCH_DIR = "negbench"


def negbench_mcq_file(split: str) -> str:
    """The NegBench MCQ file of ``split`` (relative to the folder)."""
    return f"{NEGBENCH_DIR}/mcq_{split}.csv"


STATE_DIR = ".ccneg"
RUN_RECORD = Path(STATE_DIR) / "run.json"
LEDGER = Path(STATE_DIR) / "written.json"
LOCK = Path(STATE_DIR) / "lock"
#: Working state of a run: every file in these folders is ours (parts, image stores).
WORK_DIRS = (Path(STATE_DIR) / "parts", Path(STATE_DIR) / "images", Path(STATE_DIR) / "negbench")
#: What ``--style negbench`` writes next to ``data/``: NegBench's CSV files and the images they name.
NEGBENCH_DIR = "negbench"
#: Review pages and judgments (`ccneg-build review`): a reviewer's notes on the data, not the
#: data, so never uploaded.
REVIEW_DIR = "review"

#: ``{split}-NNNNN-of-NNNNN.parquet``: the split is everything before the shard numbers.
_SHARD_NAME = re.compile(r"^(?P<split>.+?)-\d+-of-\d+\.parquet$")


def shard_name(prefix: str, index: int, count: int) -> str:
    """The file name of shard ``index`` of ``count`` (``prefix`` is a split name or ``rejected``)."""
    return f"{prefix}-{index:05d}-of-{count:05d}.parquet"


def split_of_file(path: str | Path) -> str | None:
    """The split a ``data/`` file holds, read from its name; None for a name without one."""
    match = _SHARD_NAME.match(Path(path).name)
    return match.group("split") if match else None


def split_list(split: str) -> str:
    """The id list of ``split`` (relative to the folder)."""
    return f"{SPLITS_DIR}/{split}.txt"


#: Files ccneg-build writes into every dataset folder besides the Parquet files.
FIXED_FILES = (CARD, MANIFEST, split_list("train"), split_list("eval"))
