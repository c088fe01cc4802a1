"""Speed of ``ccneg-bench`` against a plain re-implementation of the released evaluation loop.

Same model, same generated data, same batch size and worker count, in the same run:

1. the released loop (per batch: encode images, captions and negated captions at full
   77-token context, B x B similarity matrices, diagonal);
2. ``ccneg_bench.evaluate`` with an empty feature cache (cold);
3. the same call again (warm cache);
4. peak memory of ``evaluate`` on N and 4N samples (child processes), to show that memory does
   not grow with the number of samples beyond the feature arrays.

It prints images/s, the ratios, both accuracies and whether the predictions are identical.
Random weights are used (no download): the compute per image is that of the real model.

    python benchmarks/bench_eval.py                      # ViT-B-32, 256 samples
    python benchmarks/bench_eval.py --model open_clip:ViT-B-16 --samples 512 --workers 4
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def photo_like(index: int, size: tuple[int, int] = (500, 375)) -> bytes:
    """A JPEG the size of a typical CC3M image (smooth gradients plus shapes, not flat colour)."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(index)
    w, h = size
    x, y = np.meshgrid(np.linspace(0, 1, w), np.linspace(0, 1, h))
    base = np.stack([x * rng.uniform(50, 255), y * rng.uniform(50, 255), (x + y) / 2 * rng.uniform(50, 255)], -1)
    base += rng.normal(0, 12, base.shape)
    image = Image.fromarray(base.clip(0, 255).astype("uint8"))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        a, b = int(rng.integers(0, w - 60)), int(rng.integers(0, h - 60))
        draw.ellipse((a, b, a + int(rng.integers(20, 150)), b + int(rng.integers(20, 150))),
                     fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def cc3m_captions() -> list[str]:
    """Real CC3M captions shipped with ccneg-build (realistic lengths matter: text is half the work)."""
    path = ROOT / "ccneg_build" / "data" / "cc3m_sample.tsv"
    return [line.split("\t")[0].strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def negate(caption: str) -> str:
    """A crude negation for timing purposes only: "not" before the first preposition."""
    for word in (" on ", " in ", " with ", " at ", " of "):
        if word in caption:
            return caption.replace(word, " not" + word, 1)
    return caption + " without people"


def make_dataset(folder: Path, n: int) -> Path:
    from tests.helpers.data import make_rows, write_rows

    rows = make_rows(n)
    captions = cc3m_captions()
    for i, row in enumerate(rows):
        row["image"] = {"bytes": photo_like(i), "path": None}
        row["caption"] = captions[i % len(captions)] + ("" if i < len(captions) else f" ({i})")
        row["negated_caption"] = negate(row["caption"])
    write_rows(folder, rows, "eval", row_group_size=128)
    return folder


def memory_child(n: int, workdir: str) -> None:
    """Run evaluate on n samples with the tiny model; print peak RSS (self and workers) as JSON."""
    import ccneg_bench
    from tests.helpers.data import write_ccneg_folder
    from tests.helpers.tiny_models import tiny_open_clip_config

    folder = write_ccneg_folder(Path(workdir) / f"mem{n}", n=n, row_group_size=256)
    config = tiny_open_clip_config(Path(workdir))
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = ccneg_bench.evaluate(f"open_clip:{config}", str(folder), ["ccneg", "retrieval"], workers=2,
                                  batch_size=64, cache_dir=Path(workdir) / f"cache{n}", progress=False)
    print(json.dumps({
        "n": n,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_mb": baseline / 1024,
        "worker_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "accuracy": result[0]["metrics"]["accuracy"],
    }))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="open_clip:ViT-B-32", help="model spec (random weights unless --pretrained)")
    parser.add_argument("--pretrained", default=None)
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2,
                        help="alternate baseline and cold runs this many times; report the fastest of each "
                        "(shared machines are noisy)")
    parser.add_argument("--memory-samples", type=int, default=1000, help="N for the memory check (and 4N)")
    parser.add_argument("--memory-child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, args.workdir)
        return 0

    import torch

    import ccneg_bench
    from ccneg_bench.datasets import load_eval_dataset
    from ccneg_bench.models.registry import load_model
    from tests.helpers.released_loop import released_scores

    torch.manual_seed(0)
    print(f"torch threads: {torch.get_num_threads()}, cpu count: {os.cpu_count()}, device: cpu")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        make_dataset(work / "data", args.samples)
        dataset = load_eval_dataset(str(work / "data"), split="eval")
        adapter = load_model(args.model, pretrained=args.pretrained)

        import shutil

        released_times, cold_times = [], []
        captions = [s.caption for s in dataset.samples]
        negated = [s.negated_caption for s in dataset.samples]
        for repeat in range(args.repeats):
            started = time.perf_counter()
            refs = dataset.images.read_refs(0, len(dataset.images))  # the baseline reads its images too
            images = [r["bytes"] if r.get("bytes") else os.path.join(dataset.images.root or "", r["path"]) for r in refs]
            reference = released_scores(adapter.model, adapter.preprocess, adapter.tokenizer, images, captions, negated,
                                        batch_size=args.batch_size, workers=args.workers)
            released_times.append(time.perf_counter() - started)
            shutil.rmtree(work / "cache", ignore_errors=True)
            started = time.perf_counter()
            cold = ccneg_bench.evaluate(adapter, dataset, ["ccneg"], batch_size=args.batch_size, workers=args.workers,
                                        cache_dir=work / "cache", output_dir=work / "out", save_predictions=True,
                                        progress=False)[0]
            cold_times.append(time.perf_counter() - started)
        released_seconds = min(released_times)
        started = time.perf_counter()
        warm = ccneg_bench.evaluate(adapter, dataset, ["ccneg"], batch_size=args.batch_size, workers=args.workers,
                                    cache_dir=work / "cache", output_dir=work / "out", progress=False)[0]
        runs = {"cold": (min(cold_times), cold), "warm": (time.perf_counter() - started, warm)}
        print("all timings (s): released " + ", ".join(f"{t:.1f}" for t in released_times)
              + "; cold " + ", ".join(f"{t:.1f}" for t in cold_times))

        import pyarrow.parquet as pq

        ours = pq.read_table(runs["cold"][1]["predictions"]).column("correct").to_pylist()
        n = len(dataset.samples)
        released_ips = n / released_seconds
        cold_ips, warm_ips = n / runs["cold"][0], n / runs["warm"][0]
        print(f"model {args.model} (random weights), {n} samples (500x375 JPEG, real CC3M captions), batch {args.batch_size}, "
              f"{args.workers} workers, best of {args.repeats}")
        print(f"{'run':<28}{'seconds':>9}{'images/s':>11}{'accuracy':>10}")
        print(f"{'released loop (baseline)':<28}{released_seconds:>9.2f}{released_ips:>11.1f}{100 * sum(reference) / n:>9.2f}%")
        for label in ("cold", "warm"):
            seconds, result = runs[label]
            print(f"{'ccneg-bench ' + label + ' cache':<28}{seconds:>9.2f}{n / seconds:>11.1f}{100 * result['metrics']['accuracy']:>9.2f}%")
        print(f"speed-up cold vs released loop: {cold_ips / released_ips:.2f}x (target >= 1.5x)")
        print(f"speed-up warm vs cold:          {warm_ips / cold_ips:.2f}x (target >= 5x)")
        print(f"predictions identical to the released loop: {ours == reference} "
              f"({sum(a != b for a, b in zip(ours, reference))} differ)")

        sizes = [args.memory_samples, 4 * args.memory_samples]
        peaks = []
        for size in sizes:
            out = subprocess.run([sys.executable, __file__, "--memory-child", str(size), "--workdir", tmp],
                                 capture_output=True, text=True, check=True)
            peaks.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print("peak memory (tiny model, ccneg + retrieval, 2 workers):")
        for peak in peaks:
            print(f"  n={peak['n']:>6}: main process {peak['peak_rss_mb']:.0f} MB, largest worker {peak['worker_peak_rss_mb']:.0f} MB")
        growth = peaks[1]["peak_rss_mb"] - peaks[0]["peak_rss_mb"]
        print(f"  growth for {sizes[1] - sizes[0]} more samples: {growth:.1f} MB "
              f"(features alone: {(sizes[1] - sizes[0]) * 32 * 4 * 3 / 2**20:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
