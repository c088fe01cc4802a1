"""``ccneg-build review OUT``: write a review page, or turn exported judgments into precision.

Everything it writes goes under ``OUT/review/`` (unless ``--html`` names another file),
atomically; ``--overwrite`` builds leave that folder alone, so judgments are never lost to a
rebuild. Exit codes: 0 done; 2 bad arguments, folder or judgments file; 1 a file could not
be written.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import re
import sys
from pathlib import Path
from typing import Sequence

from ccneg_core.layout import DATA_DIR, REVIEW_DIR
from ccneg_build.review.page import render_review_page
from ccneg_build.review.precision import JudgmentsError, format_report, load_judgments, precision_report
from ccneg_build.review.sample import REVIEW_SPLITS, ReviewInputError, sample_rows
from ccneg_core.writer import atomic_write_json, atomic_write_text
from ccneg_core.argparsing import OneLineParser

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

EPILOG = """\
examples:
  ccneg-build review cc3m-val-neg                       # 50 accepted rows -> cc3m-val-neg/review/*.html
  ccneg-build review cc3m-val-neg --split rejected --n 100 --seed 1
  ccneg-build review cc3m-val-neg --judgments cc3m-val-neg-accepted-seed0.judgments.json

On the page: o/1 ok, b/2 bad, s/3 skip, u/0 clear, j/k (or arrows) next/previous, e export.
Marks are kept by the browser (localStorage) across reloads; the export is {id: "ok" | "bad"}."""


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="ccneg-build review",
        description="Write one self-contained HTML page (images inline, nothing loaded from the network, "
                    "works from file://) to judge a seeded sample of a built dataset with the keyboard; "
                    "with --judgments, print the precision of the judged rows with 95% Wilson intervals, "
                    "overall and by negation type, cue and generator, and keep it under OUT/review/.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", metavar="OUT", type=Path, help="a folder written by ccneg-build")
    parser.add_argument("--n", type=_positive_int, default=50, help="rows on the page (default: 50)")
    parser.add_argument("--seed", type=int, default=0, help="sample seed (default: 0); same seed, same rows")
    parser.add_argument("--split", choices=REVIEW_SPLITS, default="accepted",
                        help="rows to sample: accepted (train and eval, default), train, eval or rejected")
    parser.add_argument("--html", type=Path, metavar="FILE",
                        help="page to write (default: OUT/review/review-SPLIT-seedSEED-nN.html)")
    parser.add_argument("--judgments", type=Path, metavar="FILE",
                        help="exported judgments {id: \"ok\"|\"bad\"}: print and keep the precision instead")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    try:
        return _precision(args) if args.judgments else _page(args)
    except (ReviewInputError, JudgmentsError) as err:
        print(f"ccneg-build review: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # the reader of stdout went away: the entry point ends quietly
        raise
    except OSError as err:
        print(f"ccneg-build review: error: cannot write {err.filename or ''}: {err.strerror or err}", file=sys.stderr)
        return EXIT_FAILURE


def _page(args: argparse.Namespace) -> int:
    out: Path = args.out
    rows = sample_rows(out, args.split, args.n, args.seed)
    target = args.html or out / REVIEW_DIR / f"review-{args.split}-seed{args.seed}-n{args.n}.html"
    if not args.no_progress and rows:
        from tqdm import tqdm

        rows = list(tqdm(rows, desc="ccneg-build review", unit="row", file=sys.stderr, leave=False))
    folder_name = out.resolve().name
    text = render_review_page(rows, folder_name=folder_name, split=args.split, seed=args.seed, root=str(out))
    atomic_write_text(target, text)
    print(f"wrote {target}: {len(rows)} {args.split} rows (seed {args.seed}); open it in a browser "
          f"({target.resolve().as_uri()})")
    return EXIT_OK


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".judgments.json", ".json"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "judgments"


def _precision(args: argparse.Namespace) -> int:
    out: Path = args.out
    if not (out / DATA_DIR).is_dir():
        raise ReviewInputError(f"{out}: no {DATA_DIR}/ folder (give the --out folder of a ccneg-build run)")
    judgments = load_judgments(args.judgments)
    report = precision_report(out, judgments)
    text = format_report(report)
    print(text)
    folder = out / REVIEW_DIR
    stem = _stem(args.judgments)
    raw = args.judgments.read_bytes()
    kept = folder / f"judgments-{stem}.json"
    if kept.resolve() != args.judgments.resolve():
        atomic_write_json(kept, judgments)
    atomic_write_json(folder / f"precision-{stem}.json", {
        "judgments_file": args.judgments.name,
        "judgments_sha256": hashlib.sha256(raw).hexdigest(),
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        **report.as_dict(),
    })
    atomic_write_text(folder / f"precision-{stem}.txt", text + "\n")
    print(f"kept under {folder}: precision-{stem}.json, precision-{stem}.txt, judgments-{stem}.json")
    return EXIT_OK
