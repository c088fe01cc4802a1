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
   once as mined, once with ``--verify-absence`` (by default the pretrained CLIP as the
   verifier: a real model spec, as a user would run it, however well it verifies);
   a third set of eval distractors is drawn by the world's labels alone
   (:mod:`benchmarks.shapes.distractor_sets`);
4. fine-tune it for the same number of steps, image tower locked: with the plain loss on the
   true captions (the paper's "CLIP fine-tuned" baseline), with the NegCLIP-style loss
   (negated captions as extra hard negatives, no distractor images) and with CoN-CLIP on the
   mined and on the verified distractors;
5. score them all, the text-only rule "the caption without a negation word wins"
   (``text:negation-words``) and the rule "agree with the miner" (the negated caption fits an
   image exactly when the miner would have picked it) on the held-out split, through
   ``ccneg_bench.evaluation.evaluate`` (what ccneg-bench runs): ``ccneg``, ``retrieval``, and
   ``ccneg-balanced`` on each set of eval distractors.

The text-only rule is the shortcut the one-sided ``ccneg`` task allows (near 100%);
``ccneg-balanced`` also asks the distractor image to prefer the negated caption, where the
rule is always wrong (50%). On mined distractors a model can still pass by agreeing with the
miner, whose picks the labels often contradict; the label-drawn column is the one neither
shortcut can pass. The mining precision by the labels, with and without verification, is
reported beside the table. Prints the tables and writes ``OUT/results.json``.

    python benchmarks/mini_repro.py --threads 1 --out /tmp/mini   # a few minutes on 2 CPU cores
    python benchmarks/mini_repro.py --fast --out ...               # the variant the tests run
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks.shapes, when run as a script

from benchmarks.shapes.audit import require_held_out
from benchmarks.shapes.distractor_sets import (
    label_precision, make_view, miner_agreement, verifier_quality, write_label_distractors,
)
from benchmarks.shapes.world import write_shapes_dataset, write_tiny_clip_config
from ccneg_bench.absence import CANDIDATES_PER_DISTRACTOR, AbsenceSettings
from ccneg_bench.evaluation import evaluate
from ccneg_bench.mining import mine_distractors
from ccneg_bench.models.registry import load_model
from ccneg_bench.train.config import TrainConfig
from ccneg_bench.train.loop import train
from ccneg_build.options.visual import VisualOptions

FINETUNE_LR = 1e-3
SIZES = {
    # name: (train samples, eval samples, pretrain steps, fine-tune steps, batch, pretraining images,
    #        training-pool images, eval-pool images)
    "full": (3000, 600, 500, 300, 128, 6000, 6000, 2000),
    "fast": (800, 200, 200, 200, 100, 1500, 2000, 1000),
}
MINING_K = 3
TEXT_BASELINE = "text:negation-words"
TEXT_ROW = "text only: no negation word wins"
MINER_ROW = "agrees with the miner (no model)"
PRETRAINED_ROW = "CLIP (pretrained)"
#: the distractor sets, in column order: as mined, mined and checked, drawn by the world's labels
DISTRACTOR_SETS = ("mined", "verified", "labels")
RETRIEVAL = ("retrieval i2t R@1", "retrieval t2i R@1", "retrieval t2i R@5")
COLUMNS = ("ccneg", *(f"{kind}: {s}" for s in DISTRACTOR_SETS for kind in ("balanced", "distractor side")), *RETRIEVAL)


@dataclass(frozen=True)
class FineTune:
    """One fine-tuned row: its ``ccneg-train --loss`` and the distractor set it trains on (if any)."""

    loss: str
    distractors: str = "mined"


#: table row name -> how that model is fine-tuned from the pretrained CLIP
FINE_TUNED = {
    "CLIP fine-tuned (plain loss)": FineTune("clip"),
    "NegCLIP-style fine-tuned": FineTune("negclip"),
    "CoN-CLIP fine-tuned (mined distractors)": FineTune("conclip", "mined"),
    "CoN-CLIP fine-tuned (verified distractors)": FineTune("conclip", "verified"),
}


@dataclass(frozen=True)
class Settings:
    """Sizes and choices of one run."""

    n_train: int
    n_eval: int
    pretrain_steps: int
    finetune_steps: int
    batch: int
    n_pretrain: int
    n_train_pool: int
    n_eval_pool: int
    finetune_lr: float = FINETUNE_LR
    seed: int = 0
    verifier: str | None = None  # None: the pretrained CLIP
    verifier_pretrained: str | None = None
    verify_threshold: float | None = None

    @classmethod
    def make(cls, size: str, seed: int = 0, **overrides: Any) -> "Settings":
        n_train, n_eval, pre, ft, batch, n_pretrain, n_train_pool, n_eval_pool = SIZES[size]
        values = dict(n_train=n_train, n_eval=n_eval, pretrain_steps=pre, finetune_steps=ft, batch=batch,
                      n_pretrain=n_pretrain, n_train_pool=n_train_pool, n_eval_pool=n_eval_pool, seed=seed)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _train(out: Path, model: str, data: Path, loss: str, steps: int, batch: int, lr: float, lock_image: bool,
           warmup: int, seed: int, split: str = "train") -> Path:
    cfg = TrainConfig(
        model=model, pretrained=None, data=str(data), out=str(out), loss=loss, lr=lr, weight_decay=0.1, split=split,
        warmup_steps=warmup, max_steps=steps, epochs=10_000, batch_size=batch, lock_image=lock_image,
        cache_features="auto" if lock_image else "off", workers=0, save_every=0, keep_last=1, eval_at_end=False,
        device="cpu", seed=seed, log_every=10,
    )
    summary = train(cfg)
    return Path(summary["export"])


def pretrain(out: Path, world: Path, settings: Settings) -> Path:
    """A tiny CLIP trained from scratch with the plain loss on the ``pretrain`` split (no negation)."""
    config = write_tiny_clip_config(out / "tiny-shapes-clip.json")
    return _train(out / "pretrain", f"open_clip:{config}", world, "clip", settings.pretrain_steps, settings.batch,
                  2e-3, lock_image=False, warmup=20, seed=settings.seed, split="pretrain")


def distractor_sets(out: Path, world: Path, miner: Path, settings: Settings) -> dict[str, Path]:
    """The three sets of distractors (views of the world, see :mod:`benchmarks.shapes.distractor_sets`):
    mined with ``miner``, mined and checked with ``--verify-absence``, drawn by the labels (eval only).
    Each side is mined from its own pool, as the paper mines from MS-COCO."""
    views = {name: make_view(world, out / "sets" / name) for name in DISTRACTOR_SETS}
    verifier = VisualOptions(model=settings.verifier or f"open_clip:{miner}", pretrained=settings.verifier_pretrained,
                             threshold=settings.verify_threshold, device="cpu")
    checks = {"mined": None,
              "verified": AbsenceSettings(verifier=verifier, candidates=CANDIDATES_PER_DISTRACTOR * MINING_K)}
    for name, absence in checks.items():
        for split in ("train", "eval"):
            mine_distractors(str(views[name]), str(views[name]), model=f"open_clip:{miner}", pretrained=None,
                             k=MINING_K, split=split, pool_split=f"{split}_pool", device="cpu", workers=0,
                             progress=False, absence=absence, cache_dir=str(out / "mining-cache"))
    write_label_distractors(world, views["labels"], settings.seed)
    return views


def fine_tune(out: Path, pretrained: Path, views: dict[str, Path], settings: Settings,
              timings: dict[str, float]) -> dict[str, Path]:
    """Every :data:`FINE_TUNED` row, the same number of steps from the same pretrained CLIP."""
    exports = {}
    for name, how in FINE_TUNED.items():
        started = time.perf_counter()
        tag = how.loss if how.loss != "conclip" else f"conclip-{how.distractors}"
        exports[name] = _train(out / tag, f"open_clip:{pretrained}", views[how.distractors], how.loss,
                               settings.finetune_steps, settings.batch, settings.finetune_lr, lock_image=True,
                               warmup=10, seed=settings.seed)
        timings[f"fine-tune {tag}"] = time.perf_counter() - started
    return exports


def _results(adapter: Any, view: Path, tasks: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``ccneg-bench --model M --dataset VIEW --split eval --task ...``'s metrics by task."""
    by_task = {}
    for result in evaluate(adapter, str(view), tasks, split="eval", device="cpu", workers=0, cache_dir=None,
                           bootstrap=0, progress=False):
        if result.get("status") != "ok":
            raise RuntimeError(f"{adapter.spec}: {result['task']} on {view.name} failed: {result.get('error')}")
        by_task[result["task"]] = result["metrics"]
    return by_task


def score_model(spec: str, views: dict[str, Path]) -> tuple[dict[str, float], dict[str, int]]:
    """One table row, and the samples each balanced column scored."""
    adapter = load_model(spec, pretrained=None, device="cpu")
    main = _results(adapter, views["mined"], ("ccneg", "retrieval"))
    row: dict[str, float | None] = {"ccneg": main["ccneg"]["accuracy"]}
    scored = {}
    for name in DISTRACTOR_SETS:
        balanced = _results(adapter, views[name], ("ccneg-balanced",))["ccneg-balanced"]
        row[f"balanced: {name}"] = balanced["accuracy"]
        row[f"distractor side: {name}"] = balanced["accuracy_distractor_image"]
        scored[name] = balanced["n_scored"]
    retrieval = main["retrieval"]
    row.update(zip(RETRIEVAL, (retrieval["image_to_text_R@1"], retrieval["text_to_image_R@1"],
                               retrieval["text_to_image_R@5"])))
    return row, scored


def miner_row(miner: Path, views: dict[str, Path]) -> dict[str, float | None]:
    """The "agree with the miner" rule's row (:func:`benchmarks.shapes.distractor_sets.miner_agreement`)."""
    row: dict[str, float | None] = dict.fromkeys(COLUMNS)
    for name in DISTRACTOR_SETS:
        scores = miner_agreement(f"open_clip:{miner}", views[name], MINING_K)
        row["ccneg"] = scores["ccneg"]
        row[f"balanced: {name}"] = scores["ccneg-balanced"]
        row[f"distractor side: {name}"] = scores["distractor side"]
    return row


def score_table(pretrained: Path, exports: dict[str, Path], views: dict[str, Path]) -> tuple[dict, dict]:
    """Every row of the evidence table, and the samples each balanced column scored."""
    table, scored = {}, {}
    table[TEXT_ROW], scored = score_model(TEXT_BASELINE, views)
    table[MINER_ROW] = miner_row(pretrained, views)
    for name, path in {PRETRAINED_ROW: pretrained, **exports}.items():
        table[name], _ = score_model(f"open_clip:{path}", views)
    return table, scored


def mining_report(out: Path, world: Path, views: dict[str, Path]) -> dict[str, Any]:
    """Precision of each set by the labels, and the verifier's drops and agreement with the labels."""
    report: dict[str, Any] = {"precision": {name: label_precision(world, views[name]) for name in DISTRACTOR_SETS}}
    manifest = json.loads((views["verified"] / "distractors" / "manifest.json").read_text())
    settings = {k: v for k, v in manifest["verify_absence"].items()
                if k in ("model", "threshold", "duplicate_similarity", "candidates_per_sample", "check_subject")}
    settings["model"] = settings["model"].replace(str(out), "OUT")  # the printout names no machine's folders
    report["verifier"] = {"settings": settings, **verifier_quality(world, views["verified"])}
    return report


def run(out: Path, settings: Settings, threads: int | None = None, size: str = "") -> dict:
    torch.manual_seed(settings.seed)
    if threads:
        torch.set_num_threads(threads)
    started, cpu_started = time.perf_counter(), time.process_time()
    out.mkdir(parents=True, exist_ok=True)
    world = write_shapes_dataset(out / "world", settings.n_train, settings.n_eval, seed=settings.seed,
                                 n_pretrain=settings.n_pretrain, n_train_pool=settings.n_train_pool,
                                 n_eval_pool=settings.n_eval_pool)
    require_held_out(world)
    timings: dict[str, float] = {}

    t = time.perf_counter()
    pretrained = pretrain(out, world, settings)
    timings["pretrain"] = time.perf_counter() - t

    t = time.perf_counter()
    views = distractor_sets(out, world, pretrained, settings)
    timings["mining"] = time.perf_counter() - t
    held_out = {name: require_held_out(view) for name, view in views.items()}

    exports = fine_tune(out, pretrained, views, settings, timings)

    t = time.perf_counter()
    table, scored = score_table(pretrained, exports, views)
    timings["evaluation"] = time.perf_counter() - t
    results = {
        "size": size, "settings": asdict(settings), "seed": settings.seed, "pretrain_images": settings.n_pretrain,
        "train_pool_images": settings.n_train_pool, "eval_pool_images": settings.n_eval_pool,
        "train_images": settings.n_train, "eval_images": settings.n_eval, "pretrain_steps": settings.pretrain_steps,
        "finetune_steps": settings.finetune_steps, "batch": settings.batch, "finetune_lr": settings.finetune_lr,
        "held_out": held_out["mined"], "held_out_by_set": held_out, "mining": mining_report(out, world, views),
        "balanced_scored": scored, "table": table, "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu_started, "timings": timings,
    }
    tmp = out / "results.json.tmp"
    tmp.write_text(json.dumps(results, indent=2))
    os.replace(tmp, out / "results.json")
    return results


def _cell(value: float | None) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.1f}"


def format_table(results: dict) -> str:
    """The evidence table: one row per model or rule, percentages."""
    columns = list(next(iter(results["table"].values())).keys())
    lines = ["| model | " + " | ".join(columns) + " |", "| --- |" + " ---: |" * len(columns)]
    for name, row in results["table"].items():
        lines.append(f"| {name} | " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
    return "\n".join(lines)


def format_mining(results: dict) -> str:
    """Mining precision by the world's labels, per set and side, and the verifier's record."""
    mining = results["mining"]
    lines = ["| distractors | train: first | train: all | eval: first | eval: all | samples with one (train / eval) |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, sides in mining["precision"].items():
        train, ev = sides.get("train"), sides["eval"]
        lines.append(f"| {name} | {_cell(train and train['first'])} | {_cell(train and train['all'])} | "
                     f"{_cell(ev['first'])} | {_cell(ev['all'])} | "
                     f"{_cell(train and train['with_distractor'])} / {_cell(ev['with_distractor'])} |")
    v = mining["verifier"]
    lines.append(
        f"verifier {v['settings']['model']} (a thing is there at a score of {v['settings']['threshold']:g} or more), "
        f"judged by the labels: it dropped {_cell(v['object_there']['dropped'])}% of the {v['object_there']['n']} "
        f"candidates showing the object, {_cell(v['subject_missing']['dropped'])}% of the {v['subject_missing']['n']} "
        f"lacking the subject, and {_cell(v['subject_there']['dropped'])}% of the {v['subject_there']['n']} showing it")
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
    parser.add_argument("--verifier", default=None,
                        help="--verify-absence model spec of the verified set (default: the pretrained CLIP)")
    parser.add_argument("--verifier-pretrained", default=None, help="its weights (--verify-absence-pretrained)")
    parser.add_argument("--verify-threshold", type=float, default=None,
                        help="--verify-absence-threshold (default: the command's)")
    args = parser.parse_args(argv)
    settings = Settings.make("fast" if args.fast else "full", args.seed, **{
        k: getattr(args, k) for k in ("n_train", "n_eval", "pretrain_steps", "finetune_steps", "finetune_lr",
                                      "verifier", "verifier_pretrained", "verify_threshold")})
    results = run(Path(args.out), settings, args.threads, "fast" if args.fast else "full")
    print(f"\nminiature CoN-CLIP reproduction ({results['train_images']} train / {results['eval_images']} eval images, "
          f"{results['pretrain_steps']} pretraining + {results['finetune_steps']} fine-tuning steps, batch {results['batch']})")
    print(format_table(results))
    scored = results["balanced_scored"]
    print("balanced columns score the eval samples that have a distractor in that set: "
          + ", ".join(f"{name} {n}" for name, n in scored.items()))
    held = results["held_out"]
    print(f"held out: {held['eval_rows']} eval samples; eval compositions seen in training "
          f"{held['eval_compositions_in_training']}, eval captions seen in training {held['eval_captions_in_training']}, "
          f"eval distractors from the training pool "
          f"{sum(h['eval_distractors_outside_eval_pool'] for h in results['held_out_by_set'].values())}")
    print("\nmined distractors that make the negated caption true, by the world's labels:")
    print(format_mining(results))
    print(f"\ntotal {results['seconds']:.0f} s wall, {results['cpu_seconds']:.0f} s CPU  "
          + "  ".join(f"{k} {v:.0f} s" for k, v in results["timings"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
