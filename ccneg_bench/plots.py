"""PNG plots of ccneg-bench results (used by ``ccneg-bench report``): pure functions of result files.

Every plot is drawn per (dataset, split), names both in its title, shows the sample count of
every group, and carries 95% intervals as error bars: the bootstrap interval stored in the
result file where there is one, else a Wilson score interval computed from the proportion
and its n (said so in the figure's footnote). Models sit on an axis or in a legend outside
the axes, so ten models stay readable. Every figure is at most :data:`MAX_WIDTH_IN` wide at
:data:`DPI` (the report page shows plots at their own pixel size, never shrunk) and lays itself
out with matplotlib's constrained layout, so no footnote, label or legend overlaps another.

* ``accuracy_by_cue.png`` / ``accuracy_by_relations.png``: ``ccneg`` accuracy per group;
* ``ccneg_balanced.png``: overall, true-image and distractor-image accuracy per model;
* ``retrieval.png``: image-to-text and text-to-image R@1/5/10 per model;
* ``margin_histogram.png``: one histogram per model of cos(I, c) - cos(I, c') on one shared
  cosine scale (from ``--save-predictions`` runs); text-only baselines, whose score is not a
  cosine, get their own panel with their own axis.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from ccneg_core.intervals import wilson_interval as wilson_of_count
from ccneg_core.writer import atomic_output
from ccneg_bench.results import stored_interval
from ccneg_bench.results import predictions_path

WILSON_NOTE = "error bars: 95% interval (bootstrap from the result file; Wilson score where it has none)"
#: pixels per inch of the PNGs: the report page shows them one PNG pixel per CSS pixel
DPI = 110
#: widest figure (inches): at DPI it fits the report page's column (about 1060 px) unshrunk
MAX_WIDTH_IN = 9.4
#: smallest text in a figure (points): 8 pt at 110 dpi is 12 px on the page
SMALL = 8
#: a text-only model's margins get one labelled bar per value up to this many distinct values
RULE_VALUES = 12


def wilson_interval(p: float | None, n: int | None) -> tuple[float, float] | None:
    """Wilson score 95% interval of a proportion ``p`` observed on ``n`` samples."""
    if p is None or not n:
        return None
    return wilson_of_count(round(p * n), n)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _colours(count: int) -> list[Any]:
    plt = _pyplot()
    cmap = plt.get_cmap("tab10" if count <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(count)]


def _short(label: str, width: int = 56) -> str:
    """``label`` cut to ``width`` characters in the middle: the kind (``open_clip:``) at the start
    and the weights file at the end are what tell models apart."""
    if len(label) <= width:
        return label
    head = min(16, width // 3)
    return f"{label[:head]}...{label[-(width - head - 3):]}"


def by_dataset(results: Sequence[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Results grouped by (dataset name, split), in first-seen order."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for result in results:
        dataset = result.get("dataset_info") or {}  # results are normalised (ccneg_bench.results)
        key = (os.path.basename(str(dataset.get("spec", "?")).rstrip("/")) or "?", str(dataset.get("split", "?")))
        groups.setdefault(key, []).append(result)
    return groups


def _where(key: tuple[str, str]) -> str:
    return f"dataset {key[0]}, split {key[1]}"


def _error(value: float | None, interval: Sequence[float] | None) -> tuple[float, float]:
    """(below, above) in percent for ``yerr``; zeros when no interval is known."""
    if value is None or not interval:
        return 0.0, 0.0
    return max(0.0, 100 * (value - interval[0])), max(0.0, 100 * (interval[1] - value))


def _save(fig: Any, path: Path) -> None:
    with atomic_output(path) as tmp, open(tmp, "wb") as handle:
        fig.savefig(handle, dpi=DPI, format="png", bbox_inches="tight")
    _pyplot().close(fig)


def _figure(width: float, height: float, rows: int = 1, columns: int = 1, **options: Any) -> tuple[Any, Any]:
    """A figure with constrained layout (labels, legends and the footnote get their own room)."""
    return _pyplot().subplots(rows, columns, figsize=(min(width, MAX_WIDTH_IN), height), layout="constrained",
                              **options)


def _footnote(fig: Any, text: str) -> None:
    """Grey small print under everything else in the figure (constrained layout makes room for it)."""
    fig.supxlabel(text, fontsize=SMALL, color="grey", x=0.01, ha="left")


def group_figure(results: Sequence[dict[str, Any]], field: str, what: str, key: tuple[str, str],
                 label: Callable[[dict[str, Any]], str]) -> Any:
    """ccneg accuracy per group of ``field`` (cue, number of relations), one bar per model (None: no data)."""
    chosen = [r for r in results if r["task"] == "ccneg" and r.get("status") == "ok"
              and (r.get("breakdowns") or {}).get(field)]
    if not chosen:
        return None
    groups = sorted({g for r in chosen for g in r["breakdowns"][field]}, key=lambda g: (g == "unknown", g))
    models = len(chosen)
    width = 0.8 / models
    fig, ax = _figure(max(7.0, 0.28 * models * len(groups) + 4.5), 4.4)
    for i, (result, colour) in enumerate(zip(chosen, _colours(models))):
        xs, values, errors, missing = [], [], ([], []), []
        for x, group in enumerate(groups):
            cell = result["breakdowns"][field].get(group)
            position = x - 0.4 + width * (i + 0.5)
            if not cell or cell.get("accuracy") is None:
                missing.append(position)
                continue
            xs.append(position)
            values.append(100 * cell["accuracy"])
            below, above = _error(cell["accuracy"], cell.get("ci95"))
            errors[0].append(below)
            errors[1].append(above)
        ax.bar(xs, values, width * 0.92, yerr=errors, capsize=2, color=colour, edgecolor="black", linewidth=0.4,
               error_kw={"elinewidth": 0.8}, label=_short(label(result)))
        ax.plot(xs, values, linestyle="none", marker="_", color="black", markersize=6)  # a 0% bar stays visible
        for position in missing:
            ax.text(position, 1, "n/a", rotation=90, ha="center", va="bottom", fontsize=SMALL, color="grey")
    ax.set_xticks(range(len(groups)), [f"{g}\n{_group_n(chosen, field, g)}" for g in groups])
    ax.set_ylabel("ccneg accuracy (%)")
    ax.set_ylim(0, 105)
    ax.axhline(50, color="grey", lw=0.8, ls="--")
    ax.set_title(f"ccneg accuracy by {what}\n{_where(key)}")
    ax.legend(fontsize=SMALL, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, title="model")
    _footnote(fig, "error bars: bootstrap 95% interval; dashed line: chance (50%); n/a: no sample of that group")
    return fig


def _group_n(results: Sequence[dict[str, Any]], field: str, group: str) -> str:
    counts = sorted({(r["breakdowns"][field].get(group) or {}).get("n") for r in results} - {None})
    if not counts:
        return "n=0"
    return f"n={counts[0]}" if len(counts) == 1 else f"n={counts[0]}-{counts[-1]}"


def _hbar_panel(ax: Any, rows: list[tuple[str, list[tuple[float | None, Sequence[float] | None]]]],
                series: list[str], xlabel: str) -> None:
    """Horizontal grouped bars: one row per model, one bar per series, with error bars."""
    colours = _colours(len(series))
    height = 0.8 / len(series)
    for j, (name, colour) in enumerate(zip(series, colours)):
        ys, values, errors = [], [], ([], [])
        for i, (_, cells) in enumerate(rows):
            value, interval = cells[j]
            if value is None:
                ax.text(1, i - 0.4 + height * (j + 0.5), "n/a", va="center", fontsize=SMALL, color="grey")
                continue
            ys.append(i - 0.4 + height * (j + 0.5))
            values.append(100 * value)
            below, above = _error(value, interval)
            errors[0].append(below)
            errors[1].append(above)
        ax.barh(ys, values, height * 0.92, xerr=errors, capsize=2, color=colour, edgecolor="black", linewidth=0.4,
                error_kw={"elinewidth": 0.8}, label=name)
        ax.plot(values, ys, linestyle="none", marker="|", color="black", markersize=6)
    ax.set_yticks(range(len(rows)), [label for label, _ in rows], fontsize=SMALL)
    if not ax.yaxis_inverted():  # first model on top (axes sharing y invert together)
        ax.invert_yaxis()
    ax.set_xlim(0, 105)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", lw=0.3, alpha=0.6)


def _stored_or_wilson(result: dict[str, Any], metric: str) -> tuple[float | None, Sequence[float] | None]:
    """(value, 95% interval) of a proportion: the file's bootstrap interval, else a Wilson interval."""
    metrics = result["metrics"]
    value = metrics.get(metric)
    return value, stored_interval(result, metric) or wilson_interval(value, metrics.get("n_scored"))


def balanced_figure(results: Sequence[dict[str, Any]], key: tuple[str, str],
                    label: Callable[[dict[str, Any]], str]) -> Any:
    """ccneg-balanced: overall accuracy and each side (true image, distractor image) per model."""
    chosen = [r for r in results if r["task"] == "ccneg-balanced" and r.get("status") == "ok"]
    if not chosen:
        return None
    rows = [(f"{_short(label(r))} (n={r['metrics'].get('n_scored')})",
             [_stored_or_wilson(r, m) for m in ("accuracy", "accuracy_true_image", "accuracy_distractor_image")])
            for r in chosen]
    fig, ax = _figure(8.5, 1.9 + 0.6 * len(rows))
    _hbar_panel(ax, rows, ["overall (mean of both sides)", "true image: caption wins", "distractor image: negated caption wins"],
                "accuracy (%)")
    ax.axvline(50, color="grey", lw=0.8, ls="--")
    ax.set_title(f"ccneg-balanced accuracy\n{_where(key)}")
    ax.legend(fontsize=SMALL, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    _footnote(fig, WILSON_NOTE + "; dashed line: chance (50%)")
    return fig


def retrieval_figure(results: Sequence[dict[str, Any]], key: tuple[str, str],
                     label: Callable[[dict[str, Any]], str]) -> Any:
    """retrieval: R@1, R@5, R@10 per model, image -> text above text -> image."""
    chosen = [r for r in results if r["task"] == "retrieval" and r.get("status") == "ok"]
    if not chosen:
        return None
    panel = 0.6 + 0.55 * len(chosen)
    fig, axes = _figure(8.5, 1.5 + 2 * panel, rows=2, sharex=True)
    for ax, direction, title in zip(axes, ("image_to_text", "text_to_image"), ("image -> text", "text -> image")):
        rows = [(f"{_short(label(r))} (n={r['metrics'].get('n_scored')})",
                 [_stored_or_wilson(r, f"{direction}_R@{k}") for k in (1, 5, 10)]) for r in chosen]
        _hbar_panel(ax, rows, ["R@1", "R@5", "R@10"], "recall (%)" if direction == "text_to_image" else "")
        ax.set_title(title, fontsize=10)
    axes[0].legend(fontsize=SMALL, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.suptitle(f"retrieval (gallery: captions and negated captions)\n{_where(key)}", fontsize=11)
    _footnote(fig, WILSON_NOTE)
    return fig


def _read_margins(result: dict[str, Any]) -> list[float] | None:
    """cos(I, c) - cos(I, c') of each scored sample, from the result's predictions file."""
    import pyarrow as pa
    import pyarrow.parquet as pq


    file = predictions_path(result)
    if file is None:
        return None
    try:
        table = pq.read_table(file, columns=["score_caption", "score_negated"]).to_pydict()
    except (OSError, KeyError, pa.ArrowException) as err:
        import sys

        print(f"warning: {file}: no margin histogram: {err}", file=sys.stderr)
        return None
    return [a - b for a, b in zip(table["score_caption"], table["score_negated"]) if a is not None and b is not None]


def is_text_only(result: dict[str, Any]) -> bool:
    """Text-only baselines score with a rule, not a cosine between an image and a caption."""
    info = result.get("model_info") or {}  # schema 2: "model" is the spec string itself
    description = info.get("description") or {}
    spec = info.get("spec") or result.get("model") or ""
    return description.get("kind") == "text" or str(spec).startswith("text:")


def margin_figure(results: Sequence[dict[str, Any]], key: tuple[str, str],
                  label: Callable[[dict[str, Any]], str]) -> Any:
    """One margin histogram per model on a shared cosine scale; text-only baselines apart."""
    series = []
    for r in results:
        if r["task"] != "ccneg" or r.get("status") != "ok":
            continue
        margins = _read_margins(r)
        if margins:
            series.append((label(r), margins, is_text_only(r)))
    if not series:
        return None
    import numpy as np

    cosine = [(name, np.asarray(m)) for name, m, text in series if not text]
    rules = [(name, np.asarray(m)) for name, m, text in series if text]
    panels = len(cosine) + len(rules)
    columns = min(3, panels)
    lines = math.ceil(panels / columns)
    fig, axes = _figure(3.1 * columns, 2.6 * lines + 0.7, rows=lines, columns=columns, squeeze=False)
    flat = list(axes.flat)
    if cosine:
        reach = max(float(np.abs(m).max()) for _, m in cosine) or 1.0
        bins = np.linspace(-reach * 1.05, reach * 1.05, 41)
        top = max(np.histogram(m, bins=bins)[0].max() for _, m in cosine)
    for ax, (name, margins) in zip(flat, cosine):
        ax.hist(margins, bins=bins, color="tab:blue", alpha=0.85)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_xlim(bins[0], bins[-1])
        ax.set_ylim(0, top * 1.1)
        correct = float((margins > 0).mean())
        ax.set_title(f"{_short(name, 46)}\nn={len(margins)}, margin > 0: {100 * correct:.1f}%", fontsize=SMALL)
        ax.set_xlabel("cos(I, c) - cos(I, c')", fontsize=SMALL)
        ax.tick_params(labelsize=SMALL)
    for ax, (name, margins) in zip(flat[len(cosine):], rules):
        values, counts = np.unique(np.round(margins, 6), return_counts=True)
        if len(values) <= RULE_VALUES:  # a rule's few scores: one labelled bar each
            ax.bar([f"{v:g}" for v in values], counts, color="tab:grey")
        else:  # a text-only model with graded scores: a histogram, as for the others
            ax.hist(margins, bins=40, color="tab:grey")
        ax.set_title(f"{_short(name, 34)} (text only)\nn={len(margins)}; rule score, not a cosine", fontsize=SMALL)
        ax.set_xlabel("score(c) - score(c')", fontsize=SMALL)
        ax.tick_params(labelsize=SMALL)
    for ax in flat[panels:]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("samples", fontsize=SMALL)
    fig.suptitle(f"ccneg margin per sample (right of 0: the true caption wins)\n{_where(key)}", fontsize=11)
    return fig


def _suffix(key: tuple[str, str]) -> str:
    return "__" + re.sub(r"[^A-Za-z0-9.+-]+", "_", f"{key[0]}_{key[1]}").strip("_")


def draw_plots(results: Sequence[dict[str, Any]], label: Callable[[dict[str, Any]], str]) -> Iterator[tuple[str, Any]]:
    """(file stem, figure) of every plot the results allow, one set per (dataset, split)."""
    groups = by_dataset(results)
    for key, chosen in groups.items():
        suffix = _suffix(key) if len(groups) > 1 else ""
        for name, draw in (
            ("accuracy_by_cue", lambda: group_figure(chosen, "negation_cue", "negation cue", key, label)),
            ("accuracy_by_relations", lambda: group_figure(chosen, "num_relations", "number of relations", key, label)),
            ("ccneg_balanced", lambda: balanced_figure(chosen, key, label)),
            ("retrieval", lambda: retrieval_figure(chosen, key, label)),
            ("margin_histogram", lambda: margin_figure(chosen, key, label)),
        ):
            figure = draw()
            if figure is not None:
                yield f"{name}{suffix}", figure


def write_plots(results: Sequence[dict[str, Any]], out: Path, label: Callable[[dict[str, Any]], str]) -> list[str]:
    """Write every plot of :func:`draw_plots` as ``OUT/<stem>.png``; returns the files written."""
    written = []
    for stem, figure in draw_plots(results, label):
        path = Path(out) / f"{stem}.png"
        _save(figure, path)
        written.append(str(path))
    return written
