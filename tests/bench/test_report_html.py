"""``ccneg-bench report --html``: one self-contained page, checked in a real headless Chromium."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
from selenium.webdriver.common.by import By

from ccneg_bench.cli import main
from tests.helpers.data import write_ccneg_folder, write_distractors
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
        assert float(row.find_element(By.CLASS_NAME, "margin").text) == round(margin, 4)
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
    assert "could not be opened" in text and text.count('class="example"') == 12
