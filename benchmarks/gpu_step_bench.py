"""Timed CoN-CLIP training steps on a GPU, one process or under ``torchrun`` (called by gpu_check.sh).

    python benchmarks/gpu_step_bench.py prepare --work DIR [--images N]
    python benchmarks/gpu_step_bench.py run --work DIR --name single [--cache on|off] [--lock-image|--no-lock-image]
    torchrun --nproc_per_node G benchmarks/gpu_step_bench.py run --work DIR --name ddp ...
    python benchmarks/gpu_step_bench.py {prepare,run} --device cpu ...   # dry run of the same code path

``prepare`` draws a shapes world (resized to the model's 224 px by its transform) and mines
distractors with the same architecture. ``run`` builds the real :class:`Trainer` (random
ViT-B-32 weights: speed does not depend on their values), times ``--steps`` optimiser steps
after one warm-up step, and prints and writes (rank 0) a JSON line: global samples/s, median
step time, and the peak GPU memory of the busiest rank. ``--device cpu`` runs the same code on
the CPU (no timing worth reporting): gpu_check.sh's dry run, which proves an installation before
GPU time is spent on it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks.shapes, when run as a script

from ccneg_bench.train.config import TrainConfig
from ccneg_bench.train.loop import Trainer


def prepare(args: argparse.Namespace) -> None:
    from ccneg_bench.mining import mine_distractors
    from benchmarks.shapes.world import write_shapes_dataset

    work = Path(args.work)
    data = write_shapes_dataset(work / "world", args.images, 16, seed=0)
    mine_distractors(str(data), str(data), model=args.model, pretrained=None, split="train", pool_split="train",
                     device=args.device, workers=args.workers, progress=False)
    print(json.dumps({"prepared": str(data), "images": args.images}))


def run(args: argparse.Namespace) -> None:
    work = Path(args.work)
    cfg = TrainConfig(
        model=args.model, pretrained=None, data=str(work / "world"), out=str(work / f"run-{args.name}"),
        loss="conclip", batch_size=args.batch_size, max_steps=args.steps + 1, epochs=1, warmup_steps=1,
        lock_image=args.lock_image, cache_features=args.cache, precision=args.precision, device=args.device,
        workers=args.workers, save_every=0, eval_at_end=False, export=False,
    )
    trainer = Trainer(cfg)
    trainer.set_up()
    cuda = trainer.device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    batches = trainer.micro_batches()
    times = []
    for step in range(args.steps + 1):
        sync()
        start = time.perf_counter()
        micros = [next(batches) for _ in range(cfg.accum_steps)]
        trainer.step_loss_and_backward(micros)
        trainer.optimizer_step(step)
        sync()
        if step:
            times.append(time.perf_counter() - start)
    peak = torch.tensor([torch.cuda.max_memory_allocated() / 2**30 if cuda else 0.0], device=trainer.device)
    if trainer.info.enabled:
        import torch.distributed as dist

        dist.all_reduce(peak, op=dist.ReduceOp.MAX)
    median = statistics.median(times)
    result = {
        "name": args.name, "gpu": torch.cuda.get_device_name(trainer.device) if cuda else None,
        "device": trainer.device.type, "world_size": trainer.info.world_size,
        "model": args.model, "batch_size": args.batch_size, "precision": trainer.precision,
        "lock_image": args.lock_image, "feature_cache": trainer.use_cache, "steps": args.steps,
        "median_step_s": median, "samples_per_s": args.batch_size / median, "peak_memory_gib": float(peak.item()) if cuda else None,
    }
    if trainer.info.is_main:
        print(json.dumps(result))
        out = os.environ.get("OUT")
        if out:
            Path(out).mkdir(parents=True, exist_ok=True)
            (Path(out) / f"gpu_{args.name}.json").write_text(json.dumps(result, indent=2))
    trainer.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--work", required=True)
    p.add_argument("--images", type=int, default=2400)
    p.add_argument("--model", default="open_clip:ViT-B-32")
    p.add_argument("--device", default="cuda", help="cuda (the check), or cpu for a dry run of the same code")
    p.add_argument("--workers", type=int, default=4)
    r = sub.add_parser("run")
    r.add_argument("--work", required=True)
    r.add_argument("--name", required=True)
    r.add_argument("--model", default="open_clip:ViT-B-32")
    r.add_argument("--batch-size", type=int, default=200)
    r.add_argument("--steps", type=int, default=10)
    r.add_argument("--precision", default="bf16")
    r.add_argument("--cache", default="off", choices=("auto", "on", "off"))
    r.add_argument("--lock-image", action=argparse.BooleanOptionalAction, default=True)
    r.add_argument("--workers", type=int, default=6)
    r.add_argument("--device", default="cuda", help="cuda (the check), or cpu for a dry run of the same code")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_step_bench: no CUDA GPU visible (torch.cuda.is_available() is False)", file=sys.stderr)
        return 3
    (prepare if args.command == "prepare" else run)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
