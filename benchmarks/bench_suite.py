"""``ccneg-bench suite`` against one cold ``ccneg-bench`` process per benchmark, and its warm rerun.

Same model (random weights: no download; the compute per image is the real model's), same
generated data in the benchmarks' released layouts (NegBench MCQ-Neg, SugarCREPE, CREPE,
CIFAR-10), same options, measured in one run, each as a whole process (start-up, imports,
model build, decoding, encoding, scoring, writing):

1. one cold process per benchmark, each with an empty feature cache (how one scores today);
2. ``ccneg-bench suite`` over all of them, cold (one process, one model, one cache);
3. the same suite again, warm: every feature is cached, so the model is never built.

It prints the seconds and the ratios (per-benchmark processes / cold suite, cold suite / warm
suite).

    python benchmarks/bench_suite.py                         # ViT-B-32, about 160 images
    python benchmarks/bench_suite.py --model open_clip:ViT-B-16 --scale 2
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_data(folder: Path, scale: int) -> list[tuple[str, list[str], str]]:
    """Write the benchmarks; return (dataset spec, extra flags, suite-entry YAML) per benchmark."""
    from tests.helpers import benchmarks as fixtures

    negbench = fixtures.write_negbench_mcq(folder / "negbench", n=48 * scale)
    fixtures.write_sugarcrepe(folder / "sugar_crepe", n=12 * scale)
    crepe = fixtures.write_crepe(folder / "crepe", n=40 * scale)
    fixtures.write_cifar10(folder / "cifar", n=60 * scale)
    return [
        (f"negbench:{negbench.path}", ["--image-root", str(negbench.image_root)],
         f"- dataset: negbench:{negbench.path}\n  image_root: {negbench.image_root}\n"),
        (f"sugarcrepe:{folder / 'sugar_crepe'}", [], f"- dataset: sugarcrepe:{folder / 'sugar_crepe'}\n"),
        (f"crepe:{crepe.path}", ["--image-root", str(crepe.image_root)],
         f"- dataset: crepe:{crepe.path}\n  image_root: {crepe.image_root}\n"),
        (f"cifar10:{folder / 'cifar'}", [], f"- dataset: cifar10:{folder / 'cifar'}\n"),
    ]


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="open_clip:ViT-B-32")
    parser.add_argument("--pretrained", default="none")
    parser.add_argument("--scale", type=int, default=1, help="multiply the sample counts (default 1: ~160 images)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    bench = [sys.executable, "-m", "ccneg_bench.cli"]
    common = ["--model", args.model, "--pretrained", args.pretrained, "--workers", str(args.workers),
              "--device", args.device, "--no-progress"]
    with tempfile.TemporaryDirectory(prefix="bench_suite_") as tmp:
        folder = Path(tmp)
        entries = make_data(folder / "data", args.scale)
        suite = folder / "suite.yaml"
        suite.write_text("".join(e[2] for e in entries), encoding="utf-8")
        singles = []
        for number, (dataset, flags, _) in enumerate(entries):
            singles.append(timed(bench + common + ["--dataset", dataset, *flags, "--output", str(folder / "single"),
                                                   "--cache-dir", str(folder / f"cache-single-{number}")]))
        suite_command = bench + ["suite", "--suite", str(suite), "--output", str(folder / "suite"),
                                 "--cache-dir", str(folder / "cache-suite")] + common
        cold = timed(suite_command)
        warm = timed(suite_command)
    print(f"model {args.model} ({args.pretrained}), {len(entries)} benchmarks, device {args.device}")
    print(f"one cold process per benchmark: {' + '.join(f'{s:.1f}' for s in singles)} = {sum(singles):.1f} s")
    print(f"suite, cold:                    {cold:.1f} s  ({sum(singles) / cold:.2f}x faster than one process per benchmark)")
    print(f"suite, warm (model not built):  {warm:.1f} s  ({cold / warm:.2f}x faster than the cold suite, "
          f"{sum(singles) / warm:.2f}x than one process per benchmark)")


if __name__ == "__main__":
    main()
