"""``ccneg-build``: the command line only. Parse, call :func:`run_build`, print the summary.

Extending it:

* a backend adds its flags to :data:`BACKEND_FLAGS` (they land in ``config.options``,
  which the registry passes to the backend, and in the resume check unless its option
  module lists them in ``SPEED_OPTIONS``);
* an image option goes to :data:`IMAGE_FLAGS` (also into ``config.options``; in the resume
  check only when images are downloaded);
* another job of the build side is a subcommand in :data:`SUBCOMMANDS`
  (``name -> (help, "module:function")``; the function takes the remaining argv and
  returns an exit code).

Exit codes: 0 done; 2 bad input, settings or output folder, or no row accepted (nothing
published); 1 a
service (the LLM server) unreachable or rows still owed (rerun the same command to
finish), or an unexpected failure; 130 interrupted (rerun the same command to resume).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from pathlib import Path
from typing import Any, Sequence

from ccneg_core import __version__
from ccneg_build.config import IMAGE_MODES, BuildConfig
from ccneg_build.splits import PAPER_EVAL_FRACTION, EvalSize
from ccneg_build.options.flags import ConfigError, FlagSpec, flag_dest
from ccneg_build.options.images import image_flags
from ccneg_build.options.llm import llm_flags
from ccneg_build.options.visual import visual_flags
from ccneg_core.argparsing import OneLineParser
from ccneg_build.hub import main as push_main
from ccneg_build.engines import ENGINES
from ccneg_build.orchestration import RunIncomplete, run_build
from ccneg_build.negators.base import BackendError, ServiceUnreachable
from ccneg_build.outdir import OutputFolderError
from ccneg_build.publish import NothingAccepted
from ccneg_build.sources import input_formats
from ccneg_build.sources.base import InputError
from ccneg_build.verify import REASONS
from ccneg_build.options.images import IMAGE_REASONS
from ccneg_build.options.visual import VISUAL_REASONS
from ccneg_core.pipes import quiet_on_closed_pipe
from ccneg_build.negbench.absent import ABSENT_REASONS
from ccneg_build.negbench.settings import negbench_flags
from ccneg_core.record import DEFAULT_STYLE, STYLES

#: (flags, argparse keyword arguments) of backend options; ``dest`` becomes the options key.
BACKEND_FLAGS: list[FlagSpec] = llm_flags()
#: (flags, argparse keyword arguments) of image options (``--images download``).
IMAGE_FLAGS: list[FlagSpec] = image_flags()
#: (flags, argparse keyword arguments) of the visual check (``--verify-visual``).
VISUAL_FLAGS: list[FlagSpec] = visual_flags()
#: (flags, argparse keyword arguments) of ``--style negbench``.
NEGBENCH_FLAGS: list[FlagSpec] = negbench_flags()
#: subcommand -> (one-line help, "module:function(argv) -> int")
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "reasons": ("list the reject reason codes and what they mean", "ccneg_build.cli:reasons_command"),
    "import-official": ("convert the released CC-Neg files (ccneg_preprocessed.pt + images) into a ccneg dataset",
                        "ccneg_build.official.commands:import_command"),
    "export-official": ("write a ccneg dataset in the released CC-Neg layout", "ccneg_build.official.commands:export_command"),
    "push": ("validate a built folder and upload it to the Hugging Face Hub", "ccneg_build.hub:main"),
    "review": ("write an HTML page to judge sampled rows; with --judgments, the precision they give",
               "ccneg_build.review.command:main"),
    "tour-inputs": ("write the quick tour's inputs (captioned photos, a tiny model config)", "ccneg_build.tour:main"),
}

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

DESCRIPTION = """\
Turn a caption corpus into a CC-Neg-style negation dataset: for every caption a negated
caption and an exclusion caption, checked by one shared filter, split into train/eval by
id hash and written as Parquet shards ready for the Hugging Face Hub.

INPUT is a CC3M TSV (caption<TAB>url), a CC3M Image Labels TSV, a .parquet/.jsonl/.csv
file, or hf:ORG/NAME[:SPLIT]; without INPUT the embedded sample of 300 real CC3M
captions is used. Rerunning the same command resumes an interrupted run."""

EPILOG = """\
other jobs: ccneg-build SUBCOMMAND --help, with SUBCOMMAND one of: {subcommands}

rejected rows carry a reason code, e.g. markup (HTML in a caption), bad_characters (control or
bidirectional-control characters such as U+202E), private_address (an image URL, or a redirect,
on a private, loopback or link-local address); `ccneg-build reasons` lists every code.
exit codes: 0 done; 2 bad input, flag value or output folder, or no row accepted (nothing published);
1 the LLM server is unreachable or rows are still owed (rerun the same command to finish them); 130 interrupted.

examples:
  ccneg-build --out ccneg-sample
  ccneg-build Validation_GCC-1.1.0-Validation.tsv --out cc3m-val-neg --workers 4
  ccneg-build captions.parquet --caption-column text --url-column link --out my-neg --eval-size 2000
  ccneg-build hf:ORG/NAME:train --limit 10000 --out hf-neg
  GEMINI_API_KEY=... ccneg-build --backend gemini --rpm 60 --out gemini-neg
  OPENAI_API_KEY=... ccneg-build --backend openai --model gpt-4o-mini --price-in 0.15 --price-out 0.6 --out openai-neg
  ccneg-build --backend openai --base-url http://localhost:8000/v1 --model MODEL --concurrency 64 --out vllm-neg
  ccneg-build captions.tsv --images download --verify-visual hf-detector:google/owlv2-base-patch16-ensemble --out checked-neg
  ccneg-build Image_Labels_subset.tsv --style negbench --images download --out negbench-cc3m
  ccneg-build review checked-neg                   # a page to judge 50 sampled rows by hand"""


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be zero or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The build command's parser, in argument groups that other parts extend."""
    parser = OneLineParser(
        prog="ccneg-build",
        description=DESCRIPTION,
        epilog=EPILOG.format(subcommands=", ".join(SUBCOMMANDS)),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", nargs="?", metavar="INPUT", help="caption corpus (default: embedded CC3M sample)")
    parser.add_argument("--version", action="version", version=f"ccneg-build {__version__}")

    source = parser.add_argument_group("input")
    source.add_argument("--input-format", default="auto",
                        choices=input_formats(),
                        help="input format (default: detected from the extension and first lines)")
    source.add_argument("--caption-column", help="caption column of Parquet/JSONL/CSV/hf input (default: caption, text, ...)")
    source.add_argument("--url-column", help="image URL column (default: url, URL, image_url if present)")
    source.add_argument("--image-column", help="image column (bytes, {bytes, path} or a path) for --images column")
    source.add_argument("--labels-column", help="labels column (default: labels if present)")
    source.add_argument("--limit", type=positive_int, help="read only the first N rows of the input")

    backend = parser.add_argument_group("negation backend")
    backend.add_argument("--backend", default="rule",
                         help="negation backend: rule (default, the offline spaCy rules), openai (also any "
                              "OpenAI-compatible server via --base-url) or gemini")
    backend.add_argument("--seed", type=int, default=0,
                         help="seed of the per-row choice of the object to negate (default: 0)")
    for flags, kwargs in BACKEND_FLAGS:
        backend.add_argument(*flags, **kwargs)

    output = parser.add_argument_group("output")
    output.add_argument("--out", required=True, type=Path,
                        help="output folder: created if missing, resumed if ccneg-build made it; a non-empty "
                             "folder that ccneg-build did not make is refused")
    output.add_argument("--style", choices=STYLES, default=DEFAULT_STYLE,
                        help="what to write: ccneg (default: a negated and an exclusion caption per row) or "
                             "negbench (objects present and absent, NegBench-style 4-way MCQ and negated retrieval "
                             "captions, also as OUT/negbench/mcq_{split}.csv and retrieval_{split}.csv)")
    for flags, kwargs in NEGBENCH_FLAGS:
        output.add_argument(*flags, **kwargs)
    output.add_argument("--eval-size", default=str(PAPER_EVAL_FRACTION), metavar="N|FRACTION",
                        help="eval split: a row count >= 1 (e.g. 2000, exact; it must leave train rows) or a "
                             "fraction of accepted rows between 0 and 1 (e.g. 0.1; 1.0 is refused as ambiguous); "
                             f"0 for none (default: {PAPER_EVAL_FRACTION}, the paper's ratio). May change on a rerun")
    output.add_argument("--rows-per-file", type=positive_int, default=50_000,
                        help="rows per published Parquet file (default: 50000)")
    output.add_argument("--overwrite", action="store_true",
                        help="replace a dataset made with other settings: removes only the files ccneg-build "
                             "wrote (never in the root, home or current folder; the LLM request cache is kept)")
    output.add_argument("--push-to-hub", metavar="REPO_ID", default=None,
                        help="after a successful build, validate and upload OUT to this Hub dataset repo "
                             "(same as `ccneg-build push OUT REPO_ID`; token from HF_TOKEN or the saved login)")
    output.add_argument("--hub-private", action="store_true", help="with --push-to-hub: create the repo as private")

    run = parser.add_argument_group("execution")
    run.add_argument("--workers", type=positive_int, default=1,
                     help="worker processes, at most one per shard (default: 1)")
    run.add_argument("--shard-size", type=positive_int, default=1000,
                     help="rows per shard, the unit of resuming (default: 1000)")
    run.add_argument("--engine", default="local", choices=ENGINES.names(),
                     help="where shards run: local (this process, or a pool of --workers processes), pool, or "
                          "ray, a Ray cluster (RAY_ADDRESS, else a local one with --workers CPUs); same dataset "
                          "either way (default: local)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")

    images = parser.add_argument_group("images")
    images.add_argument("--images", choices=IMAGE_MODES, default="none",
                        help="none: text only (default); download: fetch each row's URL; "
                             "column: take images from --image-column")
    for flags, kwargs in IMAGE_FLAGS:
        images.add_argument(*flags, **kwargs)

    visual = parser.add_argument_group("visual check (rows with images; needs the bench extra)")
    for flags, kwargs in VISUAL_FLAGS:
        visual.add_argument(*flags, **kwargs)
    return parser


def config_from_args(args: argparse.Namespace) -> BuildConfig:
    """Turn parsed flags into the :class:`BuildConfig` every step receives: the one place it is made.

    The option groups' flags (LLM, image, visual) land in ``config.options`` under their
    ``dest``; unset ones (``None``) are left out.
    """
    dests = [flag_dest(flags, kwargs) for flags, kwargs in BACKEND_FLAGS + IMAGE_FLAGS + VISUAL_FLAGS + NEGBENCH_FLAGS]
    options = {d: getattr(args, d) for d in dests if getattr(args, d) is not None}
    return BuildConfig(
        out=args.out,
        input=args.input,
        input_format=args.input_format,
        caption_column=args.caption_column,
        url_column=args.url_column,
        image_column=args.image_column,
        labels_column=args.labels_column,
        limit=args.limit,
        backend=args.backend,
        seed=args.seed,
        workers=args.workers,
        shard_size=args.shard_size,
        rows_per_file=args.rows_per_file,
        eval_size=EvalSize.parse(args.eval_size),
        images=args.images,
        overwrite=args.overwrite,
        progress=not args.no_progress,
        engine=args.engine,
        style=args.style,
        options=options,
    )


def _error(message: str) -> None:
    print(f"ccneg-build: error: {message}", file=sys.stderr)


@quiet_on_closed_pipe
def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        module_name, _, function = SUBCOMMANDS[argv[0]][1].partition(":")
        return getattr(importlib.import_module(module_name), function)(argv[1:])

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
        config.validate()
    except ConfigError as exc:
        _error(str(exc))
        return EXIT_USAGE
    status = run(config)
    if status == EXIT_OK and args.push_to_hub:
        status = push_main([str(config.out), args.push_to_hub] + (["--private"] if args.hub_private else []))
    return status


def run(config: BuildConfig) -> int:
    """Run a build and print its summary; map known failures to exit codes."""
    bar = _ProgressBar(config.progress)
    try:
        report = run_build(config, progress=bar.update, on_start=bar.start)
    except (InputError, ConfigError, OutputFolderError, BackendError, NothingAccepted) as exc:
        bar.close()
        _error(str(exc))
        return EXIT_USAGE
    except (ServiceUnreachable, RunIncomplete) as exc:  # rows are owed: not done, nothing published
        bar.close()
        _error(str(exc))
        return EXIT_FAILURE
    except KeyboardInterrupt:
        bar.close()
        _error("interrupted; finished shards are kept: rerun the same command to resume")
        return EXIT_INTERRUPTED
    except Exception as exc:  # unexpected: show where, keep the one-line summary last
        bar.close()
        traceback.print_exc()
        _error(f"{type(exc).__name__}: {exc} (finished shards are kept: rerun the same command to resume)")
        return EXIT_FAILURE
    bar.close()
    print(format_summary(report))
    return EXIT_OK


class _ProgressBar:
    """A tqdm bar on stderr counting input rows, with the running acceptance rate and, when a
    step gave up on requests (counters named ``*.failures``, e.g. an LLM backend's), their number."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None
        self.accepted = 0
        self.rows = 0
        self.failed = 0

    def start(self, source: Any, total: int | None) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        tqdm.monitor_interval = 0  # no monitor thread: worker processes are forked from this one
        self.bar = tqdm(total=total, unit="row", desc=f"ccneg-build {source.name}", file=sys.stderr,
                        dynamic_ncols=True, smoothing=0.1)

    def update(self, _plan: Any, marker: dict[str, Any], resumed: bool) -> None:
        self.accepted += marker["accepted"]
        self.rows += marker["rows"]
        if self.bar is not None:
            self.bar.update(marker["rows"])
            self.failed += sum(v for k, v in marker["counts"].items() if k.endswith(".failures"))
            postfix = {"accepted": f"{self.accepted / max(1, self.rows):.1%}"}
            if self.failed:
                postfix["failed"] = self.failed
            self.bar.set_postfix(postfix, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def format_summary(report: Any) -> str:
    """The end-of-run table: rows, splits, reject reasons with rates, time and output."""
    manifest = report.manifest
    counts = manifest["counts"]
    rows = counts["rows_read"] or 0

    def share(n: int) -> str:
        return f"{n / rows:6.1%}" if rows else "   n/a"

    lines = [
        f"ccneg-build {manifest['backend']} ({manifest.get('model')}), seed {manifest['seed']}: "
        f"{report.mode} run, {report.shards_total} shards ({report.shards_resumed} already done)",
        f"  {'rows read':<34}{rows:>9}",
        f"  {'accepted':<34}{counts['accepted']:>9} {share(counts['accepted'])}",
    ]
    for name, n in counts["splits"].items():
        lines.append(f"    {'split ' + name:<32}{n:>9}")
    lines.append(f"  {'rejected':<34}{counts['rejected']:>9} {share(counts['rejected'])}")
    for reason, n in sorted(manifest["reject_reasons"].items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"    {reason:<32}{n:>9} {share(n)}")
    timings = manifest["timings"]
    lines += counter_lines(counts)
    if timings.get("rows_processed", 1):
        speed = f"{timings['rows_per_s']:.0f} rows/s in shards"
    else:
        speed = "every shard was already done"
    lines.append(f"  {'time':<34}{timings['total_s']:>8.1f}s ({speed})")
    extra = "negbench/, " if manifest.get("style") == "negbench" else ""
    lines.append(f"  output: {report.out} (data/, {extra}rejected/, splits/, manifest.json, README.md)")
    return "\n".join(lines)


#: Counts the summary shows above (the run's own bookkeeping); every other count is a step's.
RUN_COUNTS = frozenset({"rows_read", "accepted", "rejected", "acceptance_rate", "splits"})


def counter_lines(counts: dict[str, Any]) -> list[str]:
    """Whatever counters the pipeline's steps reported, whichever steps ran.

    ``group.stage.name`` counters (``llm.relation_parsing.requests``) share one line per
    ``group.stage``; other names get a line each; a ``*_microusd`` count is shown in dollars.
    """
    singles: list[tuple[str, int]] = []
    groups: dict[str, list[tuple[str, int]]] = {}
    for key, value in sorted(counts.items()):
        if key in RUN_COUNTS or not isinstance(value, int) or isinstance(value, bool):
            continue
        group, _, name = key.rpartition(".")
        if group.count(".") >= 1:
            groups.setdefault(group, []).append((name, value))
        else:
            singles.append((key, value))
    if not singles and not groups:
        return []
    lines = ["  step counters"]
    lines += [f"    {key:<32}{_count(key, value):>9}" for key, value in singles]
    for group, items in groups.items():
        lines.append(f"    {group:<32}" + ", ".join(f"{_name(n)} {_count(n, v)}" for n, v in items))
    return lines


def _name(name: str) -> str:
    return name.removesuffix("_microusd")


def _count(name: str, value: int) -> str:
    return f"${value / 1e6:.4f}" if name.endswith("_microusd") else str(value)


def reasons_command(argv: Sequence[str]) -> int:
    """``ccneg-build reasons``: print every reject reason code with its meaning."""
    parser = OneLineParser(prog="ccneg-build reasons", description="List the reject reason codes.")
    parser.parse_args(list(argv))
    codes = dict(REASONS)
    codes.update({code: f"(image) {meaning}" for code, meaning in IMAGE_REASONS.items()})
    codes.update(ABSENT_REASONS)
    codes.update({code: f"(visual) {meaning}" for code, meaning in VISUAL_REASONS.items()})
    width = max(len(code) for code in codes)
    for code, meaning in codes.items():
        print(f"{code:<{width}}  {meaning}")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
