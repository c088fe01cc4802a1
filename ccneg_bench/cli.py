"""``ccneg-bench``: the command line only (parse, call :func:`ccneg_bench.evaluate`, print a summary)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Sequence

from ccneg_bench.options import (
    PRETRAINED_HELP, HelpFormatter, OneLineParser, UsageError, check_device, non_negative_int, positive_int, print_note,
)

EPILOG = """\
model specs:
  open_clip:ARCH        with --pretrained TAG (openai, laion2b_s34b_b79k, ...), a weights file, or none;
                        ARCH may be hf-hub:ORG/NAME, a model-config JSON, or an exported folder
  hf:ORG/NAME           transformers CLIP / SigLIP (also hf:/local/save_pretrained/folder);
                        --pretrained REV picks a Hub revision
  conclip:PATH          released CoN-CLIP checkpoint (.pt holding {"model": OpenAI-CLIP state dict})
  text:negation-words   text-only baseline: prefers the caption without a negation word
  (more kinds via the Python entry-point group "ccneg_bench.models")

datasets: a ccneg-build output folder, a folder with the released ccneg_preprocessed.pt
(eval split = last 40,000 samples), or hf:ORG/NAME.

examples:
  ccneg-bench --model open_clip:ViT-B-32 --pretrained openai --dataset ccneg-out --task ccneg --output results
  ccneg-bench --model conclip:conclip_b32.pt --model text:negation-words --dataset /data/ccneg \\
      --task ccneg --task retrieval --output results --cache-dir ~/.cache/ccneg-bench
  ccneg-bench report results/*.json --output leaderboard
"""


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="ccneg-bench",
        description="Score CLIP-like models on negation: ccneg (true vs negated caption),\n"
        "ccneg-balanced (adds distractor images) and retrieval. Writes one JSON per\n"
        "(model, dataset, split, task) and prints a summary table.\n"
        "Subcommand: ccneg-bench report RESULTS... (see ccneg-bench report --help).",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--model", action="append", required=True, metavar="SPEC",
                        help="model spec (repeatable: several models in one run)")
    parser.add_argument("--pretrained", action="append", default=None, metavar="P",
                        help=PRETRAINED_HELP + ". Give it once for all models or once per --model")
    parser.add_argument("--dataset", required=True, metavar="D", help="ccneg-build folder, released CC-Neg folder or hf:ID")
    parser.add_argument("--split", default="eval", help="split to score")
    parser.add_argument("--task", action="append", default=None, metavar="T",
                        help="ccneg, ccneg-balanced or retrieval; repeatable (default: ccneg)")
    parser.add_argument("--output", required=True, metavar="DIR", help="folder for result JSON (and predictions)")
    parser.add_argument("--cache-dir", default=None, metavar="C",
                        help="feature cache folder, keyed by the weights' content: reruns and further tasks "
                        "skip image decoding and encoding (default: no cache)")
    parser.add_argument("--batch-size", type=positive_int, default=64, metavar="N", help="images per batch")
    parser.add_argument("--workers", type=non_negative_int, default=2, metavar="N",
                        help="image decoding worker processes (0: decode in the main process)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available, else cpu)")
    parser.add_argument("--precision", default="amp", choices=["amp", "bf16", "fp16", "fp32"],
                        help="autocast on GPU (amp = bf16 where supported); the CPU always runs fp32")
    parser.add_argument("--save-predictions", action="store_true", help="write per-sample scores to Parquet")
    parser.add_argument("--bootstrap", type=non_negative_int, default=1000, metavar="N",
                        help="bootstrap resamples for 95%% CIs (0: no CIs)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--chunk-size", type=positive_int, default=1024, metavar="N", help="images per cache chunk")
    parser.add_argument("--released-eval-size", type=positive_int, default=None, metavar="N",
                        help="size of the released files' eval split (default: 40000)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def _pairs(models: list[str], pretrained: list[str] | None) -> list[tuple[str, str | None]]:
    if not pretrained:
        return [(m, None) for m in models]
    if len(pretrained) == 1:
        return [(m, pretrained[0]) for m in models]
    if len(pretrained) != len(models):
        raise UsageError(f"--pretrained given {len(pretrained)} times for {len(models)} --model values; "
                         "give it once or once per model")
    return list(zip(models, pretrained))


def check_arguments(args: argparse.Namespace) -> list[tuple[str, str | None]]:
    """Every check that needs no model and no data; returns the (spec, pretrained) pairs to run.

    Raises :class:`UsageError` (exit 2) or ``WeightsUnavailable`` (exit 1) before anything loads.
    """
    from ccneg_bench.models.weights import check_model, resolve_pretrained
    from ccneg_bench.tasks import get_task

    for name in args.task or ["ccneg"]:
        get_task(name)
    check_device(args.device, allow_auto=False)
    if os.path.exists(args.output) and not os.path.isdir(args.output):
        raise UsageError(f"--output {args.output}: exists and is not a folder")
    pairs = [(spec, resolve_pretrained(spec, p)) for spec, p in _pairs(args.model, args.pretrained)]
    for spec, pretrained in pairs:
        check_model(spec, pretrained)
    return pairs


def note_random_weights(pairs: list[tuple[str, str | None]]) -> None:
    """Say so when a model will score with random weights (after every check has passed)."""
    from ccneg_bench.models.weights import is_random_open_clip

    for spec, pretrained in pairs:
        if is_random_open_clip(spec, pretrained):
            print_note(f"{spec} gets random weights (seeded; --pretrained none): it scores as a chance baseline")


def _headline(result: dict[str, Any]) -> str:
    metrics = result.get("metrics") or {}
    if result.get("status") != "ok":
        return "error"
    if "accuracy" in metrics and metrics["accuracy"] is not None:
        ci = metrics.get("ci95")
        return f"acc {100 * metrics['accuracy']:.2f}%" + (f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else "")
    if "image_to_text_R@1" in metrics and metrics["image_to_text_R@1"] is not None:
        return f"i2t R@1 {100 * metrics['image_to_text_R@1']:.2f}%  t2i R@1 {100 * metrics['text_to_image_R@1']:.2f}%"
    return "-"


def print_summary(results: list[dict[str, Any]], stream: Any = None) -> None:
    stream = stream or sys.stdout
    rows = [("model", "task", "n", "failed", "result", "s", "img/s")]
    for r in results:
        metrics = r.get("metrics") or {}
        rows.append((r["model"]["spec"], r["task"], str(r["n"]), str(metrics.get("n_failed", "-")), _headline(r),
                     f"{r['seconds']:.2f}", f"{r['images_per_second'] or 0:.1f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)), file=stream)
    for r in results:
        if r.get("status") != "ok":
            print(f"error: {r['model']['spec']} / {r['task']}: {r['error']}", file=sys.stderr)
        failures = r.get("failures") or []
        if failures:
            codes: dict[str, int] = {}
            for f in failures:
                codes[f["code"]] = codes.get(f["code"], 0) + 1
            print(f"note: {r['model']['spec']} / {r['task']}: {len(failures)} samples not scored: "
                  + ", ".join(f"{k} x{v}" for k, v in sorted(codes.items())) + " (listed in the result file)", file=sys.stderr)
        if r.get("n_converted"):
            codes = {}
            for c in r["conversions"]:
                codes[c["code"]] = codes.get(c["code"], 0) + 1
            print(f"note: {r['model']['spec']} / {r['task']}: {r['n_converted']} images scored after a mode conversion: "
                  + ", ".join(f"{k} x{v}" for k, v in sorted(codes.items())), file=sys.stderr)
    if results and results[0].get("path"):
        print(f"results written to {results[0]['path'].rsplit('/', 1)[0]}", file=stream)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "report":
        from ccneg_bench.report import main as report_main

        return report_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        from ccneg_bench.evaluation import evaluate
        from ccneg_bench.datasets import load_eval_dataset
    except ModuleNotFoundError as err:  # the data-generation install has no torch
        print(f"error: ccneg-bench needs the '{err.name}' package: pip install 'ccneg[bench]'", file=sys.stderr)
        return 2

    try:
        pairs = check_arguments(args)
        options = {"eval_size": args.released_eval_size} if args.released_eval_size else {}
        dataset = load_eval_dataset(args.dataset, split=args.split, **options)
        note_random_weights(pairs)
        results: list[dict[str, Any]] = []
        for spec, pretrained in pairs:
            results.extend(evaluate(
                spec, dataset, args.task or ["ccneg"], pretrained=pretrained, output_dir=args.output,
                cache_dir=args.cache_dir, batch_size=args.batch_size, workers=args.workers, device=args.device,
                precision=args.precision, save_predictions=args.save_predictions, bootstrap=args.bootstrap,
                seed=args.seed, progress=not args.no_progress, chunk_size=args.chunk_size,
            ))
    except (ValueError, FileNotFoundError, NotADirectoryError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # I/O and network: the arguments were fine, the world was not
        print(f"error: {err}", file=sys.stderr)
        return 1
    print_summary(results)
    return 0 if all(r.get("status") == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
