"""``ccneg-bench``: the command line only (parse, call :func:`ccneg_bench.evaluate`, print a summary)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Sequence

from ccneg_bench.config import BenchConfig
from ccneg_bench.models.registry import check_model, kinds_help, model_kinds, model_notes, resolve_pretrained
from ccneg_bench.options import PRETRAINED_HELP, HelpFormatter, UsageError, non_negative_int, positive_int
from ccneg_core.argparsing import OneLineParser
from ccneg_core.devices import add_device_arguments, resolve_device
from ccneg_core.pipes import quiet_on_closed_pipe
from ccneg_bench.options import exit_status
from ccneg_bench.results import headline
from ccneg_bench.report import main as report_main
from ccneg_bench.suite import default_cache_dir

EPILOG = """\
{model_specs}

datasets: a ccneg-build output folder, a folder with the released ccneg_preprocessed.pt
(eval split = last 40,000 samples, all of a smaller file), or hf:ORG/NAME.

ties: ccneg scores as the release does (argmax over [true, negated]: a tie counts as correct);
ccneg-balanced counts a tie as half on each side. Results also report ties, truncated
(captions longer than the model's context length) and the accuracy under each tie rule.

examples:
  ccneg-bench --model open_clip:ViT-B-32 --pretrained openai --dataset ccneg-out --task ccneg --output results
  ccneg-bench --model conclip:conclip_b32.pt --model text:negation-words --dataset /data/ccneg \\
      --task ccneg --task retrieval --output results --cache-dir ~/.cache/ccneg-bench
  ccneg-bench --model open_clip:ViT-B-32 --pretrained openai \
      --dataset negbench:COCO_val_mcq_llama3.1_rephrased.csv --image-root coco --output results
  ccneg-bench suite --model open_clip:ViT-B-32 --pretrained openai --suite suite.yaml --output results
  ccneg-bench report results/*.json --output leaderboard
"""


def epilog() -> str:
    """The help's epilog, its model specs read from the model registry."""
    return EPILOG.replace("{model_specs}", kinds_help())


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="ccneg-bench",
        description="Score CLIP-like models on negation: ccneg (true vs negated caption),\n"
        "ccneg-balanced (adds distractor images) and retrieval, and on the public negation\n"
        "benchmarks (NegBench, SugarCREPE, CREPE, negated zero-shot classification).\n"
        "Writes one CLIP_benchmark-compatible JSON per (dataset, model, task) and prints a summary.\n"
        "Subcommands: ccneg-bench report RESULTS... and ccneg-bench suite (see their --help).",
        epilog=epilog(),
        formatter_class=HelpFormatter,
    )
    add_model_arguments(parser)
    parser.add_argument("--dataset", required=True, metavar="D",
                        help="ccneg-build folder, released CC-Neg folder, hf:ID, or KIND:PATH of a public benchmark")
    parser.add_argument("--split", default="eval", help="split to score (default: eval)")
    parser.add_argument("--task", action="append", default=None, metavar="T",
                        help="ccneg, ccneg-balanced, retrieval, mcq, pair, crepe, grounding, zeroshot, zeroshot-negated; "
                        "repeatable (default: the dataset's own: ccneg for CC-Neg data)")
    add_benchmark_arguments(parser)
    parser.add_argument("--output", required=True, metavar="DIR", help="folder for result JSON (and predictions)")
    parser.add_argument("--cache-dir", default=None, metavar="C",
                        help="feature cache folder, keyed by the weights' content: reruns and further tasks "
                        "skip image decoding and encoding, and a rerun whose features are all cached never "
                        "builds the model (default: no cache)")
    add_run_arguments(parser)
    return parser


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", action="append", required=True, metavar="SPEC",
                        help=f"model spec KIND:NAME, KIND one of {', '.join(model_kinds())} "
                        "(repeatable: several models in one run)")
    parser.add_argument("--pretrained", action="append", default=None, metavar="P",
                        help=PRETRAINED_HELP + ". Give it once for all models or once per --model")


def add_benchmark_arguments(parser: argparse.ArgumentParser, per_dataset: bool = True) -> None:
    """Options of the public benchmarks (shared by the main command and ``suite``)."""
    if per_dataset:
        parser.add_argument("--image-root", default=None, metavar="DIR",
                            help="local image folder: maps NegBench's absolute paths onto it (longest existing tail), "
                            "SugarCREPE's val2017 (default DIR/val2017), CREPE's VG_100K folders")
        parser.add_argument("--templates", default=None, metavar="FILE",
                            help="zeroshot prompts: JSON list with {c}, or {class: [prompts]} "
                            "(default: \"this is a photo of a {c}.\")")
        parser.add_argument("--negated-templates", default=None, metavar="FILE",
                            help="zeroshot-negated prompts, same format (default: \"this is not a photo of a {c}.\")")
    parser.add_argument("--tie-rule", default="official", metavar="official|wrong|half",
                        help="exact ties in choice and ranking tasks: each benchmark's official rule (default), "
                        "always wrong, or half credit")
    parser.add_argument("--shuffle-options", type=non_negative_int, default=None, metavar="SEED",
                        help="permute each multiple-choice sample's options with this seed (exposes position bias)")


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch-size", type=positive_int, default=64, metavar="N", help="images per batch")
    parser.add_argument("--workers", type=non_negative_int, default=2, metavar="N",
                        help="image decoding worker processes (0: decode in the main process)")
    add_device_arguments(parser)
    parser.add_argument("--save-predictions", action="store_true", help="write per-sample scores to Parquet")
    parser.add_argument("--bootstrap", type=non_negative_int, default=1000, metavar="N",
                        help="bootstrap resamples for 95%% CIs (0: no CIs)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--chunk-size", type=positive_int, default=1024, metavar="N", help="images per cache chunk")
    parser.add_argument("--released-eval-size", type=positive_int, default=None, metavar="N",
                        help="eval split of the released files: their last N rows (default 40000, the release's "
                        "rule; a smaller file is all eval)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def _failed(err: Exception) -> int:
    """One line on stderr and the exit status of :func:`ccneg_bench.options.exit_status`. A closed
    output pipe is no error: it goes on up to the entry point, which ends quietly."""
    if isinstance(err, BrokenPipeError):
        raise err

    print(f"error: {err}", file=sys.stderr)
    return exit_status(err)


def _pairs(models: list[str], pretrained: list[str] | None) -> list[tuple[str, str | None]]:
    if not pretrained:
        return [(m, None) for m in models]
    if len(pretrained) == 1:
        return [(m, pretrained[0]) for m in models]
    if len(pretrained) != len(models):
        raise UsageError(f"--pretrained given {len(pretrained)} times for {len(models)} --model values; "
                         "give it once or once per model")
    return list(zip(models, pretrained))


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    """The :class:`BenchConfig` a parsed command line (main command or ``suite``) describes: the one place."""
    dataset_options: dict[str, object] = {}
    if getattr(args, "released_eval_size", None):
        dataset_options["eval_size"] = args.released_eval_size
    for name in ("image_root", "templates", "negated_templates"):
        if hasattr(args, name):
            dataset_options[name] = getattr(args, name)
    return BenchConfig(
        split=getattr(args, "split", "eval"), dataset_options=dataset_options, output_dir=args.output,
        cache_dir=args.cache_dir, batch_size=args.batch_size, workers=args.workers, device=args.device,
        precision=args.precision, save_predictions=args.save_predictions, bootstrap=args.bootstrap, seed=args.seed,
        progress=not args.no_progress, chunk_size=args.chunk_size, tie_rule=args.tie_rule,
        shuffle_options=args.shuffle_options,
    )


def check_arguments(args: argparse.Namespace, config: BenchConfig) -> list[tuple[str, str | None]]:
    """Every check that needs no model and no data; returns the (spec, pretrained) pairs to run.

    Shared by the main command and ``suite`` (whose tasks come from its file), so that both
    resolve ``--pretrained`` the same way. Raises :class:`UsageError` (exit 2) or
    ``WeightsUnavailable`` (exit 1) before anything loads.
    """
    from ccneg_bench.tasks import get_task  # lazy: torch (the tasks' modules import it)

    for name in getattr(args, "task", None) or []:
        get_task(name)
    config.check()
    if os.path.exists(args.output) and not os.path.isdir(args.output):
        raise UsageError(f"--output {args.output}: exists and is not a folder")
    pairs = [(spec, resolve_pretrained(spec, p)) for spec, p in _pairs(args.model, args.pretrained)]
    for spec, pretrained in pairs:
        check_model(spec, pretrained)
    return pairs


def print_model_notes(pairs: list[tuple[str, str | None]]) -> None:
    """Each model kind's notes and warnings (random weights, a likely activation mismatch), one
    line each on stderr, after every check has passed."""
    for spec, pretrained in pairs:
        for label, text in model_notes(spec, pretrained):
            print(f"{label}: {text}", file=sys.stderr)


def print_model_builds(models: Sequence[Any], stream: Any = None) -> None:
    """Whether each model was built, or every feature came from the cache (so it never was)."""
    for model in models:
        state = "built" if model.built else "not built: every feature came from the cache"
        print(f"{model.spec}: {state}", file=stream or sys.stdout)


def _headline(result: dict[str, Any]) -> str:
    metrics = result.get("metrics") or {}
    if result.get("status") != "ok":
        return "error"
    if "accuracy" in metrics and metrics["accuracy"] is not None:
        ci = metrics.get("ci95")
        return f"acc {100 * metrics['accuracy']:.2f}%" + (f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else "")
    if metrics.get("image_to_text_R@1") is not None and "text_to_image_R@1" in metrics:
        return f"i2t R@1 {100 * metrics['image_to_text_R@1']:.2f}%  t2i R@1 {100 * metrics['text_to_image_R@1']:.2f}%"

    return headline(result)


def print_summary(results: list[dict[str, Any]], stream: Any = None) -> None:
    stream = stream or sys.stdout
    rows = [("model", "dataset", "task", "n", "failed", "result", "s", "img/s")]
    for r in results:
        metrics = r.get("metrics") or {}
        rows.append((r["model"], r["dataset"], r["task"], str(r["n"]), str(metrics.get("n_failed", "-")), _headline(r),
                     f"{r['seconds']:.2f}", f"{r['images_per_second'] or 0:.1f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)), file=stream)
    for r in results:
        if r.get("status") != "ok":
            print(f"error: {r['model']} / {r['dataset']} / {r['task']}: {r['error']}", file=sys.stderr)
        failures = r.get("failures") or []
        if failures:
            codes: dict[str, int] = {}
            for f in failures:
                codes[f["code"]] = codes.get(f["code"], 0) + 1
            print(f"note: {r['model']} / {r['dataset']} / {r['task']}: {len(failures)} samples not scored: "
                  + ", ".join(f"{k} x{v}" for k, v in sorted(codes.items())) + " (listed in the result file)", file=sys.stderr)
        if r.get("n_converted"):
            codes = {}
            for c in r["conversions"]:
                codes[c["code"]] = codes.get(c["code"], 0) + 1
            print(f"note: {r['model']} / {r['dataset']} / {r['task']}: {r['n_converted']} images scored after a mode conversion: "
                  + ", ".join(f"{k} x{v}" for k, v in sorted(codes.items())), file=sys.stderr)
    if results and results[0].get("path"):
        print(f"results written to {results[0]['path'].rsplit('/', 1)[0]}", file=stream)


@quiet_on_closed_pipe
def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "report":
        return report_main(argv[1:])
    if argv and argv[0] == "suite":
        return suite_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        from ccneg_bench.datasets import load_eval_dataset  # lazy: torch (a data-only install has none)
        from ccneg_bench.evaluation import evaluate_with  # lazy: torch
        from ccneg_bench.models.lazy import LazyModel  # lazy: torch
    except ModuleNotFoundError as err:  # the data-generation install has no torch
        print(f"error: ccneg-bench needs the '{err.name}' package: pip install 'ccneg[bench]'", file=sys.stderr)
        return 2

    try:
        config = config_from_args(args)
        pairs = check_arguments(args, config)
        dataset = load_eval_dataset(args.dataset, split=config.split, **config.dataset_options)
        print_model_notes(pairs)
        device = resolve_device(config.device)
        models = [LazyModel(spec, pretrained, device, config.cache_dir) for spec, pretrained in pairs]
        results = evaluate_with(models, dataset, args.task, config)
    except (ValueError, OSError) as err:
        return _failed(err)
    print_summary(results)
    if config.cache_dir:
        print_model_builds(models)
    return 0 if all(r.get("status") == "ok" for r in results) else 1


def build_suite_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="ccneg-bench suite",
        description="Run a list of (dataset, task) entries from a YAML file in one process: each model is\n"
        "loaded once, on the first feature missing from the cache, and shared by every entry; a rerun\n"
        "whose features are all cached never builds the model. Results as for ccneg-bench.",
        epilog="suite file: a YAML list of entries, e.g.\n"
        "  - dataset: negbench:COCO_val_mcq_llama3.1_rephrased.csv\n"
        "    image_root: coco\n"
        "  - dataset: sugarcrepe:sugar_crepe\n"
        "  - dataset: cifar10:cifar\n"
        "    task: [zeroshot, zeroshot-negated]\n"
        "keys: dataset (required), task (name or list; default: the dataset's own), split, image_root,\n"
        "templates, negated_templates. Relative paths are relative to the suite file.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_model_arguments(parser)
    parser.add_argument("--suite", required=True, metavar="FILE.yaml", help="the entries to run")
    parser.add_argument("--output", required=True, metavar="DIR", help="folder for result JSON (and predictions)")
    parser.add_argument("--cache-dir", default=default_cache_dir(), metavar="C",
                        help="feature cache shared by all entries and reruns (default: %(default)s)")
    add_benchmark_arguments(parser, per_dataset=False)
    add_run_arguments(parser)
    return parser


def suite_main(argv: Sequence[str]) -> int:
    args = build_suite_parser().parse_args(argv)
    try:
        from ccneg_bench.suite import read_suite, run_suite  # lazy: the bench extra (a data-only install lacks it)
    except ModuleNotFoundError as err:
        print(f"error: ccneg-bench needs the '{err.name}' package: pip install 'ccneg[bench]'", file=sys.stderr)
        return 2
    try:
        config = config_from_args(args)
        pairs = check_arguments(args, config)
        entries = read_suite(args.suite)
        print_model_notes(pairs)
        results, models = run_suite(pairs, entries, config)
    except (ValueError, OSError) as err:
        return _failed(err)
    print_summary(results)
    print_model_builds(models)
    return 0 if all(r.get("status") == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
