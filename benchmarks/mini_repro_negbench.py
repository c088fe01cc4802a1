"""The miniature reproduction's NegBench column: every recipe on NegBench-style data, CPU only.

``benchmarks/mini_repro.py`` checks CoN-CLIP in a world of coloured shapes. This script asks
the same world the NegBench question, with the toolkit end to end:

1. write the shapes world, split by composition exactly as ``mini_repro.py`` does (a fifth of
   the pairs of things only in the eval splits; training and eval distractors from two disjoint
   pools), and audit it (``benchmarks.shapes.audit.require_held_out``). Each of the 15 things
   is named by an everyday object ("red circle" is drawn as before but called "apple"):
   ``ccneg-build --style negbench`` affirms only objects its object lexicon knows, and a
   colour-and-shape phrase is not one. The renaming is one-to-one, so the world, its truth and
   its held-out compositions are unchanged;
2. run ``ccneg-build --style negbench`` (offline rule backend: absent objects from the
   corpus's co-occurrence statistics) twice, on the ``train`` split and on the held-out
   ``eval`` split, so the MCQ questions of evaluation never share a composition with training;
3. pretrain a tiny CLIP from scratch with the plain loss on the ``pretrain`` split, mine
   distractors with it from the two pools, and fine-tune it with each recipe for the same
   number of steps: the plain CLIP loss, NegCLIP-style, CoN-CLIP (all three text tower only,
   as in ``mini_repro.py``), and NegBench's CLIP + MCQ loss on the NegBench-style data, once
   with both towers trained (``--trainable all``, NegBench's setting) and once text tower only;
4. score each model, the untrained pretrained one and the text-only rule ``text:negation-words``
   through ``ccneg_bench.evaluation.evaluate`` (what ccneg-bench runs): ``ccneg`` and
   ``ccneg-balanced`` on the held-out split, ``mcq`` on the held-out NegBench MCQ file with the
   options shuffled (``--shuffle-options``; accuracy overall and by the right answer's
   template), and ``zeroshot`` on an image folder of freshly drawn single-object images (one
   class per object), the retention that fine-tuning for negation may cost.

Prints one table and writes ``OUT/results.json``.

    python benchmarks/mini_repro_negbench.py --threads 1 --out /tmp/mini-nb
    python benchmarks/mini_repro_negbench.py --fast --threads 1 --out ...   # the variant the test runs
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks.*, when run as a script

from ccneg_bench.evaluation import evaluate
from ccneg_build.publication import record_files
from ccneg_bench.mining import mine_distractors
from ccneg_bench.train.config import TrainConfig
from ccneg_bench.train.loop import train
from ccneg_core.record import RECORD_SCHEMA
from ccneg_core.writer import atomic_output, atomic_write_text
from benchmarks.shapes.audit import require_held_out
from benchmarks.shapes.world import Scene, all_things, draw_scene, write_shapes_dataset, write_tiny_clip_config

#: each thing of the world, named by an object ccneg-build's object lexicon knows (one-to-one)
OBJECT_NAMES = dict(zip(
    [t.name for t in all_things()],
    ("apple", "book", "cup", "ball", "chair", "clock", "bottle", "lamp", "vase", "bowl", "bag", "hat", "shoe",
     "kite", "umbrella"),
))
SIZES = {
    # name: (train, eval, pretrain steps, fine-tune steps, batch, pretrain images, train pool, eval pool,
    #        zero-shot images per class)
    "full": (1200, 300, 300, 150, 100, 3000, 2000, 1000, 20),
    "fast": (300, 100, 60, 20, 50, 600, 400, 300, 4),
}
PRETRAIN_LR, FINETUNE_LR = 2e-3, 1e-3
TEXT_BASELINE = "text:negation-words"
#: table row -> (ccneg-train --loss, --trainable, trains on the NegBench-style data)
RECIPES = {
    "CLIP fine-tuned (plain loss, text)": ("clip", "text", False),
    "NegCLIP-style (text)": ("negclip", "text", False),
    "CoN-CLIP (text)": ("conclip", "text", False),
    "NegBench CLIP+MCQ (all)": ("negbench", "all", True),
    "NegBench CLIP+MCQ (text)": ("negbench", "text", True),
}
TEMPLATES = ("positive", "negative", "hybrid")


def _renamed(text: str | None) -> str | None:
    """A caption with every thing named by its object, articles fixed ("a apple" -> "an apple")."""
    if text is None:
        return None
    for thing, name in OBJECT_NAMES.items():
        text = re.sub(rf"\ba {thing}\b", ("an " if name[0] in "aeiou" else "a ") + name, text)
        text = re.sub(rf"\b{thing}\b", name, text)
    return text


def write_object_world(out: Path, seed: int, counts: dict[str, int]) -> Path:
    """The shapes world (``write_shapes_dataset``, same split by composition) with objects' names."""
    data = write_shapes_dataset(out, counts["train"], counts["eval"], seed=seed, n_pretrain=counts["pretrain"],
                                n_train_pool=counts["train_pool"], n_eval_pool=counts["eval_pool"])
    for path in sorted((data / "data").glob("*.parquet")):
        rows = pq.read_table(path).to_pylist()
        for r in rows:
            for key in ("caption", "negated_caption", "exclusion_caption", "subject", "negated_object"):
                r[key] = OBJECT_NAMES.get(r[key], _renamed(r[key])) if r[key] else r[key]
            r["labels"] = [OBJECT_NAMES[x] for x in r["labels"]]
            r["relations"] = [{**rel, "object": OBJECT_NAMES[rel["object"]]} for rel in r["relations"]]
        with atomic_output(path) as tmp:
            pq.write_table(pa.Table.from_pylist(rows, schema=RECORD_SCHEMA), tmp, row_group_size=256)
    world = json.loads((data / "world.json").read_text())
    for key in ("train_pairs", "eval_pairs"):
        world[key] = [sorted(OBJECT_NAMES[x] for x in pair) for pair in world[key]]
    world["object_names"] = OBJECT_NAMES
    atomic_write_text(data / "world.json", json.dumps(world, indent=1))
    record_files(data,  # the manifest lists the rewritten files' hashes, which every reader checks
                 [f"data/{p.name}" for p in sorted((data / "data").glob("*.parquet"))])
    return data


def build_negbench(world: Path, split: str, out: Path) -> Path:
    """``ccneg-build SPLIT.parquet --style negbench`` as a user types it; every row lands in
    ``OUT/negbench/mcq_train.csv`` (``--eval-size 0``: the world already split by composition)."""
    command = [sys.executable, "-m", "ccneg_build.cli", str(world / "data" / f"{split}-00000-of-00001.parquet"),
               "--style", "negbench", "--images", "column", "--image-column", "image", "--labels-column", "labels",
               "--eval-size", "0", "--out", str(out), "--no-progress"]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"ccneg-build --style negbench on {split} failed: {proc.stderr.strip()[-2000:]}")
    return out


def write_zeroshot_folder(out: Path, per_class: int, seed: int) -> Path:
    """An image folder (``imagefolder:DIR``): fresh single-object images, one folder per object."""
    rng = random.Random(f"zeroshot-{seed}")
    for thing in all_things():
        folder = out / OBJECT_NAMES[thing.name]
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            draw_scene(Scene(thing), rng).save(folder / f"{i:03d}.png")
    return out


def _train(out: Path, model: str, data: Path, loss: str, steps: int, batch: int, lr: float, trainable: str,
           seed: int, split: str = "train") -> Path:
    cfg = TrainConfig(
        model=model, pretrained=None, data=str(data), out=str(out), loss=loss, lr=lr, weight_decay=0.1, split=split,
        warmup_steps=min(20, steps // 5), max_steps=steps, epochs=10_000, batch_size=batch, trainable=trainable,
        lock_image=trainable == "text", cache_features="auto" if trainable == "text" else "off", workers=0,
        save_every=0, keep_last=1, eval_at_end=False, device="cpu", seed=seed, log_every=10,
    )
    return Path(train(cfg)["export"])


def _evaluate(spec: str, dataset: str, tasks: tuple[str, ...], **settings) -> dict[str, dict]:
    results = evaluate(spec, dataset, tasks, device="cpu", workers=0, cache_dir=None, bootstrap=0, progress=False,
                       **settings)
    return {r["task"]: r for r in results}


def score(spec: str, world: Path, mcq_file: Path, zeroshot: Path, seed: int) -> dict[str, float | None]:
    """One table row; ``None`` where the model cannot take the task (a text rule sees no images)."""
    row: dict[str, float | None] = {}
    ccneg = _evaluate(spec, str(world), ("ccneg", "ccneg-balanced"), split="eval")
    for task in ("ccneg", "ccneg-balanced"):
        if ccneg[task].get("status") != "ok":
            raise RuntimeError(f"{spec}: {task} failed: {ccneg[task].get('error')}")
        row[task] = ccneg[task]["metrics"]["accuracy"]
    mcq = _evaluate(spec, f"negbench:{mcq_file}", ("mcq",), shuffle_options=seed)["mcq"]
    if mcq.get("status") != "ok":
        raise RuntimeError(f"{spec}: mcq failed: {mcq.get('error')}")
    row["MCQ"] = mcq["metrics"]["total_accuracy"]
    by_template = _template_accuracy(mcq)
    for template in TEMPLATES:
        row[f"MCQ {template}"] = by_template.get(template)
    if spec.startswith("text:"):
        row["zero-shot acc1"] = None
    else:
        zs = _evaluate(spec, f"imagefolder:{zeroshot}", ("zeroshot",))["zeroshot"]
        if zs.get("status") != "ok":
            raise RuntimeError(f"{spec}: zeroshot failed: {zs.get('error')}")
        row["zero-shot acc1"] = zs["metrics"]["acc1"]
    return row


def _template_accuracy(result: dict) -> dict[str, float]:
    """MCQ accuracy by the right answer's template, from the result's ``breakdowns``."""
    return {name: group["accuracy"] for name, group in (result.get("breakdowns") or {}).get("template", {}).items()}


def run(out: Path, size: str, seed: int = 0, threads: int | None = None) -> dict:
    n_train, n_eval, pre_steps, ft_steps, batch, n_pretrain, n_train_pool, n_eval_pool, per_class = SIZES[size]
    torch.manual_seed(seed)
    if threads:
        torch.set_num_threads(threads)
    started, cpu_started = time.perf_counter(), time.process_time()
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    t = time.perf_counter()
    world = write_object_world(out / "world", seed, {"train": n_train, "eval": n_eval, "pretrain": n_pretrain,
                                                     "train_pool": n_train_pool, "eval_pool": n_eval_pool})
    require_held_out(world)
    negbench_train = build_negbench(world, "train", out / "negbench-train")
    negbench_eval = build_negbench(world, "eval", out / "negbench-eval")
    mcq_eval = negbench_eval / "negbench" / "mcq_train.csv"  # every row of the held-out split
    zeroshot = write_zeroshot_folder(out / "zeroshot", per_class, seed)
    config = write_tiny_clip_config(out / "tiny-shapes-clip.json")
    timings["data"] = time.perf_counter() - t

    t = time.perf_counter()
    pretrained = _train(out / "pretrain", f"open_clip:{config}", world, "clip", pre_steps, batch, PRETRAIN_LR,
                        "all", seed, split="pretrain")
    timings["pretrain"] = time.perf_counter() - t
    t = time.perf_counter()
    for split in ("train", "eval"):
        mine_distractors(str(world), str(world), model=f"open_clip:{pretrained}", pretrained=None, k=3, split=split,
                         pool_split=f"{split}_pool", device="cpu", workers=0, progress=False)
    timings["mining"] = time.perf_counter() - t
    held_out = require_held_out(world)

    exports = {"CLIP (pretrained, not fine-tuned)": pretrained}
    for name, (loss, trainable, on_negbench) in RECIPES.items():
        t = time.perf_counter()
        exports[name] = _train(out / f"{loss}-{trainable}", f"open_clip:{pretrained}",
                               negbench_train if on_negbench else world, loss, ft_steps, batch, FINETUNE_LR,
                               trainable, seed)
        timings[f"fine-tune {loss} ({trainable})"] = time.perf_counter() - t

    t = time.perf_counter()
    table = {"text only: no negation word wins": score(TEXT_BASELINE, world, mcq_eval, zeroshot, seed)}
    table.update({name: score(f"open_clip:{path}", world, mcq_eval, zeroshot, seed) for name, path in exports.items()})
    timings["evaluation"] = time.perf_counter() - t
    mcq_rows = sum(1 for _ in mcq_eval.open()) - 1
    results = {
        "size": size, "seed": seed, "train_images": n_train, "eval_images": n_eval, "pretrain_images": n_pretrain,
        "pretrain_steps": pre_steps, "finetune_steps": ft_steps, "batch": batch, "finetune_lr": FINETUNE_LR,
        "negbench_mcq_train_rows": sum(1 for _ in (negbench_train / "negbench" / "mcq_train.csv").open()) - 1,
        "negbench_mcq_eval_rows": mcq_rows, "zeroshot_images": per_class * len(OBJECT_NAMES),
        "held_out": held_out, "table": table, "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu_started, "timings": timings,
    }
    atomic_write_text(out / "results.json", json.dumps(results, indent=2))
    return results


def format_table(results: dict) -> str:
    columns = list(next(iter(results["table"].values())).keys())
    lines = ["| model | " + " | ".join(columns) + " |", "| --- |" + " ---: |" * len(columns)]
    for name, row in results["table"].items():
        cells = ("n/a" if row[c] is None else f"{100 * row[c]:.1f}" for c in columns)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="working folder (world, NegBench-style data, runs, results.json)")
    parser.add_argument("--fast", action="store_true", help="the smallest variant (the smoke test's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (1 is fastest on a machine shared with other jobs)")
    args = parser.parse_args(argv)
    results = run(Path(args.out), "fast" if args.fast else "full", args.seed, args.threads)
    print(f"\nminiature reproduction, NegBench column ({results['train_images']} train / {results['eval_images']} "
          f"eval images; {results['negbench_mcq_train_rows']} / {results['negbench_mcq_eval_rows']} NegBench MCQ rows; "
          f"{results['pretrain_steps']} pretraining + {results['finetune_steps']} fine-tuning steps, batch "
          f"{results['batch']}; zero-shot on {results['zeroshot_images']} images, 15 classes)")
    print(format_table(results))
    held = results["held_out"]
    print("held out: " + ", ".join(f"{k} {v}" for k, v in held.items()))
    print(f"total {results['seconds']:.0f} s wall, {results['cpu_seconds']:.0f} s CPU  "
          + "  ".join(f"{k} {v:.0f} s" for k, v in results["timings"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
