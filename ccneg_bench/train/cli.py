"""The ``ccneg-train`` command line: parse, call, print a summary. No training logic here.

Commands::

    ccneg-train [train] --model SPEC [--pretrained P] --data D --out DIR [flags]
    ccneg-train mine-distractors --data D --pool POOL [--model SPEC] [--k 3] [...]
    ccneg-train export --checkpoint FILE|latest --run DIR --out EXPORT [--push-to-hub ORG/NAME]

Training is launched the same way under ``torchrun`` (one process per GPU, any number of
machines); see the README section "Fine-tuning".
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from ccneg_bench.options import (
    PRETRAINED_HELP, HelpFormatter, UsageError, non_negative_int, positive_float, positive_int,
)
from ccneg_core.argparsing import OneLineParser
from ccneg_bench.train.config import TrainConfig
from ccneg_bench.train.objectives.registry import loss_help, loss_names
from ccneg_core.devices import add_device_argument, add_device_arguments, check_device
from ccneg_core.pipes import quiet_on_closed_pipe
from ccneg_bench.train.trainable import trains_image_tower
from ccneg_bench.train.checks import check_train_config, print_warnings
from ccneg_bench.absence import CANDIDATES_PER_DISTRACTOR, DEFAULT_DUPLICATE_SIMILARITY, AbsenceSettings
from ccneg_bench.models.registry import check_model, resolve_pretrained
from ccneg_bench.models.weights import is_none
from ccneg_bench.presence import check as check_scorer
from ccneg_core.presence import (
    DEFAULT_THRESHOLD_CHOICE, DEFAULT_THRESHOLD_DETECTOR, DETECTOR_PREFIX, DISTRACTORS, VisualOptions,
)

#: The model that scores distractor candidates by default (the paper mined with ViT-B/16).
MINING_MODEL = "open_clip:ViT-B-16"

COMMANDS = ("train", "mine-distractors", "export")
_DEFAULTS = TrainConfig()


def _train_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="ccneg-train",
        description=(
            "CoN-CLIP fine-tuning of open_clip models on a ccneg dataset (other recipes: --loss,\n"
            "--trainable; NegBench-style data with --loss negbench). Defaults are the paper's\n"
            "hyper-parameters (AdamW lr 1e-6, wd 0.2, cosine, 50 warm-up steps, 5 epochs, batch 200,\n"
            "image tower locked, logit scale <= ln 100). A run folder holds one run: continue it with\n"
            "--resume latest, replace it with --overwrite.\n"
            "Other commands: 'ccneg-train mine-distractors --help', 'ccneg-train export --help'."
        ),
        formatter_class=HelpFormatter,
    )
    g = p.add_argument_group("model and data")
    g.add_argument("--model", default=_DEFAULTS.model, help="ccneg-bench model spec (open_clip:ARCH, an exported folder, a config JSON)")
    g.add_argument("--pretrained", default=None, help=PRETRAINED_HELP)
    g.add_argument("--data", required=True,
                   help="ccneg dataset folder (data/*.parquet, distractors/ from mine-distractors; negbench/mcq_SPLIT.csv "
                        "for --loss negbench), or negbench:FILE.csv (a NegBench multiple-choice file)")
    g.add_argument("--image-root", default=None,
                   help="folder the image paths of a NegBench CSV are found under (default: next to the file)")
    g.add_argument("--out", required=True, help="run folder: checkpoints/, log.jsonl, run.json, export/")
    g.add_argument("--split", default=_DEFAULTS.split, help="split to train on")
    g.add_argument("--distractors", default=None, help="folder with assignments.parquet + images.parquet (default: DATA/distractors)")
    g.add_argument("--limit", type=positive_int, default=None, help="train on the first N rows only (smoke tests)")
    g = p.add_argument_group("loss")
    g.add_argument("--loss", choices=loss_names(), default=_DEFAULTS.loss, help=loss_help())
    g.add_argument("--terms", default=",".join(_DEFAULTS.terms), help="CoN-CLIP terms to average (ablations), e.g. l1,l2")
    g.add_argument("--mcq-weight", type=float, default=_DEFAULTS.mcq_weight,
                   help="--loss negbench: weight W of the MCQ term, (1 - W) * CLIP + W * MCQ (NegBench's released "
                        "checkpoints: 0.01)")
    g.add_argument("--trainable", default=None, metavar="{all,text,image,text:N}",
                   help="what trains: all, the text tower, the image tower (each with the logit scale), or the first N "
                        "text blocks with the token and position embeddings (default: text; all with --no-lock-image)")
    g = p.add_argument_group("optimisation")
    g.add_argument("--lr", type=positive_float, default=_DEFAULTS.lr, help="peak learning rate (AdamW)")
    g.add_argument("--weight-decay", type=float, default=_DEFAULTS.weight_decay, help="AdamW weight decay (matrices only)")
    g.add_argument("--warmup-steps", type=non_negative_int, default=_DEFAULTS.warmup_steps,
                   help="linear warm-up steps before the cosine decay")
    g.add_argument("--epochs", type=positive_int, default=_DEFAULTS.epochs, help="passes over the training split")
    g.add_argument("--max-steps", type=positive_int, default=None, help="stop after this many optimiser steps (overrides --epochs)")
    g.add_argument("--batch-size", type=positive_int, default=_DEFAULTS.batch_size, help="GLOBAL batch over all processes and accumulation steps")
    g.add_argument("--accum-steps", type=positive_int, default=_DEFAULTS.accum_steps, help="micro-batches per step (exact: same loss as the full batch)")
    g.add_argument("--grad-clip", type=float, default=_DEFAULTS.grad_clip, help="max gradient norm (0: off)")
    g.add_argument("--lock-image", action=argparse.BooleanOptionalAction, default=None,
                   help="freeze the image tower (--trainable text; --no-lock-image: --trainable all)")
    g.add_argument("--cache-features", choices=("auto", "on", "off"), default=_DEFAULTS.cache_features,
                   help="encode frozen-tower images once and train on the text tower alone (auto: when locked)")
    g.add_argument("--cache-dir", default=None, help="feature cache folder (default: OUT/feature_cache)")
    add_device_arguments(g)
    g.add_argument("--workers", type=non_negative_int, default=_DEFAULTS.workers, help="image decoding DataLoader workers")
    g.add_argument("--seed", type=int, default=_DEFAULTS.seed, help="seed of the sample order and of dropout")
    g = p.add_argument_group("checkpoints, evaluation, logs")
    g.add_argument("--save-every", type=non_negative_int, default=_DEFAULTS.save_every, help="checkpoint every N steps (0: only at the end)")
    g.add_argument("--keep-last", type=non_negative_int, default=_DEFAULTS.keep_last, help="checkpoints to keep (0: all)")
    g.add_argument("--resume", default=None,
                   help="continue the run in --out: 'latest', a step number or a checkpoint path "
                   "('latest' starts a new run when there is no checkpoint yet)")
    g.add_argument("--overwrite", action="store_true",
                   help="start afresh in a --out that holds a run (removes only the files ccneg-train wrote there)")
    g.add_argument("--eval-every", type=non_negative_int, default=_DEFAULTS.eval_every, help="evaluate every N steps (0: only at the end)")
    g.add_argument("--eval-split", default=_DEFAULTS.eval_split, help="split scored by the evaluations")
    g.add_argument("--eval-tasks", default=",".join(_DEFAULTS.eval_tasks), help="ccneg-bench tasks to run, comma-separated")
    g.add_argument("--eval-data", default=None, metavar="DATASET",
                   help="also score this ccneg-bench dataset with its own tasks (e.g. negbench:FILE.csv; default: "
                        "the held-out NegBench MCQ file next to --data, when there is one)")
    g.add_argument("--eval-zeroshot", default=None, metavar="DATASET",
                   help="also report zero-shot accuracy at every evaluation: imagefolder:DIR or cifar10:DIR, "
                        "cifar100:DIR (what fine-tuning for negation costs)")
    g.add_argument("--no-eval", action="store_true", help="never evaluate")
    g.add_argument("--log-every", type=positive_int, default=_DEFAULTS.log_every, help="write a log record every N steps")
    g.add_argument("--tensorboard", action="store_true", help="also log to OUT/tensorboard")
    g.add_argument("--wandb", action="store_true", help="also log to Weights & Biases (key from WANDB_API_KEY)")
    g.add_argument("--wandb-project", default=_DEFAULTS.wandb_project, help="Weights & Biases project name")
    g.add_argument("--no-export", action="store_true", help="skip writing OUT/export at the end")
    g.add_argument("--push-to-hub", default=None, metavar="ORG/NAME", help="upload the export (token from HF_TOKEN)")
    return p


def _mine_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="ccneg-train mine-distractors",
        description=(
            "Mine distractor images: for each sample, the top-k pool images by\n"
            "sim(image, exclusion caption) - sim(image, negated object), never its own image. Writes\n"
            "DATA/distractors/assignments.parquet, images.parquet and manifest.json. A high score does not\n"
            "mean the object is absent: --verify-absence MODEL checks each candidate first."
        ),
        formatter_class=HelpFormatter,
    )
    p.add_argument("--data", required=True, help="ccneg dataset folder whose samples get distractors")
    p.add_argument("--pool", required=True, help="candidate images: a ccneg dataset folder, a .parquet (image_id, image) or an image folder")
    p.add_argument("--model", default=MINING_MODEL, help="ccneg-bench model spec used for scoring (the paper: ViT-B/16)")
    p.add_argument("--pretrained", default=None, help=PRETRAINED_HELP)
    p.add_argument("--k", type=positive_int, default=3, help="distractors kept per sample")
    p.add_argument("--split", default=None, help="mine only this split of --data (default: every split)")
    p.add_argument("--pool-split", default=None,
                   help="when --pool is a ccneg dataset: draw only from this split (default when --pool is --data: "
                        "each sample's own split)")
    p.add_argument("--out", default=None, help="output folder (default: DATA/distractors)")
    p.add_argument("--cache-dir", default=None, help="feature cache (default: OUT/cache)")
    add_device_argument(p)
    p.add_argument("--batch-size", type=positive_int, default=128, help="images per encoding batch")
    p.add_argument("--workers", type=non_negative_int, default=2, help="image decoding worker processes")
    g = p.add_argument_group(
        "checking candidates (--verify-absence)",
        "Assign only candidates on which the negated object is judged absent and the subject present, and\n"
        "that are not the sample's own image or a near-copy of it; the scores and every dropped candidate\n"
        "with its reason are kept (assignments.parquet object_scores, dropped.parquet, manifest.json).",
    )
    g.add_argument("--verify-absence", metavar="MODEL", default=None,
                   help="visual scorer, as ccneg-build --verify-visual: a ccneg-bench model spec (the object's "
                        f"probability among {DISTRACTORS} other objects of the dataset) or hf-detector:ID "
                        "(OWL-ViT/OWLv2: the best box score for the object)")
    g.add_argument("--verify-absence-pretrained", metavar="P", default=None,
                   help="weights of a CLIP-like MODEL (as --pretrained; same default), or the Hub revision of an "
                        "hf-detector")
    g.add_argument("--verify-absence-threshold", metavar="T", type=float, default=None,
                   help="the object counts as absent, and the subject as present, below and at or above this score "
                        "(default: "
                        f"{DEFAULT_THRESHOLD_CHOICE:g}, chance, for CLIP-like models; {DEFAULT_THRESHOLD_DETECTOR:g} "
                        "for detectors; the thresholds of --verify-visual)")
    g.add_argument("--verify-candidates", metavar="N", type=positive_int, default=None,
                   help=f"best-ranked candidates per sample that may be checked (default: {CANDIDATES_PER_DISTRACTOR} x --k)")
    g.add_argument("--duplicate-similarity", metavar="S", type=float, default=None,
                   help="drop candidates whose image features (--model) have at least this cosine with the sample's "
                        f"own image (default: {DEFAULT_DUPLICATE_SIMILARITY:g}); identical bytes are dropped whatever S")
    g.add_argument("--verify-subject", action=argparse.BooleanOptionalAction, default=True,
                   help="also require the sample's subject to be judged present (the negated caption must be true "
                        "of the distractor)")
    g.add_argument("--verify-batch-size", metavar="N", type=positive_int, default=32, help="images per verifier batch")
    return p


def absence_settings(args: argparse.Namespace) -> AbsenceSettings | None:
    """The ``--verify-absence*`` settings, checked before any model loads (None without the flag)."""

    if args.verify_absence is None:
        given = [flag for flag, value in (("--verify-absence-pretrained", args.verify_absence_pretrained),
                                          ("--verify-absence-threshold", args.verify_absence_threshold),
                                          ("--verify-candidates", args.verify_candidates),
                                          ("--duplicate-similarity", args.duplicate_similarity),
                                          ("--no-verify-subject", None if args.verify_subject else False))
                 if value is not None]
        if given:
            raise UsageError(f"{given[0]} sets the absence check; add --verify-absence MODEL or leave it out")
        return None
    threshold, similarity = args.verify_absence_threshold, args.duplicate_similarity
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise UsageError(f"--verify-absence-threshold {threshold:g}: give a score between 0 and 1")
    if similarity is not None and not 0.0 < similarity <= 1.0:
        raise UsageError(f"--duplicate-similarity {similarity:g}: give a cosine above 0 and at most 1")
    if args.verify_candidates is not None and args.verify_candidates < args.k:
        raise UsageError(f"--verify-candidates {args.verify_candidates}: must be at least --k ({args.k})")
    try:
        check_scorer(args.verify_absence)
    except ValueError as err:
        raise UsageError(f"--verify-absence {args.verify_absence}: {err}") from None
    pretrained = args.verify_absence_pretrained
    if not args.verify_absence.startswith(DETECTOR_PREFIX):
        pretrained = resolve_pretrained(args.verify_absence, pretrained)
        check_model(args.verify_absence, pretrained)
        pretrained = None if is_none(pretrained) else pretrained
    verifier = VisualOptions(model=args.verify_absence, pretrained=pretrained, threshold=threshold,
                             batch_size=args.verify_batch_size, device=args.device)
    return AbsenceSettings(
        verifier=verifier, candidates=args.verify_candidates or CANDIDATES_PER_DISTRACTOR * args.k,
        duplicate_similarity=DEFAULT_DUPLICATE_SIMILARITY if similarity is None else similarity,
        check_subject=args.verify_subject,
    )


def _export_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="ccneg-train export",
        description=(
            "Export a training checkpoint as open_clip_model.safetensors + open_clip_config.json, loadable by\n"
            "'ccneg-bench --model open_clip:EXPORT' and by open_clip ('local-dir:EXPORT' or, after\n"
            "--push-to-hub, 'hf-hub:ORG/NAME')."
        ),
        formatter_class=HelpFormatter,
    )
    p.add_argument("--checkpoint", default="latest", help="a checkpoint file, a step number, or 'latest' (of --run)")
    p.add_argument("--run", default=None, help="run folder (needed for 'latest' or a step number)")
    p.add_argument("--out", required=True, help="export folder")
    p.add_argument("--push-to-hub", default=None, metavar="ORG/NAME", help="upload the folder (token from HF_TOKEN)")
    p.add_argument("--private", action="store_true", help="create the Hub repository as private")
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The :class:`TrainConfig` a parsed command line describes."""
    pretrained = resolve_pretrained(args.model, args.pretrained)
    return TrainConfig(
        model=args.model, pretrained=None if is_none(pretrained) else pretrained, overwrite=args.overwrite,
        data=args.data, out=args.out, split=args.split, eval_split=args.eval_split, distractors=args.distractors,
        loss=args.loss, terms=tuple(t.strip() for t in args.terms.split(",") if t.strip()), lr=args.lr,
        weight_decay=args.weight_decay, warmup_steps=args.warmup_steps, epochs=args.epochs, max_steps=args.max_steps,
        batch_size=args.batch_size, accum_steps=args.accum_steps, grad_clip=args.grad_clip,
        lock_image=_DEFAULTS.lock_image if args.lock_image is None else args.lock_image,
        trainable=_trainable(args.trainable, args.lock_image), mcq_weight=args.mcq_weight, image_root=args.image_root,
        eval_data=args.eval_data, eval_zeroshot=args.eval_zeroshot,
        cache_features=args.cache_features, cache_dir=args.cache_dir, precision=args.precision, device=args.device,
        workers=args.workers, seed=args.seed, save_every=args.save_every, keep_last=args.keep_last, resume=args.resume,
        eval_every=0 if args.no_eval else args.eval_every, eval_at_end=not args.no_eval,
        eval_tasks=tuple(t.strip() for t in args.eval_tasks.split(",") if t.strip()), log_every=args.log_every,
        tensorboard=args.tensorboard, wandb=args.wandb, wandb_project=args.wandb_project, limit=args.limit,
        export=not args.no_export, push_to_hub=args.push_to_hub,
    )


def _trainable(choice: str | None, lock_image: bool | None) -> str | None:
    """``--trainable``, refused when an explicit ``--lock-image`` / ``--no-lock-image`` says otherwise."""
    if choice is None or lock_image is None:
        return choice
    try:
        trains_image = trains_image_tower(choice)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if trains_image == lock_image:
        flag = "--lock-image" if lock_image else "--no-lock-image"
        raise UsageError(f"--trainable {choice} and {flag} disagree about the image tower; give only --trainable")
    return choice


def _run_train(argv: Sequence[str]) -> int:
    args = _train_parser().parse_args(argv)
    cfg = config_from_args(args)

    check_train_config(cfg)
    print_warnings(cfg)
    from ccneg_bench.train.evaluation import make_eval_fn  # lazy: torch
    from ccneg_bench.train.loop import train  # lazy: torch

    eval_fn = make_eval_fn(cfg) if cfg.eval_at_end or cfg.eval_every else None
    summary = train(cfg, eval_fn)
    import os

    if int(os.environ.get("RANK", "0")) != 0:
        return 0
    if cfg.push_to_hub and summary.get("export"):
        from ccneg_bench.train.export import push_to_hub  # lazy: torch

        summary["hub"] = push_to_hub(Path(summary["export"]), cfg.push_to_hub)
    _print_summary(summary)
    return 0


#: the metrics the end-of-run summary prints per task (log.jsonl and run.json hold them all)
SUMMARY_METRICS = ("accuracy", "total_accuracy", "acc1", "image_to_text_R@1", "text_to_image_R@1", "skipped")


def _print_summary(summary: dict) -> None:
    print(f"steps {summary['steps']}/{summary['total_steps']}  rows {summary['rows']}  "
          f"skipped {summary['skipped'] or 0}  bad images {summary['bad_images']}  {summary['seconds']:.1f} s")
    for task, metrics in (summary.get("eval") or {}).items():
        if not isinstance(metrics, dict):
            print(f"eval {task}: {metrics}")
            continue
        shown = ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items()
                          if k in SUMMARY_METRICS)
        print(f"eval {task}: {shown}")
    if summary.get("export"):
        print(f"export: {summary['export']}")
    if summary.get("hub"):
        print(f"hub: {summary['hub']}")


def _run_mine(argv: Sequence[str]) -> int:
    args = _mine_parser().parse_args(argv)
    from ccneg_bench.mining import check_mining_inputs, mine_distractors, mining_summary  # lazy: torch

    pretrained = resolve_pretrained(args.model, args.pretrained)
    check_device(args.device)
    check_mining_inputs(args.data, args.pool, args.split, args.pool_split)
    check_model(args.model, pretrained)
    absence = absence_settings(args)
    manifest = mine_distractors(
        args.data, args.pool, model=args.model, pretrained=None if is_none(pretrained) else pretrained, k=args.k,
        split=args.split, pool_split=args.pool_split, out=args.out, cache_dir=args.cache_dir, device=args.device,
        batch_size=args.batch_size, workers=args.workers, absence=absence,
    )
    print(mining_summary(manifest))
    return 0


def _run_export(argv: Sequence[str]) -> int:
    args = _export_parser().parse_args(argv)
    from ccneg_bench.train.checkpoint import resolve_resume  # lazy: torch
    from ccneg_bench.train.export import export_checkpoint, push_to_hub  # lazy: torch

    checkpoint = args.checkpoint
    if checkpoint == "latest" or checkpoint.isdigit():
        if not args.run:
            raise UsageError(f"--checkpoint {checkpoint} needs --run RUN_FOLDER (or give a checkpoint file)")
        path = resolve_resume(checkpoint, Path(args.run))
        if path is None:
            raise UsageError(f"--run {args.run}: no checkpoint under {Path(args.run) / 'checkpoints'}")
    else:
        path = Path(checkpoint)
        if not path.is_file():
            raise UsageError(f"--checkpoint {checkpoint}: no such file")
    folder = export_checkpoint(path, Path(args.out))
    print(f"exported {path} -> {folder}")
    if args.push_to_hub:
        print(f"hub: {push_to_hub(folder, args.push_to_hub, private=args.private)}")
    return 0


@quiet_on_closed_pipe
def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in COMMANDS else "train"
    rest = argv[1:] if argv and argv[0] in COMMANDS else argv
    try:
        if command == "mine-distractors":
            return _run_mine(rest)
        if command == "export":
            return _run_export(rest)
        return _run_train(rest)
    except (ValueError, FileNotFoundError, NotADirectoryError) as err:
        print(f"ccneg-train: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader of stdout went away: the entry point ends quietly
        raise
    except OSError as err:  # I/O and network (e.g. weights that cannot be downloaded): exit 1
        print(f"ccneg-train: error: {err}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as err:  # the data-generation install has no torch
        if err.name and err.name.split(".")[0] in {"torch", "torchvision", "open_clip", "safetensors", "numpy"}:
            print(f"ccneg-train: error: needs the '{err.name}' package: pip install 'ccneg[train]'", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
