"""The layout of a ccneg dataset folder: every path in it, named once.

ccneg-build writes the folder, ccneg-train's miner adds ``distractors/``, and ccneg-bench and
ccneg-train read it; all of them take the names from here, so a folder written by one
command is always found by the others. The one reader of the folder is
:mod:`ccneg_core.dataset`; what may be written or deleted is :mod:`ccneg_build.outdir`.

::

    OUT/
      README.md, manifest.json         dataset card, how the folder was made and every published file
      data/{split}-NNNNN-of-NNNNN-{publication}.parquet       accepted rows; the file name states the split
      rejected/rejected-NNNNN-of-NNNNN-{publication}.parquet  rejected rows with their reasons
      splits/{split}-{publication}.txt  the ids of each split, one per line

``{publication}`` is the publication id (:mod:`ccneg_build.publication`): 12 hex digits of a hash
of everything one publication wrote, so files of two publications never share a name.
      distractors/assignments.parquet, images.parquet, manifest.json   mined distractor images
      negbench/mcq_{split}.csv, retrieval_{split}.csv, images/   --style negbench: NegBench's CSV layout
      .ccneg/                          run state: run.json, written.json, lock, publishing.json, parts/, images/
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
#: Present while a publication is under way (from its first staged file to its last clean-up):
#: a folder holding it was left by a build killed while publishing, which ``push`` refuses.
PUBLISHING = Path(STATE_DIR) / "publishing.json"
#: Working state of a run: every file in these folders is ours (parts, image stores).
WORK_DIRS = (Path(STATE_DIR) / "parts", Path(STATE_DIR) / "images", Path(STATE_DIR) / "negbench")
#: What ``--style negbench`` writes next to ``data/``: NegBench's CSV files and the images they name.
NEGBENCH_DIR = "negbench"
#: Review pages and judgments (`ccneg-build review`): a reviewer's notes on the data, not the
#: data, so never uploaded.
REVIEW_DIR = "review"

#: Hex digits of a publication id (the suffix every published file name carries).
PUBLICATION_ID_LENGTH = 12
#: ``{split}-NNNNN-of-NNNNN[-{publication}].parquet``: the split is everything before the shard numbers.
_SHARD_NAME = re.compile(rf"^(?P<split>.+?)-\d+-of-\d+(?:-[0-9a-f]{{{PUBLICATION_ID_LENGTH}}})?\.parquet$")


def shard_name(prefix: str, index: int, count: int) -> str:
    """The file name of shard ``index`` of ``count`` (``prefix`` is a split name or ``rejected``)."""
    return f"{prefix}-{index:05d}-of-{count:05d}.parquet"


def split_of_file(path: str | Path) -> str | None:
    """The split a ``data/`` file holds, read from its name; None for a name without one."""
    match = _SHARD_NAME.match(Path(path).name)
    return match.group("split") if match else None


def split_list(split: str) -> str:
    """The id list of ``split`` (relative to the folder) before the publication id is added."""
    return f"{SPLITS_DIR}/{split}.txt"


def published_name(name: str, publication: str) -> str:
    """``name`` (a relative POSIX path) with the publication id before its extension.

    ``data/train-00000-of-00003.parquet`` -> ``data/train-00000-of-00003-1a2b3c4d5e6f.parquet``,
    ``splits/train.txt`` -> ``splits/train-1a2b3c4d5e6f.txt``.
    """
    folder, _, base = name.rpartition("/")
    stem, dot, extension = base.partition(".")
    return f"{folder}/{stem}-{publication}{dot}{extension}" if folder else f"{stem}-{publication}{dot}{extension}"


#: Files ccneg-build writes into every dataset folder besides the Parquet files (the id lists
#: under their names before publication ids existed, so ``--overwrite`` removes those too).
FIXED_FILES = (CARD, MANIFEST, split_list("train"), split_list("eval"))
