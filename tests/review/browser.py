"""A real headless Chromium driven by selenium, with nothing downloaded at run time.

Debian's ``chromium`` and ``chromium-driver`` (``scripts/dev-setup.sh`` installs them) are
given to selenium by path, so its driver manager never goes to the network. A missing
browser fails the test with the command that installs it: the page tests never skip.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CCNEG_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CCNEG_CHROMEDRIVER", "/usr/bin/chromedriver")
ARGUMENTS = ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", "--disable-sync", "--window-size=1280,1400")


def start_chromium(profile: Path, downloads: Path):
    """A fresh headless Chromium (own profile folder) that saves downloads into ``downloads``."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (os.path.exists(p) or shutil.which(p))]
    if missing:
        pytest.fail(f"the page tests need Chromium and its driver, missing: {', '.join(missing)}; install them "
                    "with scripts/dev-setup.sh (Debian: apt-get install chromium chromium-driver)", pytrace=False)
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("the page tests need selenium: pip install -e '.[dev]'", pytrace=False)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ARGUMENTS:
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={profile}")
    downloads.mkdir(parents=True, exist_ok=True)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    return driver


@pytest.fixture
def chromium(tmp_path: Path):
    """(driver, downloads folder); the browser is closed after the test."""
    downloads = tmp_path / "downloads"
    driver = start_chromium(tmp_path / "profile", downloads)
    try:
        yield driver, downloads
    finally:
        driver.quit()


def wait_for_file(folder: Path, pattern: str, timeout: float = 10.0) -> Path:
    """The first complete file matching ``pattern`` in ``folder`` (downloads land as .crdownload first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.glob(pattern) if not p.name.endswith(".crdownload")]
        if done:
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"no {pattern} appeared in {folder} within {timeout} s: {sorted(os.listdir(folder))}")


def screenshot(driver, name: str, fallback: Path) -> Path:
    """Save a PNG of the page: into CCNEG_SCREENSHOT_DIR when set (the docs' pictures), else ``fallback``."""
    folder = Path(os.environ.get("CCNEG_SCREENSHOT_DIR") or fallback)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, max(900, min(int(height), 2400)))  # the whole page, up to a limit
    assert driver.save_screenshot(str(path)), f"no screenshot written to {path}"
    return path
