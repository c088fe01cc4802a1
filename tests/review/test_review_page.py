"""The review page in a real headless Chromium: load from file://, mark with keys, reload, export.

The dataset is built by ``ccneg-build`` from real CC3M captions with generated pictures, and
the page is written by ``ccneg-build review OUT`` typed as a user would (default flags,
progress bar on); the exported file goes back into ``ccneg-build review OUT --judgments``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from ccneg_build.publication import record_files
from ccneg_core.record import RECORD_SCHEMA
from tests.helpers.data import make_rows
from tests.review.browser import screenshot, wait_for_file
from tests.scale.helpers import build_env, run_ccneg_build

REPO = Path(__file__).resolve().parents[2]


def _accepted(out: Path) -> int:
    return sum(pq.read_metadata(p).num_rows for p in (out / "data").glob("*.parquet"))


def _classes(driver) -> list[str]:
    return [row.get_attribute("class") for row in driver.find_elements(By.CSS_SELECTOR, "article.row")]


def _press(driver, *keys: str) -> None:
    body = driver.find_element(By.TAG_NAME, "body")
    for key in keys:
        body.send_keys(key)


def test_review_page_marks_survive_reload_and_export_feeds_judgments(built_with_images, chromium, tmp_path):
    driver, downloads = chromium
    out = built_with_images
    expected = min(50, _accepted(out))
    assert expected >= 10, "the build should accept enough rows for a page"

    # typed as a user would: default flags, progress bar on
    done = subprocess.run([sys.executable, "-m", "ccneg_build.cli", "review", str(out)], env=build_env(),
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr
    page = out / "review" / "review-accepted-seed0-n50.html"
    assert page.exists() and str(page) in done.stdout

    driver.get(page.resolve().as_uri())
    rows = driver.find_elements(By.CSS_SELECTOR, "article.row")
    assert len(rows) == expected
    images = driver.find_elements(By.CSS_SELECTOR, "article.row .pic img")
    assert len(images) == expected and all(img.get_attribute("src").startswith("data:image/jpeg;base64,")
                                           for img in images)
    assert all(driver.execute_script("return arguments[0].naturalWidth", img) > 0 for img in images)
    # nothing was fetched: no resource entries at all (images are data: URIs, styles and script inline)
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
    # the inserted negation is highlighted on every row
    assert len(driver.find_elements(By.CSS_SELECTOR, "article.row .negated mark")) >= expected
    ids = [row.get_attribute("data-id") for row in rows]

    _press(driver, "o", "b", "s", "2", Keys.ARROW_UP, "1")  # ok, bad, skip, bad; up; that row ok
    classes = _classes(driver)
    assert "mark-ok" in classes[0] and "mark-bad" in classes[1] and "mark-skip" in classes[2]
    assert "mark-ok" in classes[3] and "current" in classes[4]  # a mark moves on to the next row
    assert all("mark-" not in c for c in classes[4:])
    assert driver.find_element(By.ID, "counts").text.startswith("2 ok · 1 bad · 1 skipped")
    screenshot(driver, "review-page.png", tmp_path)

    driver.refresh()
    classes = _classes(driver)
    assert "mark-ok" in classes[0] and "mark-bad" in classes[1] and "mark-skip" in classes[2]
    assert "mark-ok" in classes[3]
    assert driver.find_elements(By.CSS_SELECTOR, "article.row")[1].find_element(By.CLASS_NAME, "verdict").text \
        .lower() == "bad"

    driver.find_element(By.ID, "export").click()
    exported = wait_for_file(downloads, "*.judgments.json")
    assert exported.name == "out-accepted-seed0.judgments.json"
    judgments = json.loads(exported.read_text(encoding="utf-8"))
    assert judgments == {ids[0]: "ok", ids[1]: "bad", ids[3]: "ok"}
    assert json.loads(driver.find_element(By.ID, "export-text").get_attribute("value")) == judgments

    done = run_ccneg_build("review", str(out), "--judgments", str(exported))
    assert done.returncode == 0, done.stderr
    assert "all accepted rows" in done.stdout and "2/3" in done.stdout
    kept = json.loads((out / "review" / "precision-out-accepted-seed0.json").read_text(encoding="utf-8"))
    assert kept["precision"]["ok"] == 2 and kept["precision"]["judged"] == 3
    assert json.loads((out / "review" / "judgments-out-accepted-seed0.json").read_text()) == judgments


HOSTILE = [
    "</script><script>alert(1)</script> a cat on a table",
    "<img src=x onerror=\"window.__pwned=1\"> a dog on a sofa",
    "a <b>bold</b> claim & \"quotes\" 'here' \u2028 line separator",
]


def _hostile_folder(out: Path) -> list[dict]:
    rows = make_rows(6, split="train")
    for row, text in zip(rows, HOSTILE):
        row["caption"] = text
        row["negated_caption"] = text.replace("a ", "no ", 1)
        row["negated_object"] = "<svg onload=alert(2)>"
    rows[0]["generator"] = {"backend": "</script>", "model": "<script>alert(3)</script>", "version": "0",
                            "fallback_from": None}
    (out / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=RECORD_SCHEMA), out / "data" / "train-00000-of-00001.parquet")
    record_files(out, ["data/train-00000-of-00001.parquet"])
    return rows


def test_untrusted_captions_render_as_text(chromium, tmp_path):
    driver, _ = chromium
    out = tmp_path / "hostile"
    rows = _hostile_folder(out)
    done = run_ccneg_build("review", str(out), "--no-progress")
    assert done.returncode == 0, done.stderr
    driver.get((out / "review" / "review-accepted-seed0-n50.html").resolve().as_uri())
    try:
        text = driver.switch_to.alert.text
        raise AssertionError(f"a caption ran as script (alert {text!r})")
    except NoAlertPresentException:
        pass
    assert driver.execute_script("return window.__pwned === undefined")
    assert len(driver.find_elements(By.TAG_NAME, "script")) == 2  # the page's data and its own script
    assert driver.find_elements(By.CSS_SELECTOR, "svg, b, article img[src='x']") == []
    shown = {row.get_attribute("data-id"): row.find_element(By.CLASS_NAME, "caption").get_attribute("textContent")
             for row in driver.find_elements(By.CSS_SELECTOR, "article.row")}
    for row in rows:
        assert shown[row["id"]] == row["caption"]
    assert driver.find_elements(By.CSS_SELECTOR, "article.row")  # the page still works: a key marks a row
    _press(driver, "o")
    assert "mark-ok" in _classes(driver)[0]
