"""``ccneg-bench report RESULTS...``: result JSON files -> CSV, Markdown leaderboard, PNG plots.

Reports are pure functions of result files (so they can be rebuilt any time, on any machine):

* ``results.csv``: one row per result file, metrics flattened (``ci95`` -> ``ci95_low/high``);
* ``leaderboard.md``: one table per task, best first;
* PNG plots (see :mod:`ccneg_bench.plots`): ``ccneg`` accuracy by negation cue and by number of
  relations, ``ccneg-balanced`` and ``retrieval`` per model, and per-model margin histograms
  (results saved with ``--save-predictions``); 95% intervals as error bars, n per group, the
  dataset and split in every title.
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

from ccneg_build.writer import atomic_write_text

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
            if not isinstance(data, dict) or "task" not in data or "model" not in data:
                raise ValueError("not a ccneg-bench result (needs 'task' and 'model')")
            data.setdefault("path", path)
            results.append(data)
        except (OSError, ValueError) as err:
            print(f"warning: {path}: skipped: {err}", file=sys.stderr)
    return results


def model_label(result: dict[str, Any]) -> str:
    model = result["model"]
    pretrained = model.get("pretrained")
    return model["spec"] + (f" ({os.path.basename(str(pretrained))})" if pretrained else "")


def flatten(result: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "model": model_label(result),
        "dataset": result.get("dataset", {}).get("spec"),
        "split": result.get("dataset", {}).get("split"),
        "task": result["task"],
        "status": result.get("status"),
        "n": result.get("n"),
    }
    for key, value in (result.get("metrics") or {}).items():
        if key == "ci95":
            row["ci95_low"], row["ci95_high"] = (value or [None, None])
        else:
            row[key] = value
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


def leaderboard(results: list[dict[str, Any]]) -> str:
    lines = ["# ccneg-bench leaderboard", ""]
    for task in sorted({r["task"] for r in results}):
        metric = MAIN_METRIC.get(task, "accuracy")
        chosen = [r for r in results if r["task"] == task and r.get("status") == "ok"]
        chosen.sort(key=lambda r: -(r["metrics"].get(metric) or 0.0))
        lines += [f"## {task} ({metric}, %)", ""]
        if task == "retrieval":
            lines += ["| # | model | dataset | n | i2t R@1 | i2t R@5 | i2t R@10 | t2i R@1 | t2i R@5 | t2i R@10 |",
                      "|---|---|---|---|---|---|---|---|---|---|"]
            for rank, r in enumerate(chosen, 1):
                m = r["metrics"]
                lines.append(f"| {rank} | {model_label(r)} | {os.path.basename(r['dataset']['spec'])}:{r['dataset']['split']} | "
                             f"{m.get('n_scored')} | " + " | ".join(_pct(m.get(f'{d}_R@{k}')) for d in ('image_to_text', 'text_to_image') for k in (1, 5, 10)) + " |")
        else:
            extra = task == "ccneg-balanced"
            header = "| # | model | dataset | n | accuracy | 95% CI |" + (" true image | distractor image |" if extra else "")
            lines += [header, "|" + "---|" * (header.count("|") - 1)]
            for rank, r in enumerate(chosen, 1):
                m = r["metrics"]
                ci = m.get("ci95")
                row = (f"| {rank} | {model_label(r)} | {os.path.basename(r['dataset']['spec'])}:{r['dataset']['split']} | "
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


def build_report(paths: Sequence[str], output: str | os.PathLike) -> dict[str, Any]:
    """Write the CSV, the leaderboard and the plots; return what was written."""
    results = collect(paths)
    if not results:
        raise ValueError("no result files found (pass ccneg-bench result JSON files or folders holding them)")
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    write_csv([flatten(r) for r in results], out / "results.csv")
    _atomic_text(out / "leaderboard.md", leaderboard(results))
    from ccneg_bench.plots import write_plots

    plots = write_plots(results, out, model_label)
    return {"results": len(results), "csv": str(out / "results.csv"), "markdown": str(out / "leaderboard.md"),
            "plots": plots}


def build_parser() -> argparse.ArgumentParser:
    from ccneg_bench.options import HelpFormatter, OneLineParser

    parser = OneLineParser(
        prog="ccneg-bench report", formatter_class=HelpFormatter,
        description="Merge ccneg-bench result files into results.csv, leaderboard.md and PNG plots:\n"
        "ccneg accuracy by negation cue and by number of relations, ccneg-balanced, retrieval, and\n"
        "per-model margin histograms from --save-predictions runs; 95% intervals as error bars,\n"
        "one set of plots per dataset and split.",
    )
    parser.add_argument("results", nargs="+", metavar="RESULTS", help="result JSON files or folders holding them")
    parser.add_argument("--output", default="report", metavar="DIR", help="output folder")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        written = build_report(args.results, args.output)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{written['results']} results -> {written['csv']}, {written['markdown']}"
          + (", " + ", ".join(written["plots"]) if written["plots"] else ""))
    print(Path(written["markdown"]).read_text(encoding="utf-8"))
    return 0
