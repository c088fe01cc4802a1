"""Training throughput: frozen-tower feature caching against the uncached path, same run.

Both paths run the real training step (``ccneg_bench.train.loop.Trainer``: data loading,
forward, backward, optimiser) with the same model, data, batch and precision, image tower
locked as in the paper; the only difference is ``--cache-features on`` vs ``off``. Reported:
median samples/s of each over the timed steps (the first step excluded), also per CPU-second
of this process (robust when the machine is shared), their ratios, and the one-off cost of
building the cache.

    python benchmarks/bench_train.py                        # ViT-B-32, random weights, CPU
    python benchmarks/bench_train.py --device cuda --batch-size 200 --steps 20

No weights are downloaded (``--pretrained none`` by default): throughput does not depend on
the weight values. Writes a JSON result to ``--json`` (or ``$OUT/bench_train.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks.shapes, when run as a script

from benchmarks.shapes.world import write_shapes_dataset
from ccneg_bench.mining import mine_distractors
from ccneg_bench.train.config import TrainConfig
from ccneg_bench.train.loop import Trainer


def _run(args: argparse.Namespace, data: Path, out: Path, cache: str) -> dict:
    """Set up a trainer, then time ``--steps`` real optimiser steps (data loading included)."""
    cfg = TrainConfig(
        model=args.model, pretrained=None if args.pretrained == "none" else args.pretrained, data=str(data),
        out=str(out), loss=args.loss, batch_size=args.batch_size, max_steps=args.steps + 1, epochs=1,
        warmup_steps=1, lock_image=True, cache_features=cache, workers=args.workers, device=args.device,
        precision=args.precision, save_every=0, eval_at_end=False, export=False,
    )
    started = time.perf_counter()
    trainer = Trainer(cfg)
    trainer.set_up()
    setup_s = time.perf_counter() - started
    batches = trainer.micro_batches()
    wall, cpu = [], []
    for step in range(args.steps + 1):  # step 0 warms up and is not timed
        w0, c0 = time.perf_counter(), time.process_time()
        micros = [next(batches) for _ in range(cfg.accum_steps)]
        trainer.step_loss_and_backward(micros)
        trainer.optimizer_step(step)
        if trainer.device.type == "cuda":
            import torch

            torch.cuda.synchronize()
        if step:
            wall.append(time.perf_counter() - w0)
            cpu.append(time.process_time() - c0)
    trainer.close()
    return {
        "samples_per_s": args.batch_size / statistics.median(wall),
        "samples_per_cpu_s": args.batch_size / statistics.median(cpu),
        "step_wall_s": wall, "step_cpu_s": cpu, "setup_s": setup_s, "cache": trainer.cache_stats,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="open_clip:ViT-B-32")
    parser.add_argument("--pretrained", default="none")
    parser.add_argument("--loss", default="conclip", choices=("conclip", "clip"))
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--workers", type=int, default=0,
                        help="decoding workers (0: decoding is counted in this process's CPU time too)")
    parser.add_argument("--json", default=None, help="result file (default $OUT/bench_train.json when OUT is set)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench_train_") as tmp:
        work = Path(tmp)
        n = args.batch_size * args.steps
        data = write_shapes_dataset(work / "world", n, 8, seed=0)
        t = time.perf_counter()
        mine_distractors(str(data), str(data), model=args.model, pretrained=None if args.pretrained == "none" else args.pretrained,
                         split="train", pool_split="train", device=args.device, workers=args.workers, progress=False)
        mining_s = time.perf_counter() - t
        uncached = _run(args, data, work / "uncached", "off")
        cached = _run(args, data, work / "cached", "on")

    ratio = cached["samples_per_s"] / uncached["samples_per_s"]
    cpu_ratio = cached["samples_per_cpu_s"] / uncached["samples_per_cpu_s"]
    build_s = cached["setup_s"] - uncached["setup_s"]
    result = {
        "model": args.model, "loss": args.loss, "batch_size": args.batch_size, "steps": args.steps,
        "device": args.device, "precision": args.precision, "mining_s": mining_s,
        "uncached": uncached, "cached": cached, "ratio_wall": ratio, "ratio_cpu": cpu_ratio,
        "cache_build_s": build_s,
    }
    print(f"model {args.model}  loss {args.loss}  batch {args.batch_size}  device {args.device}  image tower locked")
    print(f"uncached: {uncached['samples_per_s']:8.2f} samples/s  {uncached['samples_per_cpu_s']:8.2f} samples/CPU-s")
    print(f"cached:   {cached['samples_per_s']:8.2f} samples/s  {cached['samples_per_cpu_s']:8.2f} samples/CPU-s"
          f"   (cache built once in {build_s:.1f} s)")
    print(f"ratio cached / uncached: {ratio:.2f}x wall clock, {cpu_ratio:.2f}x CPU time")
    target = args.json or (os.path.join(os.environ["OUT"], "bench_train.json") if os.environ.get("OUT") else None)
    if target:
        Path(target).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
