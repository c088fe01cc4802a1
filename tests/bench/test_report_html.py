"""``ccneg-bench report --html``: one self-contained page, checked in a real headless Chromium."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from selenium.webdriver.common.by import By

from ccneg_bench.cli import main
from tests.helpers.data import write_ccneg_folder, write_distractors
from tests.helpers.tiny_models import save_tiny_checkpoint
from tests.review.browser import chromium, screenshot  # noqa: F401  (fixture)
from tests.scale.helpers import build_env

REPO = Path(__file__).resolve().parents[2]


def _lowest_margins(predictions: Path, first: str, second: str, n: int) -> list[tuple[str, float]]:
    """Independent of the page code: the n lowest first - second margins straight from the Parquet file."""
    table = pq.read_table(predictions).to_pydict()
    pairs = [(i, a - b) for i, a, b in zip(table["id"], table[first], table[second]) if a is not None and b is not None]
    return sorted(pairs, key=lambda p: (p[1], p[0]))[:n]


def test_report_page_shows_plots_and_hardest_examples(tiny_spec, tmp_path, chromium, capsys):
    driver, _ = chromium
    data = write_ccneg_folder(tmp_path / "ds", n=30, duplicate_every=7)
    ids = pq.read_table(data / "data" / "eval-00000-of-00001.parquet", columns=["id"]).column("id").to_pylist()
    write_distractors(data, ids)
    spec, weights = tiny_spec
    results = tmp_path / "results"
    assert main(["--model", spec, "--pretrained", weights, "--dataset", str(data), "--task", "ccneg",
                 "--task", "ccneg-balanced", "--output", str(results), "--save-predictions", "--no-progress",
                 "--workers", "0", "--bootstrap", "50"]) == 0
    capsys.readouterr()

    report = tmp_path / "report"
    done = subprocess.run([sys.executable, "-m", "ccneg_bench.cli", "report", str(results), "--output", str(report),
                           "--html"], env=build_env(), capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr
    page = report / "report.html"
    assert f"page: {page}" in done.stdout
    text = page.read_text(encoding="utf-8")
    assert "src=\"http" not in text and "href=" not in text

    driver.get(page.resolve().as_uri())
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
    plots = driver.find_elements(By.CSS_SELECTOR, "figure img")
    assert len(plots) >= 2 and all(p.get_attribute("src").startswith("data:image/png;base64,") for p in plots)
    assert all(driver.execute_script("return arguments[0].naturalWidth", p) > 0 for p in plots)
    sections = {s.find_element(By.TAG_NAME, "h2").text: s for s in driver.find_elements(By.TAG_NAME, "section")}
    ccneg = next(s for title, s in sections.items() if title.endswith(", ccneg"))
    balanced = next(s for title, s in sections.items() if title.endswith("ccneg-balanced"))

    predictions = next(results.glob("*_ccneg.predictions.parquet"))
    expected = _lowest_margins(predictions, "score_caption", "score_negated", 12)
    shown = ccneg.find_elements(By.CSS_SELECTOR, "tr.example")
    assert len(shown) == 12
    for row, (sample_id, margin) in zip(shown, expected):
        assert row.find_element(By.CSS_SELECTOR, "code").text.startswith(sample_id)
        assert abs(float(row.find_element(By.CLASS_NAME, "margin").text) - margin) <= 5e-5
        assert row.find_element(By.CSS_SELECTOR, "td.pic img").get_attribute("src").startswith("data:image/jpeg")
        assert row.find_element(By.CLASS_NAME, "caption").text
    assert len(balanced.find_elements(By.TAG_NAME, "table")) == 2  # true-image side and distractor side
    balanced_predictions = next(results.glob("*_ccneg-balanced.predictions.parquet"))
    distractor_side = _lowest_margins(balanced_predictions, "distractor_score_negated", "distractor_score_caption", 12)
    distractor_rows = balanced.find_elements(By.TAG_NAME, "table")[1].find_elements(By.CSS_SELECTOR, "tr.example")
    assert [r.find_element(By.CSS_SELECTOR, "code").text.split("\n")[0] for r in distractor_rows] == \
        [i for i, _ in distractor_side]
    assert all("distractor pool-" in r.find_element(By.CSS_SELECTOR, "code").text for r in distractor_rows)
    screenshot(driver, "report-page.png", tmp_path)


def test_report_page_without_predictions_or_dataset_says_why(tiny_spec, tmp_path, capsys):
    data = write_ccneg_folder(tmp_path / "ds", n=12)
    spec, weights = tiny_spec
    results = tmp_path / "results"
    assert main(["--model", spec, "--pretrained", weights, "--dataset", str(data), "--output", str(results),
                 "--no-progress", "--workers", "0", "--bootstrap", "20"]) == 0
    assert main(["report", str(results), "--output", str(tmp_path / "a"), "--html"]) == 0
    assert "--save-predictions" in (tmp_path / "a" / "report.html").read_text(encoding="utf-8")

    assert main(["--model", spec, "--pretrained", weights, "--dataset", str(data), "--output", str(results),
                 "--no-progress", "--workers", "0", "--bootstrap", "20", "--save-predictions"]) == 0
    for path in (data / "data").glob("*.parquet"):
        path.unlink()  # the dataset is gone: the page still lists ids and margins
    assert main(["report", str(results), "--output", str(tmp_path / "b"), "--html"]) == 0
    text = (tmp_path / "b" / "report.html").read_text(encoding="utf-8")
    assert "could not be opened" in text and len(re.findall(r'class="example (wrong|tie|right)"', text)) == 12


# --- several models: the text baseline (right on every sample) and two random tiny models ---------------


@pytest.fixture(scope="module")
def several(tmp_path_factory, tiny_spec):
    """(results of the text baseline alone, results of it plus two tiny models) on one dataset with images,
    distractors and exact ties; ccneg, ccneg-balanced and retrieval, predictions saved."""
    root = tmp_path_factory.mktemp("several")
    data = write_ccneg_folder(root / "ds", n=40, duplicate_every=7)
    write_distractors(data, pq.read_table(data / "data" / "eval-00000-of-00001.parquet", columns=["id"])
                      .column("id").to_pylist())
    config, other_weights = save_tiny_checkpoint(root / "seed1", seed=1)
    common = ["--dataset", str(data), "--task", "ccneg", "--task", "ccneg-balanced", "--task", "retrieval",
              "--save-predictions", "--no-progress", "--workers", "0", "--bootstrap", "100"]
    one, many = root / "one", root / "several"
    spec, weights = tiny_spec
    for out, models in ((one, [("text:negation-words", "none")]),
                        (many, [("text:negation-words", "none"), (spec, weights), (f"open_clip:{config}", str(other_weights))])):
        for model, pretrained in models:
            assert main(["--model", model, "--pretrained", pretrained, "--output", str(out), *common]) == 0
    return one, many


#: the report page's column: main's max-width (1100 px) less its padding (2 x 18 px)
PAGE_COLUMN_PX = 1064


def _read_results(folder: Path) -> list[dict]:
    from ccneg_bench.report import collect

    return collect([str(folder)])


def _drawn_texts(figure) -> list:
    """The texts a drawn figure shows: every visible non-empty text, tick labels only for ticks in view."""
    from matplotlib.text import Text

    ticks, shown = set(), []
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                labels = (tick.label1, tick.label2)
                ticks.update(id(label) for label in labels)
                if low - 1e-9 <= tick.get_loc() <= high + 1e-9:
                    shown.extend(label for label in labels if label.get_visible())
    shown.extend(t for t in figure.findobj(Text) if id(t) not in ticks and t.get_visible())
    return [t for t in shown if t.get_text().strip()]


def _texts_overlap(figure) -> list[tuple[str, str]]:
    """Pairs of texts of a drawn figure whose boxes overlap (more than a pixel each way)."""
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in _drawn_texts(figure)]
    clashes = []
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1:]:
            width = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
            height = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
            if width > 1 and height > 1:
                clashes.append((a, b))
    return clashes


def test_plots_have_no_overlapping_text_and_fit_the_page(several, tmp_path):
    """One model and several: no label, tick, title, legend or footnote overlaps another, and every
    PNG is at most as wide as the page's column, so the page never shrinks it."""
    from PIL import Image

    from ccneg_bench.plots import draw_plots, write_plots
    from ccneg_bench.results import model_label

    for folder in several:
        results = _read_results(folder)
        drawn = dict(draw_plots(results, model_label))
        assert set(drawn) == {"accuracy_by_cue", "accuracy_by_relations", "ccneg_balanced", "retrieval",
                              "margin_histogram"}
        for stem, figure in drawn.items():
            assert _texts_overlap(figure) == [], f"{folder.name}/{stem}"
        for path in write_plots(results, tmp_path / folder.name, model_label):
            assert Image.open(path).width <= PAGE_COLUMN_PX, path


def _counts(predictions: Path, first: str, second: str) -> dict[str, int]:
    table = pq.read_table(predictions).to_pydict()
    margins = [a - b for a, b in zip(table[first], table[second]) if a is not None and b is not None]
    return {"wrong": sum(m < 0 for m in margins), "tie": sum(m == 0 for m in margins),
            "right": sum(m > 0 for m in margins)}


def _check_side(side, counts: dict[str, int]) -> None:
    """Every row sits under the heading of its margin's sign; the counts sentence is the file's."""
    current = None
    shown = {"wrong": 0, "tie": 0, "right": 0}
    for row in side.find_elements(By.CSS_SELECTOR, "tr.group, tr.example"):
        kind = row.get_attribute("class").split()
        if kind[0] == "group":
            current = kind[1]
            heading = row.text
            assert heading.startswith({"wrong": "wrong:", "tie": "tie (margin = 0)", "right": "right, by the least"}[current])
            continue
        margin = float(row.find_element(By.CLASS_NAME, "margin").text)
        assert {"wrong": margin < 0, "tie": margin == 0, "right": margin > 0}[current], (current, margin)
        shown[current] += 1
    sentence = side.find_element(By.CLASS_NAME, "counts").text
    if counts["wrong"]:
        assert sentence.startswith(f"Of {sum(counts.values())} scored samples, {counts['wrong']} prefer")
        assert f"{counts['tie']} tie and {counts['right']} prefer" in sentence
    else:
        assert sentence.startswith("No sample is wrong") and shown["wrong"] == 0
    assert sum(shown.values()) == min(12, sum(counts.values()))
    assert shown["wrong"] == min(12, counts["wrong"])


def test_report_page_with_one_and_several_models(several, tmp_path, chromium):
    """The page in a real browser: honest headings for every kind of model, an interval for every
    task, every plot at its own size; screenshots of both pages for a person to look at."""
    driver, _ = chromium
    for folder in several:
        out = tmp_path / f"report-{folder.name}"
        assert main(["report", str(folder), "--output", str(out), "--html"]) == 0
        driver.get((out / "report.html").resolve().as_uri())

        summary = driver.find_element(By.TAG_NAME, "table").find_elements(By.CSS_SELECTOR, "tr")[1:]
        assert len(summary) == 3 * (1 if folder.name == "one" else 3)
        for row in summary:
            task, result = row.find_elements(By.TAG_NAME, "td")[2].text, row.find_elements(By.TAG_NAME, "td")[4].text
            assert re.search(r"\[\d+\.\d, \d+\.\d\]$", result), (task, result)  # the file's bootstrap interval

        for figure in driver.find_elements(By.TAG_NAME, "figure"):
            image = figure.find_element(By.TAG_NAME, "img")
            natural, shown = driver.execute_script(
                "return [arguments[0].naturalWidth, arguments[0].getBoundingClientRect().width]", image)
            assert natural > 0 and shown == natural, (image.get_attribute("alt"), natural, shown)
            assert driver.execute_script("return arguments[0].scrollWidth <= arguments[0].clientWidth", figure)

        sections = [s for s in driver.find_elements(By.TAG_NAME, "section")
                    if s.find_element(By.TAG_NAME, "h2").text.startswith("Hardest examples")]
        assert len(sections) == 2 * (1 if folder.name == "one" else 3)
        for section in sections:
            title = section.find_element(By.TAG_NAME, "h2").text
            task = title.rsplit(", ", 1)[1]
            text_only = title.startswith("Hardest examples: text:")
            stem = "none_text_negation-words" if text_only else ("tiny-clip-seed1" if "seed1" in title else "tiny-clip-seed0")
            predictions = next(p for p in folder.glob(f"*_{task}.predictions.parquet") if stem in p.name)
            sides = section.find_elements(By.CLASS_NAME, "side")
            true_counts = _counts(predictions, "score_caption", "score_negated")
            _check_side(sides[0], true_counts)
            if text_only:  # the baseline never prefers the negated caption: nothing may say it does
                assert true_counts["wrong"] == 0 and "No sample is wrong" in sides[0].text
                assert "score(I, c) - score(I, c')" in sides[0].text and "not a cosine" in sides[0].text
            if task == "ccneg-balanced":
                _check_side(sides[1], _counts(predictions, "distractor_score_negated", "distractor_score_caption"))
            else:
                assert len(sides) == 1
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, min(int(height), 16000))  # the whole page, to look at (not the docs' picture)
        assert driver.save_screenshot(str(tmp_path / f"report-page-{folder.name}.png"))
        driver.set_window_size(1280, 1400)
