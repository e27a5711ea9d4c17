"""Shared test fixtures: paths to the repo's config and to ../shared/realdata."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / "config"
REALDATA = Path(os.environ.get("CITYRADAR_REALDATA") or REPO_ROOT.parent / "shared" / "realdata")


@pytest.fixture
def realdata() -> Path:
    """The real public data set beside the checkout; skips when a user's clone lacks it."""
    if not REALDATA.is_dir():
        pytest.skip(f"real data not present at {REALDATA} (it lives beside the project)")
    return REALDATA


@pytest.fixture
def config_dir() -> Path:
    return CONFIG_DIR


def system_tool_missing(reason: str) -> None:
    """Skip for a missing system tool on a user's machine; fail on CI, which installs it
    (scripts/install-system-deps.sh), so a broken install cannot pass as skipped tests."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI installs it with scripts/install-system-deps.sh")
    pytest.skip(reason)


CHROMIUM = Path("/usr/bin/chromium")
# Headless, and no background connections: the test machines have no network but loopback.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"


@pytest.fixture
def browser():
    """A headless Debian Chromium driven by Playwright (never a downloaded browser build)."""
    if shutil.which(str(CHROMIUM)) is None:
        system_tool_missing(f"Debian Chromium not installed at {CHROMIUM} (make system-deps)")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


WAIT_MS = 30_000  # Streamlit renders asynchronously: wait for what a page shows, never sleep


def wait_for_charts(page, count: int) -> None:
    """Wait until ``count`` Vega-Lite charts are drawn at full size (they render async)."""
    page.wait_for_function(
        """n => {
            const charts = [...document.querySelectorAll("[data-testid='stVegaLiteChart']")];
            return charts.length >= n && charts.every(c => {
                const g = c.querySelector("canvas, svg");
                return g && g.getBoundingClientRect().height > 60;
            });
        }""",
        arg=count, timeout=WAIT_MS)


@pytest.fixture(scope="session")
def report_demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo store at scale 1:200 (about 10,000 articles: the Wuhan/Beijing 2020 pattern),
    built once per session with `cityradar demo --no-ui` for the report and Overview tests."""
    import subprocess
    import sys

    db = tmp_path_factory.mktemp("report_demo") / "demo.db"
    run = subprocess.run(
        [sys.executable, "-m", "cityradar.cli", "--db", str(db), "demo", "--no-ui",
         "--scale", "200"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=280, check=False,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("CITYRADAR_")},
             "PYTHONPATH": str(REPO_ROOT)})
    assert run.returncode == 0, run.stderr[-2000:]
    return db


def config_with_sentiment(tmp_path: Path, **sentiment: object) -> Path:
    """A copy of the shipped config with the given nlp.yaml sentiment settings (other files
    linked; language models not preloaded: the tests load few texts, keep startup fast)."""
    import yaml

    directory = tmp_path / "config"
    directory.mkdir()
    for entry in CONFIG_DIR.iterdir():
        if entry.name != "nlp.yaml":
            (directory / entry.name).symlink_to(entry)
    data = yaml.safe_load((CONFIG_DIR / "nlp.yaml").read_text(encoding="utf-8"))
    data["sentiment"].update(sentiment)
    data["language"]["preload_models"] = False
    (directory / "nlp.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return directory
