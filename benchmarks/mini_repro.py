"""A miniature reproduction of CoN-CLIP on a procedurally drawn world of coloured shapes.

What the paper claims, checked end to end on a laptop CPU in minutes, in a world built so that
neither memory nor a text shortcut can pass:

1. write the world split by composition (``benchmarks.shapes.world``): every scene of a
   held-out pair of things ("red circle" with "blue square", any relation, either order) is
   evaluation material only, so no eval caption, negated caption or (subject, relation,
   object) combination is ever trained on; training and evaluation distractors come from two
   disjoint pools. ``benchmarks.shapes.audit.require_held_out`` checks this on the files before training
   and again after mining, and the counts go into the results;
2. pretrain a tiny CLIP from scratch with the plain CLIP loss on the ``pretrain`` split of
   relation captions ("a red circle left of a blue square") and single-thing captions
   ("a red circle"): it never sees a negation;
3. mine distractor images with that model (``ccneg-train mine-distractors``'s code path):
   the train split's from ``train_pool``, the eval split's from ``eval_pool`` (MS-COCO's role
   in the paper), images that the exclusion caption fits and the negated object does not;
4. fine-tune it for the same number of steps three times, image tower locked: with the plain
   loss on the true captions (the paper's "CLIP fine-tuned" baseline), with the NegCLIP-style
   loss (negated captions as extra hard negatives, no distractor images) and with CoN-CLIP;
5. score them all, and the text-only rule "the caption without a negation word wins"
   (``text:negation-words``), through ``ccneg_bench.evaluation.evaluate`` (what ccneg-bench
   runs) on the held-out split: ``ccneg``, ``ccneg-balanced`` and ``retrieval``.

The text-only rule is the shortcut the one-sided ``ccneg`` task allows (near 100%);
``ccneg-balanced`` also asks the distractor image to prefer the negated caption, where the
rule is always wrong (50%). Prints a table and writes ``OUT/results.json``.

    python benchmarks/mini_repro.py --threads 1 --out /tmp/mini   # a few minutes on 2 CPU cores
    python benchmarks/mini_repro.py --fast --out ...               # the variant the tests run
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks.shapes, when run as a script

from ccneg_bench.evaluation import evaluate
from ccneg_bench.train.config import TrainConfig
from ccneg_bench.train.loop import train
from ccneg_bench.mining import mine_distractors
from benchmarks.shapes.world import write_shapes_dataset, write_tiny_clip_config
from benchmarks.shapes.audit import require_held_out

FINETUNE_LR = 1e-3
SIZES = {
    # name: (train samples, eval samples, pretrain steps, fine-tune steps, batch, pretraining images,
    #        training-pool images, eval-pool images)
    "full": (3000, 600, 500, 300, 128, 6000, 6000, 2000),
    "fast": (800, 200, 200, 200, 100, 1500, 2000, 1000),
}
TASKS = ("ccneg", "ccneg-balanced", "retrieval")
TEXT_BASELINE = "text:negation-words"
#: table row name -> ccneg-train --loss of the fine-tuned models
FINE_TUNED = {"CLIP fine-tuned (plain loss)": "clip", "NegCLIP-style fine-tuned": "negclip",
              "CoN-CLIP fine-tuned": "conclip"}


def _train(out: Path, model: str, pretrained: str | None, data: Path, loss: str, steps: int, batch: int, lr: float,
           lock_image: bool, warmup: int, seed: int, split: str = "train") -> Path:
    cfg = TrainConfig(
        model=model, pretrained=pretrained, data=str(data), out=str(out), loss=loss, lr=lr, weight_decay=0.1, split=split,
        warmup_steps=warmup, max_steps=steps, epochs=10_000, batch_size=batch, lock_image=lock_image,
        cache_features="auto" if lock_image else "off", workers=0, save_every=0, keep_last=1, eval_at_end=False,
        device="cpu", seed=seed, log_every=10,
    )
    summary = train(cfg)
    return Path(summary["export"])


def _score(spec: str, data: Path) -> dict[str, float]:
    """Score one model as ``ccneg-bench --model SPEC --dataset DATA --split eval`` does."""
    results = evaluate(spec, str(data), TASKS, split="eval", device="cpu", workers=0, cache_dir=None,
                       bootstrap=0, progress=False)
    by_task = {}
    for result in results:
        if result.get("status") != "ok":
            raise RuntimeError(f"{spec}: {result['task']} failed: {result.get('error')}")
        by_task[result["task"]] = result["metrics"]
    retrieval = by_task["retrieval"]
    return {
        "ccneg": by_task["ccneg"]["accuracy"],
        "ccneg-balanced": by_task["ccneg-balanced"]["accuracy"],
        "balanced (distractor side)": by_task["ccneg-balanced"]["accuracy_distractor_image"],
        "retrieval i2t R@1": retrieval["image_to_text_R@1"],
        "retrieval t2i R@1": retrieval["text_to_image_R@1"],
        "retrieval t2i R@5": retrieval["text_to_image_R@5"],
    }


def mining_precision(data: Path) -> dict[str, float]:
    """Per side (train, eval): share of mined first distractors that really make the negated
    caption true (they show the subject and not the negated object; known truth)."""
    import pyarrow.parquet as pq

    rows, side_of = {}, {}
    for split in ("train_pool", "eval_pool", "train", "eval"):
        for r in pq.read_table(data / "data" / f"{split}-00000-of-00001.parquet",
                               columns=["id", "subject", "negated_object", "labels"]).to_pylist():
            rows[r["id"]] = r
            side_of[r["id"]] = split
    hits = {"train": 0, "eval": 0}
    total = {"train": 0, "eval": 0}
    for a in pq.read_table(data / "distractors" / "assignments.parquet").to_pylist():
        side = side_of.get(a["id"])
        if side not in total or not a["distractor_ids"]:
            continue
        sample, picked = rows[a["id"]], rows.get(a["distractor_ids"][0])
        if picked is None:
            continue
        total[side] += 1
        hits[side] += sample["subject"] in picked["labels"] and sample["negated_object"] not in picked["labels"]
    return {side: hits[side] / max(total[side], 1) for side in total}


def run(out: Path, size: str, seed: int = 0, overrides: dict | None = None, threads: int | None = None) -> dict:
    n_train, n_eval, pre_steps, ft_steps, batch, n_pretrain, n_train_pool, n_eval_pool = SIZES[size]
    o = overrides or {}
    n_train, n_eval = o.get("n_train") or n_train, o.get("n_eval") or n_eval
    pre_steps, ft_steps = o.get("pretrain_steps") or pre_steps, o.get("finetune_steps") or ft_steps
    ft_lr = o.get("finetune_lr") or FINETUNE_LR
    torch.manual_seed(seed)
    if threads:
        torch.set_num_threads(threads)
    started, cpu_started = time.perf_counter(), time.process_time()
    out.mkdir(parents=True, exist_ok=True)
    data = write_shapes_dataset(out / "world", n_train, n_eval, seed=seed, n_pretrain=n_pretrain,
                                n_train_pool=n_train_pool, n_eval_pool=n_eval_pool)
    require_held_out(data)
    config = write_tiny_clip_config(out / "tiny-shapes-clip.json")
    timings = {}

    t = time.perf_counter()
    pretrained = _train(out / "pretrain", f"open_clip:{config}", None, data, "clip", pre_steps, batch, 2e-3,
                        lock_image=False, warmup=20, seed=seed, split="pretrain")
    timings["pretrain"] = time.perf_counter() - t

    t = time.perf_counter()
    for split in ("train", "eval"):  # each side from its own pool, as the paper mines from MS-COCO
        mine_distractors(str(data), str(data), model=f"open_clip:{pretrained}", pretrained=None, k=3, split=split,
                         pool_split=f"{split}_pool", device="cpu", workers=0, progress=False)
    timings["mining"] = time.perf_counter() - t
    held_out = require_held_out(data)

    exports = {"CLIP (pretrained)": pretrained}
    for name, loss in FINE_TUNED.items():
        t = time.perf_counter()
        exports[name] = _train(out / loss, f"open_clip:{pretrained}", None, data, loss, ft_steps, batch, ft_lr,
                               lock_image=True, warmup=10, seed=seed)
        timings[f"fine-tune {loss}"] = time.perf_counter() - t

    t = time.perf_counter()
    table = {"text only: no negation word wins": _score(TEXT_BASELINE, data)}
    table.update({name: _score(f"open_clip:{path}", data) for name, path in exports.items()})
    timings["evaluation"] = time.perf_counter() - t
    results = {
        "size": size, "seed": seed, "pretrain_images": n_pretrain, "train_pool_images": n_train_pool,
        "eval_pool_images": n_eval_pool, "train_images": n_train, "eval_images": n_eval,
        "pretrain_steps": pre_steps, "finetune_steps": ft_steps, "batch": batch, "finetune_lr": ft_lr,
        "held_out": held_out, "mining_precision": mining_precision(data),
        "table": table, "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu_started, "timings": timings,
    }
    tmp = out / "results.json.tmp"
    tmp.write_text(json.dumps(results, indent=2))
    os.replace(tmp, out / "results.json")
    return results


def format_table(results: dict) -> str:
    columns = list(next(iter(results["table"].values())).keys())
    lines = ["| model | " + " | ".join(columns) + " |", "| --- |" + " ---: |" * len(columns)]
    for name, row in results["table"].items():
        lines.append(f"| {name} | " + " | ".join(f"{100 * row[c]:.1f}" for c in columns) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="working folder (dataset, runs, results.json)")
    parser.add_argument("--fast", action="store_true", help="the small variant used by the tests")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (1 is fastest on a machine shared with other jobs)")
    parser.add_argument("--n-train", type=int, default=None, help="override the number of training images")
    parser.add_argument("--n-eval", type=int, default=None)
    parser.add_argument("--pretrain-steps", type=int, default=None)
    parser.add_argument("--finetune-steps", type=int, default=None)
    parser.add_argument("--finetune-lr", type=float, default=None)
    args = parser.parse_args(argv)
    overrides = {k: getattr(args, k) for k in ("n_train", "n_eval", "pretrain_steps", "finetune_steps", "finetune_lr")}
    results = run(Path(args.out), "fast" if args.fast else "full", args.seed, overrides, args.threads)
    print(f"\nminiature CoN-CLIP reproduction ({results['train_images']} train / {results['eval_images']} eval images, "
          f"{results['pretrain_steps']} pretraining + {results['finetune_steps']} fine-tuning steps, batch {results['batch']})")
    print(format_table(results))
    held = results["held_out"]
    print(f"held out: {held['eval_rows']} eval samples; eval compositions seen in training "
          f"{held['eval_compositions_in_training']}, eval captions seen in training {held['eval_captions_in_training']}, "
          f"eval distractors from the training pool {held['eval_distractors_outside_eval_pool']}")
    precision = results["mining_precision"]
    print(f"mined distractors that make the negated caption true: train {100 * precision['train']:.1f}%, "
          f"eval {100 * precision['eval']:.1f}%")
    print(f"total {results['seconds']:.0f} s wall, {results['cpu_seconds']:.0f} s CPU  " + "  ".join(f"{k} {v:.0f} s" for k, v in results["timings"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
