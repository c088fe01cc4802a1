"""``ccneg-bench report --html``: the report as one self-contained page, failures included.

Numbers say how often a model is fooled; looking at the samples says by what. The page
holds the results table (every headline metric with its 95% interval), the report's plots
(inlined PNGs, shown at their own pixel size: :mod:`ccneg_bench.plots` draws them to fit the
page) and, for each ``ccneg`` / ``ccneg-balanced`` result saved with ``--save-predictions``,
the hardest examples: the samples with the lowest margin cos(I, c) - cos(I, c') (image, both
captions, margin), and for ``ccneg-balanced`` also the distractor side (margin
cos(I', c') - cos(I', c) on the distractor image I', where c' is right). Rows are grouped by
what their margin says (the model is wrong, ties, or is right by the least), and every
heading is derived from those groups, so a model that gets everything right (the text
baseline on ccneg) is shown as such. Images come from the dataset the result names, inline
and downscaled; when that dataset cannot be opened any more the page says so and lists ids
and margins.

The page is built with the same safe pieces as the build side's review page
(:mod:`ccneg_core.pages`): every caption is escaped, nothing is loaded from anywhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ccneg_bench.datasets import load_eval_dataset
from ccneg_bench.plots import is_text_only, wilson_interval
from ccneg_bench.results import headline, main_metric, model_label, predictions_path, stored_interval
from ccneg_core.highlight import inserted_segments
from ccneg_core.pages import BASE_STYLE, data_uri, esc, image_tag, inline_image, page
from ccneg_core.writer import atomic_write_text

#: Hardest examples shown per result and side.
HARDEST = 12
PAGE_NAME = "report.html"

STYLE = BASE_STYLE + """
section{margin:22px 0}
h2{font-size:17px;margin:0 0 8px}
h3{font-size:15px;margin:14px 0 6px}
figure{margin:8px 0;background:#fff;padding:6px;border-radius:6px;width:fit-content;max-width:100%;
  overflow-x:auto;box-sizing:border-box}
figure img{max-width:none}
figcaption{font-size:12px;color:#5b6473}
td.pic{width:170px}
td.pic img{max-width:160px}
td.margin{font-variant-numeric:tabular-nums;text-align:right;white-space:nowrap}
td.nowrap{white-space:nowrap}
tr.group th{font-weight:600;text-align:left}
tr.group.wrong th{background:#f9dede}
tr.group.tie th{background:#f3ecd2}
tr.group.right th{background:#dcefdc}
.note{color:#8d1c1c}
"""


def _headline(result: dict[str, Any]) -> str:
    """The headline metric with its interval: the file's own, else a Wilson interval (said so)."""
    if result.get("status") != "ok":
        return f"not scored: {result.get('error')}"
    text = headline(result)
    metric = main_metric(result)
    metrics = result.get("metrics") or {}
    if metric and metrics.get(metric) is not None and stored_interval(result, metric) is None:
        wilson = wilson_interval(metrics[metric], metrics.get("n_scored"))
        if wilson:
            text += f" [{100 * wilson[0]:.1f}, {100 * wilson[1]:.1f}] (Wilson)"
    return text


def _summary(results: Sequence[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{esc(model_label(r))}</td><td>{esc(r.get('dataset'))}</td><td class=\"nowrap\">{esc(r['task'])}</td>"
        f"<td>{esc(r.get('n'))}</td><td class=\"nowrap\">{esc(_headline(r))}</td></tr>" for r in results)
    return ("<section><h2>Results</h2><table><tr><th>model</th><th>dataset</th><th>task</th><th>n</th>"
            f"<th>result (95% CI)</th></tr>{rows}</table></section>")


def _plots(paths: Sequence[str]) -> str:
    figures = []
    for path in paths:
        try:
            data = Path(path).read_bytes()
        except OSError:
            continue
        figures.append(f'<figure><img src="{data_uri(data, "image/png")}" alt="{esc(Path(path).stem)}">'
                       f"<figcaption>{esc(Path(path).name)}</figcaption></figure>")
    if not figures:
        return ""
    return "<section><h2>Breakdowns</h2>" + "".join(figures) + "</section>"


class _Datasets:
    """Datasets named by results, opened once each; a dataset that cannot be opened is noted."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, str], Any] = {}
        self.errors: dict[tuple[str, str], str] = {}

    def get(self, spec: str | None, split: str | None) -> Any:
        key = (str(spec), str(split))
        if key not in self._open and key not in self.errors:
            try:
                self._open[key] = load_eval_dataset(str(spec), split=str(split))
            except Exception as err:  # moved, deleted, offline Hub: the page still shows ids and margins
                self.errors[key] = f"{type(err).__name__}: {err}"
        return self._open.get(key)


def _rows_by_id(dataset: Any) -> dict[str, int]:
    return {sample.id: row for row, sample in enumerate(dataset.samples)} if dataset is not None else {}


def _image(table: Any, row: int | None, alt: str) -> str:
    if table is None or row is None:
        return '<div class="noimage">image not available</div>'
    ref = table.read_refs(row, row + 1)[0]
    return image_tag(inline_image(ref, table.root, side=192), alt)


def _negated_html(caption: str, negated: str) -> str:
    return "".join(f"<mark>{esc(t)}</mark>" if inserted else esc(t) for t, inserted in inserted_segments(caption, negated))


def hardest(ids: Sequence[str], margins: Sequence[float | None], n: int = HARDEST) -> list[tuple[str, float]]:
    """The ``n`` samples with the lowest margin (the model's strongest wrong preference first)."""
    scored = [(i, m) for i, m in zip(ids, margins) if m is not None]
    return sorted(scored, key=lambda item: (item[1], item[0]))[:n]


@dataclass(frozen=True)
class Side:
    """One side of a ccneg pair as the page explains it: which image, which caption is right."""

    title: str
    image: str  #: the image's symbol in formulas, I or I'
    right: str  #: the caption that fits the image: c or c'
    wrong: str  #: the other one
    right_name: str
    wrong_name: str
    distractor: bool


TRUE_SIDE = Side("the true image I", "I", "c", "c'", "the true caption", "the negated caption", distractor=False)
DISTRACTOR_SIDE = Side("the distractor image I'", "I'", "c'", "c", "the negated caption", "the true caption",
                       distractor=True)


def _margin_text(margin: float) -> str:
    """The margin as shown: four decimals; scientific notation where four would show a non-zero margin as 0."""
    return f"{margin:+.4f}" if margin == 0 or abs(margin) >= 5e-5 else f"{margin:+.1e}"


def _tie_credit(rule: Any, side: Side) -> str:
    """What a tie is worth on ``side`` under the result's tie rule (c is the first option)."""
    if rule == "half":
        return "half credit"
    if rule == "wrong":
        return "no credit"
    if rule == "argmax":
        return "full credit (argmax takes c, the first option)" if not side.distractor else \
            "no credit (argmax takes c, the first option)"
    return f"the credit of the tie rule {rule!r}"


def _group_headings(side: Side, counts: dict[str, int], shown: dict[str, int], rule: Any) -> dict[str, str]:
    """A heading for each group of rows, saying what those rows are (derived from their margins)."""
    def of_all(group: str) -> str:
        return f" of {counts[group]}" if counts[group] > shown[group] else ""

    return {
        "wrong": f"wrong: the model prefers {side.wrong} to {side.right} for {side.image} (margin < 0); "
                 f"the {shown['wrong']} most negative{of_all('wrong')}",
        "tie": f"tie (margin = 0): {side.right} and {side.wrong} score the same for {side.image}, "
               f"{_tie_credit(rule, side)}" + (f"; {shown['tie']}{of_all('tie')} shown" if of_all("tie") else ""),
        "right": f"right, by the least: the model prefers {side.right} to {side.wrong} for {side.image} (margin > 0); "
                 f"the {shown['right']} smallest margins of {counts['right']}",
    }


def _counts_sentence(side: Side, counts: dict[str, int]) -> str:
    total = sum(counts.values())
    if counts["wrong"] == 0:
        lead = f"No sample is wrong on {side.title}: none of the {total} scored prefers {side.wrong_name} {side.wrong}"
        return lead + (f"; {counts['tie']} tie (margin = 0)." if counts["tie"] else ".")
    return (f"Of {total} scored samples, {counts['wrong']} prefer {side.wrong_name} {side.wrong} on {side.title} "
            f"(wrong), {counts['tie']} tie and {counts['right']} prefer {side.right_name} {side.right}.")


def _margin_formula(side: Side, text_only: bool) -> str:
    score = "score" if text_only else "cos"
    formula = f"margin = {score}({side.image}, {side.right}) - {score}({side.image}, {side.wrong})"
    if text_only:
        formula += " (the text-only rule's score: it does not look at the image; not a cosine)"
    return formula + "; the lowest margins first."


def _group_of(margin: float) -> str:
    return "wrong" if margin < 0 else "tie" if margin == 0 else "right"


def _example_row(sample_id: str, margin: float, dataset: Any, where: dict[str, int], side: Side) -> str:
    row = where.get(sample_id)
    sample = dataset.samples[row] if row is not None else None
    caption = sample.caption if sample else ""
    negated = sample.negated_caption if sample else ""
    if side.distractor and dataset is not None and row is not None:
        table, image_row = dataset.distractors, dataset.distractor_rows[row]
    else:
        table, image_row = (dataset.images if dataset is not None else None), row
    picture = _image(table, image_row, caption)
    ident = esc(sample_id) + (f"<br><small>distractor {esc(sample.distractor_id)}</small>"
                              if side.distractor and sample and sample.distractor_id else "")
    return (f'<tr class="example {_group_of(margin)}"><td class="pic">{picture}</td>'
            f'<td class="caption">{esc(caption)}</td>'
            f'<td class="negated">{_negated_html(caption, negated)}</td>'
            f'<td class="margin">{_margin_text(margin)}</td><td><code>{ident}</code></td></tr>')


def _side_table(side: Side, ids: Sequence[str], margins: Sequence[float | None], n: int, dataset: Any,
                text_only: bool, rule: Any) -> str:
    """One side's hardest examples: counts, the margin's formula, and the rows grouped by sign."""
    scored = [m for m in margins if m is not None]
    counts = {name: sum(1 for m in scored if _group_of(m) == name) for name in ("wrong", "tie", "right")}
    chosen = hardest(ids, margins, n)
    if not chosen:
        return ""
    shown = {name: sum(1 for _, m in chosen if _group_of(m) == name) for name in ("wrong", "tie", "right")}
    headings = _group_headings(side, counts, shown, rule)
    where = _rows_by_id(dataset)
    lines, current = [], None
    for sample_id, margin in chosen:
        group = _group_of(margin)
        if group != current:
            lines.append(f'<tr class="group {group}"><th colspan="5">{esc(headings[group])}</th></tr>')
            current = group
        lines.append(_example_row(sample_id, margin, dataset, where, side))
    picture = "distractor image I'" if side.distractor else "image I"
    return (f'<div class="side"><h3>{esc(side.title[0].upper() + side.title[1:])}: {esc(side.right)} against '
            f"{esc(side.wrong)}</h3><p class=\"counts\">{esc(_counts_sentence(side, counts))}</p>"
            f"<p>{esc(_margin_formula(side, text_only))}</p><table><tr><th>{picture}</th>"
            "<th>caption c</th><th>negated caption c'</th><th>margin</th><th>id</th></tr>"
            + "".join(lines) + "</table></div>")


def _result_examples(result: dict[str, Any], datasets: _Datasets, n: int) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if result["task"] not in ("ccneg", "ccneg-balanced") or result.get("status") != "ok":
        return ""
    heading = f"<h2>Hardest examples: {esc(model_label(result))}, {esc(result['task'])}</h2>"
    file = predictions_path(result)
    if file is None:
        return (f"<section>{heading}<p class=\"note\">no per-sample predictions: rerun ccneg-bench with "
                "--save-predictions to list the hardest examples</p></section>")
    try:
        columns = pq.read_table(file).to_pydict()
    except (OSError, pa.ArrowException) as err:
        return f'<section>{heading}<p class="note">predictions file {esc(file)} could not be read: {esc(err)}</p></section>'
    info = result.get("dataset_info") or {}
    spec, split = info.get("spec"), info.get("split")
    dataset = datasets.get(spec, split)
    parts = [heading]
    if dataset is None:
        parts.append(f'<p class="note">dataset {esc(spec)} ({esc(split)}) could not be opened '
                     f"({esc(datasets.errors.get((str(spec), str(split))))}): images and captions are missing</p>")
    ids = columns.get("id", [])
    text_only = is_text_only(result)
    rule = (result.get("metrics") or {}).get("tie_rule")
    for side, right, wrong in ((TRUE_SIDE, "score_caption", "score_negated"),
                               (DISTRACTOR_SIDE, "distractor_score_negated", "distractor_score_caption")):
        if right in columns and wrong in columns:
            margins = [None if a is None or b is None else a - b for a, b in zip(columns[right], columns[wrong])]
            parts.append(_side_table(side, ids, margins, n, dataset, text_only, rule))
    return "<section>" + "".join(parts) + "</section>"


def render_report_page(results: Sequence[dict[str, Any]], plots: Sequence[str], n: int = HARDEST) -> str:
    """The whole report page for a set of results (pure apart from reading their files)."""
    datasets = _Datasets()
    title = f"ccneg-bench report: {len(results)} results"
    body = (f"<header><h1>{esc(title)}</h1><p>Breakdowns, and for each model the samples with the lowest "
            "margins: those it gets wrong, or right by the least.</p></header>"
            "<main>" + _summary(results) + _plots(plots)
            + "".join(_result_examples(r, datasets, n) for r in results) + "</main>")
    return page(title, body, STYLE)


def write_html_report(results: list[dict[str, Any]], plots: list[str], output: str | os.PathLike,
                      n: int = HARDEST) -> Path:
    """Write ``OUTPUT/report.html`` beside the ``plots`` that :func:`ccneg_bench.report.build_report` wrote."""
    target = Path(output) / PAGE_NAME
    atomic_write_text(target, render_report_page(results, plots, n))
    return target
