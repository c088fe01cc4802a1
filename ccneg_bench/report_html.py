"""``ccneg-bench report --html``: the report as one self-contained page, failures included.

Numbers say how often a model is fooled; looking at the samples says by what. The page
holds the results table, the report's breakdown plots (inlined PNGs) and, for each
``ccneg`` / ``ccneg-balanced`` result saved with ``--save-predictions``, the hardest
examples: the samples where the model most prefers the negated caption (image, both
captions, margin cos(I, c) - cos(I, c')), and for ``ccneg-balanced`` also the distractor
side (the distractor image I' where the model most prefers the true caption c although
c' fits it). Images come from the dataset the result names, inline and downscaled; when
that dataset cannot be opened any more the page says so and lists ids and margins.

The page is built with the same safe pieces as the build side's review page
(:mod:`ccneg_core.pages`): every caption is escaped, nothing is loaded from anywhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from ccneg_bench.results import headline, model_label
from ccneg_core.pages import BASE_STYLE, data_uri, esc, image_tag, inline_image, page
from ccneg_core.highlight import inserted_segments
from ccneg_core.writer import atomic_write_text

#: Hardest examples shown per result and side.
HARDEST = 12
PAGE_NAME = "report.html"

STYLE = BASE_STYLE + """
section{margin:22px 0}
h2{font-size:17px;margin:0 0 8px}
h3{font-size:15px;margin:14px 0 6px}
figure{display:inline-block;margin:6px 12px 6px 0;background:#fff;padding:6px;border-radius:6px}
figure img{max-width:520px}
figcaption{font-size:12px;color:#5b6473}
td.pic{width:170px}
td.pic img{max-width:160px}
td.margin{font-variant-numeric:tabular-nums;text-align:right;white-space:nowrap}
.note{color:#8d1c1c}
"""


def _headline(result: dict[str, Any]) -> str:
    if result.get("status") != "ok":
        return f"not scored: {result.get('error')}"
    return headline(result)


def _summary(results: Sequence[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{esc(model_label(r))}</td><td>{esc(r.get('dataset'))}</td><td>{esc(r['task'])}</td><td>{esc(r.get('n'))}</td>"
        f"<td>{esc(_headline(r))}</td></tr>" for r in results)
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
                from ccneg_bench.datasets import load_eval_dataset

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


def _examples_table(title: str, explanation: str, chosen: list[tuple[str, float]], dataset: Any,
                    distractor: bool) -> str:
    where = _rows_by_id(dataset)
    lines = []
    for sample_id, margin in chosen:
        row = where.get(sample_id)
        sample = dataset.samples[row] if row is not None else None
        caption = sample.caption if sample else ""
        negated = sample.negated_caption if sample else ""
        if distractor and dataset is not None and row is not None:
            table, image_row = dataset.distractors, dataset.distractor_rows[row]
        else:
            table, image_row = (dataset.images if dataset is not None else None), row
        picture = _image(table, image_row, caption)
        ident = esc(sample_id) + (f"<br><small>distractor {esc(sample.distractor_id)}</small>"
                                  if distractor and sample and sample.distractor_id else "")
        lines.append(f'<tr class="example"><td class="pic">{picture}</td><td class="caption">{esc(caption)}</td>'
                     f'<td class="negated">{_negated_html(caption, negated)}</td>'
                     f'<td class="margin">{margin:+.4f}</td><td><code>{ident}</code></td></tr>')
    if not lines:
        return ""
    return (f"<h3>{esc(title)}</h3><p>{esc(explanation)}</p><table><tr><th>{'distractor image' if distractor else 'image'}"
            "</th><th>caption c</th><th>negated caption c'</th><th>margin</th><th>id</th></tr>"
            + "".join(lines) + "</table>")


def _result_examples(result: dict[str, Any], datasets: _Datasets, n: int) -> str:
    import pyarrow.parquet as pq

    file = result.get("predictions")
    if result["task"] not in ("ccneg", "ccneg-balanced") or result.get("status") != "ok":
        return ""
    heading = f"<h2>Hardest examples: {esc(model_label(result))}, {esc(result['task'])}</h2>"
    if not file or not os.path.exists(file):
        return (f"<section>{heading}<p class=\"note\">no per-sample predictions: rerun ccneg-bench with "
                "--save-predictions to list the hardest examples</p></section>")
    columns = pq.read_table(file).to_pydict()
    info = result.get("dataset_info") or {}
    spec, split = info.get("spec"), info.get("split")
    dataset = datasets.get(spec, split)
    parts = [heading]
    if dataset is None:
        parts.append(f'<p class="note">dataset {esc(spec)} ({esc(split)}) could not be opened '
                     f"({esc(datasets.errors.get((str(spec), str(split))))}): images and captions are missing</p>")
    ids = columns.get("id", [])
    if "score_caption" in columns and "score_negated" in columns:
        margins = [None if a is None or b is None else a - b
                   for a, b in zip(columns["score_caption"], columns["score_negated"])]
        parts.append(_examples_table(
            "the true image prefers the negated caption",
            "margin = cos(I, c) - cos(I, c'); the most negative first: the model most prefers the negated caption",
            hardest(ids, margins, n), dataset, distractor=False))
    if "distractor_score_negated" in columns and "distractor_score_caption" in columns:
        margins = [None if a is None or b is None else a - b
                   for a, b in zip(columns["distractor_score_negated"], columns["distractor_score_caption"])]
        parts.append(_examples_table(
            "the distractor image prefers the true caption",
            "margin = cos(I', c') - cos(I', c); the most negative first: on the distractor image, where c' is "
            "right, the model most prefers c",
            hardest(ids, margins, n), dataset, distractor=True))
    return "<section>" + "".join(parts) + "</section>"


def render_report_page(results: Sequence[dict[str, Any]], plots: Sequence[str], n: int = HARDEST) -> str:
    """The whole report page for a set of results (pure apart from reading their files)."""
    datasets = _Datasets()
    title = f"ccneg-bench report: {len(results)} results"
    body = (f"<header><h1>{esc(title)}</h1><p>Breakdowns and the samples each model gets most wrong.</p></header>"
            "<main>" + _summary(results) + _plots(plots)
            + "".join(_result_examples(r, datasets, n) for r in results) + "</main>")
    return page(title, body, STYLE)


def write_html_report(result_paths: Sequence[str], written: dict[str, Any], output: str | os.PathLike,
                      n: int = HARDEST) -> Path:
    """Write ``OUTPUT/report.html`` next to what :func:`ccneg_bench.report.build_report` wrote."""
    import contextlib
    import io

    from ccneg_bench.report import collect

    with contextlib.redirect_stderr(io.StringIO()):  # build_report has already warned about bad files
        results = collect(result_paths)
    target = Path(output) / PAGE_NAME
    atomic_write_text(target, render_report_page(results, written.get("plots", []), n))
    return target
