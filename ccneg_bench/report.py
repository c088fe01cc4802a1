"""``ccneg-bench report RESULTS...``: result JSON files -> CSV, Markdown leaderboard, PNG plots.

Reports are pure functions of result files (so they can be rebuilt any time, on any machine):

* ``results.csv``: one row per result file, metrics flattened (``ci95`` -> ``ci95_low/high``);
* ``leaderboard.md``: first one table of every model against every benchmark (a column per
  dataset or subset and task, its headline metric), then one table per task, best first;
* PNG plots (see :mod:`ccneg_bench.plots`): ``ccneg`` accuracy by negation cue and by number of
  relations, ``ccneg-balanced`` and ``retrieval`` per model, and per-model margin histograms
  (results saved with ``--save-predictions``); 95% intervals as error bars, n per group, the
  dataset and split in every title;
* ``report.html`` with ``--html`` (see :mod:`ccneg_bench.report_html`).
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from ccneg_bench.options import HelpFormatter, UsageError, exit_status
from ccneg_bench.plots import write_plots
from ccneg_bench.report_html import write_html_report
from ccneg_bench.results import MalformedResult, check_result, lower_is_better, main_metric, model_label, normalise
from ccneg_core.argparsing import OneLineParser
from ccneg_core.writer import atomic_write_text

MAIN_METRIC = {"ccneg": "accuracy", "ccneg-balanced": "accuracy", "retrieval": "image_to_text_R@1"}


def collect(paths: Sequence[str]) -> list[dict[str, Any]]:
    """Read result files (folders are searched for ``*.json``); a bad file is skipped with a warning."""
    files: list[str] = []
    for path in paths:
        files.extend(sorted(glob.glob(os.path.join(path, "*.json"))) if os.path.isdir(path) else [path])
    results = []
    for path in files:
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
            if not isinstance(data, dict):
                raise MalformedResult(f"holds {type(data).__name__}, not an object (not a ccneg-bench result?)")
            data = normalise(data)
            check_result(data)
            data["path"] = path
            results.append(data)
        except UnicodeDecodeError as err:
            print(f"warning: {path}: skipped: not UTF-8 text ({err.reason} at byte {err.start})", file=sys.stderr)
        except json.JSONDecodeError as err:
            print(f"warning: {path}: skipped: not valid JSON ({err.msg}, line {err.lineno} column {err.colno})",
                  file=sys.stderr)
        except (OSError, ValueError, AttributeError) as err:
            print(f"warning: {path}: skipped: {getattr(err, 'strerror', None) or err}", file=sys.stderr)
    return results


def flatten(result: dict[str, Any]) -> dict[str, Any]:
    info = result.get("dataset_info") or {}
    row: dict[str, Any] = {
        "model": model_label(result),
        "dataset": result.get("dataset"),
        "split": info.get("split"),
        "task": result["task"],
        "status": result.get("status"),
        "n": result.get("n"),
    }
    for key, value in (result.get("metrics") or {}).items():
        if key == "ci95":
            row["ci95_low"], row["ci95_high"] = (value or [None, None])
        else:
            row[key] = value
    for key, value in (result.get("intervals") or {}).items():
        row[f"{key}_ci95_low"], row[f"{key}_ci95_high"] = (value or [None, None])
    row["seconds"] = result.get("seconds")
    row["images_per_second"] = result.get("images_per_second")
    return row


def _atomic_text(path: Path, text: str) -> None:
    atomic_write_text(path, text)


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    _atomic_text(path, buffer.getvalue())


def _pct(value: Any) -> str:
    return f"{100 * value:.2f}" if isinstance(value, (int, float)) else "-"


def overview(results: list[dict[str, Any]]) -> list[str]:
    """One row per model, one column per (dataset, task): every benchmark side by side."""
    columns = sorted({(r["dataset"], r["task"]) for r in results if r.get("status") == "ok" and main_metric(r)})
    if not columns:
        return []
    cells: dict[tuple[str, tuple[str, str]], str] = {}
    names: dict[tuple[str, str], str] = {}
    for r in results:
        metric = main_metric(r)
        if r.get("status") != "ok" or not metric:
            continue
        key = (r["dataset"], r["task"])
        names[key] = f"{r['dataset']} {r['task']} {metric}" + (" (lower is better)" if lower_is_better(r, metric) else "")
        cells[(model_label(r), key)] = _pct(r["metrics"].get(metric))
    models = sorted({m for m, _ in cells})
    lines = ["## All benchmarks (headline metric, %)", "", "| model | " + " | ".join(names[c] for c in columns) + " |",
             "|---|" + "---|" * len(columns)]
    for model in models:
        lines.append(f"| {model} | " + " | ".join(cells.get((model, c), "-") for c in columns) + " |")
    for r in results:
        if r.get("status") != "ok" and r["task"] not in MAIN_METRIC:
            lines.append(f"\n- {model_label(r)} / {r['dataset']} / {r['task']}: not scored: {r.get('error')}")
    return lines + [""]


def _dataset_cell(result: dict[str, Any]) -> str:
    return str(result.get("dataset"))


def leaderboard(results: list[dict[str, Any]]) -> str:
    lines = ["# ccneg-bench leaderboard", ""] + overview(results)
    for task in sorted({r["task"] for r in results}):
        if task not in MAIN_METRIC:
            continue  # the public benchmarks: their columns are in the overview above
        metric = MAIN_METRIC.get(task, "accuracy")
        chosen = [r for r in results if r["task"] == task and r.get("status") == "ok"]
        chosen.sort(key=lambda r: -(r["metrics"].get(metric) or 0.0))
        lines += [f"## {task} ({metric}, %)", ""]
        if task == "retrieval":
            lines += ["| # | model | dataset | n | i2t R@1 | i2t R@5 | i2t R@10 | t2i R@1 | t2i R@5 | t2i R@10 |",
                      "|---|---|---|---|---|---|---|---|---|---|"]
            for rank, r in enumerate(chosen, 1):
                m = r["metrics"]
                lines.append(f"| {rank} | {model_label(r)} | {_dataset_cell(r)} | "
                             f"{m.get('n_scored')} | " + " | ".join(_pct(m.get(f'{d}_R@{k}')) for d in ('image_to_text', 'text_to_image') for k in (1, 5, 10)) + " |")
        else:
            extra = task == "ccneg-balanced"
            header = "| # | model | dataset | n | accuracy | 95% CI |" + (" true image | distractor image |" if extra else "")
            lines += [header, "|" + "---|" * (header.count("|") - 1)]
            for rank, r in enumerate(chosen, 1):
                m = r["metrics"]
                ci = m.get("ci95")
                row = (f"| {rank} | {model_label(r)} | {_dataset_cell(r)} | "
                       f"{m.get('n_scored')} | {_pct(m.get('accuracy'))} | "
                       f"{(_pct(ci[0]) + '-' + _pct(ci[1])) if ci else '-'} |")
                if extra:
                    row += f" {_pct(m.get('accuracy_true_image'))} | {_pct(m.get('accuracy_distractor_image'))} |"
                lines.append(row)
        failed = [r for r in results if r["task"] == task and r.get("status") != "ok"]
        for r in failed:
            lines.append(f"\n- {model_label(r)}: not scored: {r.get('error')}")
        lines.append("")
    return "\n".join(lines)


def build_report(results: list[dict[str, Any]], output: str | os.PathLike) -> dict[str, Any]:
    """Write the CSV, the leaderboard and the plots of :func:`collect`'s results; return what was written."""
    if not results:
        raise ValueError("no result files found (pass ccneg-bench result JSON files or folders holding them)")
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    write_csv([flatten(r) for r in results], out / "results.csv")
    _atomic_text(out / "leaderboard.md", leaderboard(results))
    plots = write_plots(results, out, model_label)
    return {"results": len(results), "csv": str(out / "results.csv"), "markdown": str(out / "leaderboard.md"),
            "plots": plots}


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="ccneg-bench report", formatter_class=HelpFormatter,
        description="Merge ccneg-bench result files into results.csv, leaderboard.md and PNG plots:\n"
        "ccneg accuracy by negation cue and by number of relations, ccneg-balanced, retrieval, and\n"
        "per-model margin histograms from --save-predictions runs; 95% intervals as error bars,\n"
        "one set of plots per dataset and split. A file that is not a readable result is skipped\n"
        "with a warning naming it; the rest is reported.",
    )
    parser.add_argument("results", nargs="+", metavar="RESULTS", help="result JSON files or folders holding them")
    parser.add_argument("--output", default="report", metavar="DIR", help="output folder")
    parser.add_argument("--html", action="store_true",
                        help="also write DIR/report.html: one self-contained page with the plots and the hardest "
                             "examples of every result saved with --save-predictions (images inline)")
    return parser


def check_output(output: str) -> None:
    """Refuse an ``--output`` that names an existing file before anything is read."""
    if os.path.exists(output) and not os.path.isdir(output):
        raise UsageError(f"--output {output}: exists and is not a folder; name a folder (it is created if missing)")


def _cannot_write(err: OSError, output: str) -> str:
    """One line for a failed write into ``--output`` (read-only, full, not permitted, ...)."""
    named = err.filename2 or err.filename  # a failed rename names its target second
    target = named if named and str(named) != str(output) else None
    reason = "a folder on its path is a file" if isinstance(err, NotADirectoryError) else err.strerror or err
    return f"--output {output}: cannot write" + (f" {target}" if target else "") + f": {reason}"


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 when written; 2 for no usable result or a bad ``--output``; 1 when writing fails
    (:func:`ccneg_bench.options.exit_status`, as for every ccneg-bench command)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        check_output(args.output)
        results = collect(args.results)
        written = build_report(results, args.output)
        page = write_html_report(results, written["plots"], args.output) if args.html else None
    except BrokenPipeError:
        raise  # nothing is printed above: the entry point's own handling applies
    except OSError as err:
        print(f"ccneg-bench report: error: {_cannot_write(err, args.output)}", file=sys.stderr)
        return exit_status(err)
    except ValueError as err:
        print(f"ccneg-bench report: error: {err}", file=sys.stderr)
        return exit_status(err)
    print(f"{written['results']} results -> {written['csv']}, {written['markdown']}"
          + (", " + ", ".join(written["plots"]) if written["plots"] else ""))
    print(Path(written["markdown"]).read_text(encoding="utf-8"))
    if page is not None:
        print(f"page: {page}")
    return 0
