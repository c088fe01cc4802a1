"""Memory does not grow with the input: 10x more rows, about the same peak memory.

Runs the real pipeline in fresh processes with the small test backend (regex-based, so
the test is fast and the peak is the pipeline's own, not a parser's).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

RUNNER = """
import json, resource, sys
from ccneg_build import cli
from ccneg_build.negators import registry
registry.register("suffix", "tests.build.plugin_negator:SuffixNegator")
code = cli.main([sys.argv[1], "--out", sys.argv[2], "--backend", "suffix", "--shard-size", "2000",
                 "--eval-size", "500", "--rows-per-file", "20000", "--no-progress"])
print(json.dumps({"code": code, "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _peak_kib(rows: int, tmp_path: Path) -> int:
    path = tmp_path / f"in_{rows}.tsv"
    with path.open("w", encoding="utf-8") as handle:
        for i in range(rows):
            handle.write(f"a dog number {i} sitting on a couch in the living room\thttp://x/{i}.jpg\n")
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(path), str(tmp_path / f"out_{rows}")],
                          capture_output=True, text=True, timeout=600, cwd=REPO,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["code"] == 0
    manifest = json.loads((tmp_path / f"out_{rows}" / "manifest.json").read_text())
    assert manifest["counts"]["rows_read"] == rows and manifest["counts"]["splits"]["eval"] == 500
    return result["peak_kib"]


def test_peak_memory_is_flat_in_the_input_size(tmp_path: Path) -> None:
    small = _peak_kib(8_000, tmp_path)
    large = _peak_kib(80_000, tmp_path)
    # 72,000 more rows of ~150 bytes would be > 10 MB if rows were kept; allow noise only
    assert large - small < 10 * 1024, (small, large)
