"""Training time per epoch: frozen-tower feature caching against the uncached path, same run.

Both paths run the real training (``ccneg_bench.train.loop.Trainer``: set-up, data loading,
forward, backward, optimiser) with the same model, data, batch and precision, image tower
locked as in the paper; the only difference is ``--cache-features on`` vs ``off``. The cache
encodes every training image and distractor once, which is what one uncached epoch does too,
so its gain depends on how many epochs follow. Each path trains ``--epochs`` (2) full epochs
over ``--batch-size`` x ``--steps`` samples, timed separately:

* epoch 1 *with the set-up* (for the cached path, building the cache: the cost a user pays);
* epoch 2 on its own (the steady state: every later epoch);
* from these, the paper's 5 epochs in all (``--project-epochs``).

Rounds alternate the order of the two paths (``--rounds``); the best (shared machines only
ever slow a run down) and the median of the per-round ratios are reported. No weights are
downloaded (``--pretrained none`` by default): the compute does not depend on the values.

    python benchmarks/bench_train.py --batch-size 16 --steps 3 --rounds 3     # ViT-B-32 on the CPU
    python benchmarks/bench_train.py --device cuda --batch-size 200 --steps 20

Writes a JSON result to ``--json`` (or ``$OUT/bench_train.json``).
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

MODES = {"uncached": "off", "cached": "on"}


def _sync(trainer: Trainer) -> None:
    if trainer.device.type == "cuda":
        import torch

        torch.cuda.synchronize()


def time_epochs(args: argparse.Namespace, data: Path, out: Path, cache: str) -> dict:
    """Build a trainer, then time its set-up and each of ``args.epochs`` full epochs."""
    cfg = TrainConfig(
        model=args.model, pretrained=None if args.pretrained == "none" else args.pretrained, data=str(data),
        out=str(out), loss=args.loss, batch_size=args.batch_size, epochs=args.epochs, warmup_steps=1,
        lock_image=True, cache_features=cache, workers=args.workers, device=args.device, precision=args.precision,
        save_every=0, eval_at_end=False, export=False,
    )
    started = time.perf_counter()
    trainer = Trainer(cfg)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    trainer.set_up()  # the cached path builds its cache here
    _sync(trainer)
    setup_s = time.perf_counter() - started
    batches = trainer.micro_batches()
    epochs = []
    for epoch in range(args.epochs):
        started = time.perf_counter()
        for step in range(epoch * trainer.steps_per_epoch, (epoch + 1) * trainer.steps_per_epoch):
            trainer.step_loss_and_backward([next(batches) for _ in range(cfg.accum_steps)])
            trainer.optimizer_step(step)
        _sync(trainer)
        epochs.append(time.perf_counter() - started)
    trainer.close()
    return {"model_load_s": load_s, "setup_s": setup_s, "epoch_s": epochs, "steps_per_epoch": trainer.steps_per_epoch,
            "cache": trainer.cache_stats}


def gains(uncached: dict, cached: dict, project: int) -> dict[str, float]:
    """Time ratios uncached / cached: epoch 1 with set-up, epoch 2 on, and ``project`` epochs in all."""
    def total(run: dict, epochs: int) -> float:
        first, later = run["epoch_s"][0], run["epoch_s"][-1]
        return run["setup_s"] + first + (epochs - 1) * later

    return {
        "epoch_1_with_setup": total(uncached, 1) / total(cached, 1),
        "epoch_2_on": uncached["epoch_s"][-1] / cached["epoch_s"][-1],
        f"{project}_epochs": total(uncached, project) / total(cached, project),
    }


def _best(runs: list[dict]) -> dict:
    """The fastest set-up and epochs over the rounds."""
    return {"setup_s": min(r["setup_s"] for r in runs),
            "epoch_s": [min(r["epoch_s"][e] for r in runs) for e in range(len(runs[0]["epoch_s"]))]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="open_clip:ViT-B-32")
    parser.add_argument("--pretrained", default="none")
    parser.add_argument("--loss", default="conclip", choices=("conclip", "clip"))
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=4, help="steps per epoch (the data has batch x steps samples)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs timed per path (at least 2)")
    parser.add_argument("--project-epochs", type=int, default=5, help="epochs of the projected total (the paper: 5)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of both paths")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--workers", type=int, default=0,
                        help="decoding workers (0: decoding is counted in this process's time too)")
    parser.add_argument("--json", default=None, help="result file (default $OUT/bench_train.json when OUT is set)")
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the second epoch is the steady state)")

    runs: dict[str, list[dict]] = {name: [] for name in MODES}
    with tempfile.TemporaryDirectory(prefix="bench_train_") as tmp:
        work = Path(tmp)
        data = write_shapes_dataset(work / "world", args.batch_size * args.steps, 8, seed=0)
        t = time.perf_counter()
        mine_distractors(str(data), str(data), model=args.model,
                         pretrained=None if args.pretrained == "none" else args.pretrained, split="train",
                         pool_split="train", device=args.device, workers=args.workers, progress=False)
        mining_s = time.perf_counter() - t
        for round_ in range(args.rounds):
            order = list(MODES) if round_ % 2 == 0 else list(reversed(MODES))
            for name in order:  # a fresh run folder each time: the cached path builds its cache every round
                runs[name].append(time_epochs(args, data, work / f"{name}-{round_}", MODES[name]))
                print(f"round {round_ + 1} {name:>9}: set-up {runs[name][-1]['setup_s']:6.1f} s, epochs "
                      + ", ".join(f"{e:.1f}" for e in runs[name][-1]["epoch_s"]) + " s", flush=True)

    best = gains(_best(runs["uncached"]), _best(runs["cached"]), args.project_epochs)
    per_round = [gains(u, c, args.project_epochs) for u, c in zip(runs["uncached"], runs["cached"])]
    median = {key: statistics.median(g[key] for g in per_round) for key in best}
    result = {
        "model": args.model, "loss": args.loss, "batch_size": args.batch_size, "steps_per_epoch": args.steps,
        "epochs": args.epochs, "rounds": args.rounds, "device": args.device, "precision": args.precision,
        "workers": args.workers, "mining_s": mining_s, "runs": runs, "gain_best": best, "gain_median": median,
    }
    samples = args.batch_size * args.steps
    print(f"\nmodel {args.model}  loss {args.loss}  batch {args.batch_size}  {samples} samples per epoch  "
          f"device {args.device}  image tower locked  best of {args.rounds} interleaved rounds")
    for name in MODES:
        b = _best(runs[name])
        print(f"{name:>9}: set-up {b['setup_s']:6.1f} s   epoch 1 {b['epoch_s'][0]:6.1f} s   epoch 2 "
              f"{b['epoch_s'][-1]:6.1f} s   ({samples / b['epoch_s'][-1]:.2f} samples/s from epoch 2)")
    print("gain of the cache (uncached time / cached time), best / median of rounds:")
    print(f"  epoch 1, cache build included:  {best['epoch_1_with_setup']:.2f}x / {median['epoch_1_with_setup']:.2f}x")
    print(f"  each epoch from the second on:  {best['epoch_2_on']:.2f}x / {median['epoch_2_on']:.2f}x")
    key = f"{args.project_epochs}_epochs"
    print(f"  {args.project_epochs} epochs in all (projected):   {best[key]:.2f}x / {median[key]:.2f}x")
    target = args.json or (os.path.join(os.environ["OUT"], "bench_train.json") if os.environ.get("OUT") else None)
    if target:
        Path(target).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
