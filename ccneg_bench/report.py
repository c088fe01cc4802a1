"""``ccneg-bench report RESULTS...``: result JSON files -> CSV, Markdown leaderboard, PNG plots.

Reports are pure functions of result files (so they can be rebuilt any time, on any machine):

* ``results.csv``: one row per result file, metrics flattened (``ci95`` -> ``ci95_low/high``);
* ``leaderboard.md``: first one table of every model against every benchmark (a column per
  dataset or subset and task, its headline metric), then one table per task, best first;
* ``accuracy_by_cue.png`` / ``accuracy_by_relations.png``: ``ccneg`` accuracy per group and model;
* ``margin_histogram.png``: cos(I, c) - cos(I, c') per sample, for results saved with
  ``--save-predictions``.
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Sequence

from ccneg_bench.results import lower_is_better, main_metric, model_label, normalise

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
            results.append(normalise(data))
        except (OSError, ValueError) as err:
            print(f"warning: {path}: skipped: {err}", file=sys.stderr)
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
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    os.replace(tmp, path)


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


def _group_plot(results: list[dict[str, Any]], field: str, title: str, path: Path) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chosen = [r for r in results if r["task"] == "ccneg" and r.get("status") == "ok" and (r.get("breakdowns") or {}).get(field)]
    if not chosen:
        return False
    groups = sorted({g for r in chosen for g in r["breakdowns"][field]}, key=lambda g: (g == "unknown", g))
    width = 0.8 / len(chosen)
    fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(groups) + 2), 3.5))
    for i, r in enumerate(chosen):
        values = [100 * ((r["breakdowns"][field].get(g) or {}).get("accuracy") or 0) for g in groups]
        ax.bar([x + i * width for x in range(len(groups))], values, width, label=model_label(r)[:40])
    ax.set_xticks([x + width * (len(chosen) - 1) / 2 for x in range(len(groups))], groups)
    ax.set_ylabel("ccneg accuracy (%)")
    ax.set_ylim(0, 100)
    ax.axhline(50, color="grey", lw=0.8, ls="--")
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _margin_plot(results: list[dict[str, Any]], path: Path) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pyarrow.parquet as pq

    series = []
    for r in results:
        file = r.get("predictions")
        if r["task"] != "ccneg" or not file or not os.path.exists(file):
            continue
        table = pq.read_table(file, columns=["score_caption", "score_negated"]).to_pydict()
        margins = [a - b for a, b in zip(table["score_caption"], table["score_negated"]) if a is not None and b is not None]
        if margins:
            series.append((model_label(r), margins))
    if not series:
        return False
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for label, margins in series:
        ax.hist(margins, bins=40, alpha=0.5, label=label[:40])
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("cos(I, caption) - cos(I, negated caption)")
    ax.set_ylabel("samples")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def build_report(paths: Sequence[str], output: str | os.PathLike) -> dict[str, Any]:
    """Write the CSV, the leaderboard and the plots; return what was written."""
    results = collect(paths)
    if not results:
        raise ValueError("no result files found (pass ccneg-bench result JSON files or folders holding them)")
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    write_csv([flatten(r) for r in results], out / "results.csv")
    _atomic_text(out / "leaderboard.md", leaderboard(results))
    written = {"results": len(results), "csv": str(out / "results.csv"), "markdown": str(out / "leaderboard.md"), "plots": []}
    for name, ok in (
        ("accuracy_by_cue.png", _group_plot(results, "negation_cue", "ccneg accuracy by negation cue", out / "accuracy_by_cue.png")),
        ("accuracy_by_relations.png", _group_plot(results, "num_relations", "ccneg accuracy by number of relations", out / "accuracy_by_relations.png")),
        ("margin_histogram.png", _margin_plot(results, out / "margin_histogram.png")),
    ):
        if ok:
            written["plots"].append(str(out / name))
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ccneg-bench report",
        description="Merge ccneg-bench result files into results.csv, leaderboard.md and PNG plots "
        "(accuracy by negation cue and by number of relations; margin histogram from --save-predictions runs).",
    )
    parser.add_argument("results", nargs="+", metavar="RESULTS", help="result JSON files or folders holding them")
    parser.add_argument("--output", default="report", metavar="DIR", help="output folder (default: report)")
    parser.add_argument("--html", action="store_true",
                        help="also write DIR/report.html: one self-contained page with the plots and the hardest "
                             "examples of every result saved with --save-predictions (images inline)")
    args = parser.parse_args(argv)
    try:
        written = build_report(args.results, args.output)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{written['results']} results -> {written['csv']}, {written['markdown']}"
          + (", " + ", ".join(written["plots"]) if written["plots"] else ""))
    print(Path(written["markdown"]).read_text(encoding="utf-8"))
    if args.html:
        from ccneg_bench.report_html import write_html_report

        print(f"page: {write_html_report(args.results, written, args.output)}")
    return 0
