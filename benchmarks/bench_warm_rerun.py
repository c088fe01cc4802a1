"""A warm rerun of ``ccneg-bench`` (every feature cached) against its cold run, as whole processes.

Same command twice on the same generated dataset (a ccneg-build folder with one picture per
sample) and the same feature cache, each as a whole process (start-up, imports, argument checks,
dataset reading, model build, decoding, encoding, scoring, writing):

1. cold: an empty feature cache, so the model is built and every image and caption encoded;
2. warm: every feature is cached, so the model is never built (the command says so; the
   script fails if it did build, or if the two runs' metrics differ).

It prints the seconds of each and the ratio.

    python benchmarks/bench_warm_rerun.py                      # ViT-B-32 random weights, 300 samples
    python benchmarks/bench_warm_rerun.py --samples 600 --model open_clip:ViT-B-16
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(command: list[str]) -> tuple[float, str]:
    """Seconds of one whole process, and its standard output."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def metrics(folder: Path) -> dict[str, dict]:
    return {path.name: json.loads(path.read_text())["metrics"] for path in sorted(folder.glob("*.json"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="open_clip:ViT-B-32")
    parser.add_argument("--pretrained", default="none")
    parser.add_argument("--samples", type=int, default=300, help="samples with images (default 300)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    from tests.helpers.data import write_ccneg_folder

    with tempfile.TemporaryDirectory(prefix="bench_warm_") as tmp:
        folder = Path(tmp)
        data = write_ccneg_folder(folder / "data", n=args.samples)
        command = [sys.executable, "-m", "ccneg_bench.cli", "--model", args.model, "--pretrained", args.pretrained,
                   "--dataset", str(data), "--cache-dir", str(folder / "cache"), "--workers", str(args.workers),
                   "--device", args.device]
        cold, cold_out = timed(command + ["--output", str(folder / "cold")])
        warm, warm_out = timed(command + ["--output", str(folder / "warm")])
        if f"{args.model}: built" not in cold_out or f"{args.model}: not built" not in warm_out:
            sys.exit(f"the cold run should build the model and the warm one not:\n{cold_out}\n{warm_out}")
        if metrics(folder / "cold") != metrics(folder / "warm"):
            sys.exit("the warm run's metrics differ from the cold run's")
    print(f"model {args.model} ({args.pretrained}), {args.samples} samples with images, device {args.device}, "
          f"workers {args.workers}")
    print(f"cold (model built, every image and caption encoded): {cold:.1f} s")
    print(f"warm (every feature cached, model not built):        {warm:.1f} s  ({cold / warm:.2f}x faster)")


if __name__ == "__main__":
    main()
