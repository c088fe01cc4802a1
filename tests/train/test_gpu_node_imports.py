"""ccneg-train needs nothing on a GPU node beyond its torch stack and benchmarks/gpu_wheels.sh's wheels.

The node the GPU check runs on has no package index: Python with torch, torchvision,
transformers, pyarrow and pandas (and whatever those depend on), plus the pure wheels that
``benchmarks/gpu_wheels.sh`` downloads. A fresh interpreter mines distractors, trains with
evaluation and export and scores the export, all through the command-line entry points; every
module that ccneg's own code imported on the way must come from one of those distributions (a
third party's optional imports, such as timm's of wandb, are its business). What open_clip
requires is checked against the wheel list through the declared requirements. A new import of
spaCy, datasets, matplotlib or anything else on the training path fails here, before it fails on
the node.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.helpers.data import make_rows, write_rows
from tests.helpers.tiny_models import tiny_open_clip_config

REPO = Path(__file__).resolve().parents[2]
NODE_PACKAGES = ("torch", "torchvision", "transformers", "pyarrow", "pandas")
OURS = {"ccneg_core", "ccneg_build", "ccneg_bench", "benchmarks", "tests"}

CHILD = """
import json, os, sys

FIRST = {}  # top-level module -> the file whose code imported it first


class Witness:
    \"\"\"Records who asks for each top-level module; finds nothing itself.\"\"\"

    def find_spec(self, name, path=None, target=None):
        if path is None and name not in FIRST:
            frame = sys._getframe(1)
            while frame and (frame.f_code.co_filename.startswith("<frozen")
                             or frame.f_code.co_filename.endswith(os.path.join("importlib", "__init__.py"))):
                frame = frame.f_back
            FIRST[name] = frame.f_code.co_filename if frame else ""
        return None


sys.meta_path.insert(0, Witness())
from ccneg_bench.train.cli import main as train
from ccneg_bench.cli import main as bench
data, out, model = sys.argv[1:4]
assert train(["mine-distractors", "--data", data, "--pool", data, "--model", model, "--workers", "0"]) == 0
assert train(["--model", model, "--data", data, "--out", out + "/run", "--device", "cpu", "--batch-size", "8",
              "--max-steps", "2", "--warmup-steps", "1", "--workers", "0"]) == 0
assert bench(["--model", "open_clip:" + out + "/run/export", "--dataset", data, "--task", "ccneg",
              "--task", "ccneg-balanced", "--output", out + "/results"]) == 0
print("IMPORTED " + json.dumps(FIRST))
"""


def wheel_packages() -> list[str]:
    """The distributions gpu_wheels.sh downloads (its PACKAGES list)."""
    script = (REPO / "benchmarks" / "gpu_wheels.sh").read_text(encoding="utf-8")
    block = re.search(r"^PACKAGES=\((.*?)^\)", script, flags=re.S | re.M)
    assert block, "benchmarks/gpu_wheels.sh has no PACKAGES=( ... ) list"
    return [line.split("==")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def requirement_closure(names: list[str]) -> set[str]:
    """``names`` and everything they require (no extras), as installed here."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen


def test_the_wheel_list_is_what_open_clip_needs_beyond_the_node() -> None:
    wheels = {canonicalize_name(n) for n in wheel_packages()}
    assert "torch" not in wheels and "torchvision" not in wheels
    assert {"open-clip-torch", "ftfy", "wcwidth"} <= wheels
    node = requirement_closure(list(NODE_PACKAGES))
    needed = requirement_closure(["open_clip_torch"]) - node
    assert needed == wheels, f"open_clip needs {sorted(needed)} beyond the node; gpu_wheels.sh has {sorted(wheels)}"


def test_training_imports_only_the_node_stack_and_the_wheels(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_rows(data, make_rows(24, split="train", source="train-src", seed=0), "train")
    write_rows(data, make_rows(8, split="eval", source="eval-src", seed=1), "eval")
    model = f"open_clip:{tiny_open_clip_config(tmp_path / 'model')}"
    done = subprocess.run([sys.executable, "-c", CHILD, str(data), str(tmp_path / "out"), model],
                          capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    first_importer = json.loads(done.stdout.rsplit("IMPORTED ", 1)[1])

    allowed = requirement_closure(list(NODE_PACKAGES)) | {canonicalize_name(n) for n in wheel_packages()}
    owners = metadata.packages_distributions()
    ours = tuple(str(REPO / package) for package in ("ccneg_core", "ccneg_build", "ccneg_bench"))
    foreign = {}
    for module, importer in first_importer.items():
        if not importer.startswith(ours) or module in sys.stdlib_module_names or module in OURS:
            continue  # a third party's own (often optional) imports are its business
        dists = {canonicalize_name(d) for d in owners.get(module, [])}
        if not dists & allowed:
            foreign[module] = f"{Path(importer).relative_to(REPO)} ({', '.join(sorted(dists)) or 'not installed'})"
    assert "ccneg_bench" in first_importer and "open_clip" in first_importer
    assert foreign == {}, f"ccneg's training path imports what a GPU node lacks: {foreign}"
