"""The Overview page (leadership) on a real Streamlit server over the 1:200 demo store, driven
by real headless Debian Chromium: the ranking, the heat map, the trend lines, and the report
download buttons that yield a real PDF."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import CONFIG_DIR, SCREENSHOTS, WAIT_MS, wait_for_charts
from ui.launch import launch, stop

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def overview_server(report_demo_db: Path) -> Iterator[str]:
    process, url = launch(f"sqlite:///{report_demo_db}", CONFIG_DIR)
    try:
        yield url
    finally:
        stop(process)


def test_overview_shows_the_ranking_and_heat_map_and_downloads_the_pdf(
    overview_server: str, browser, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1800}, accept_downloads=True)
    page.goto(overview_server)
    nav = page.get_by_test_id("stSidebarNav").get_by_role("link")
    # the landing page: the root URL opens it, and it is first in the navigation
    expect(page.get_by_text("City ranking, June 2020")).to_be_visible(timeout=WAIT_MS)
    expect(nav.first).to_have_attribute("href", re.compile(r"^http://[^/]+/?$"),
                                        timeout=WAIT_MS)
    expect(nav.first).to_contain_text("Overview")  # first in the navigation
    nav.first.click()
    expect(page.get_by_text("City ranking, June 2020")).to_be_visible(timeout=WAIT_MS)
    grid = page.get_by_test_id("stDataFrame").first
    expect(grid).to_be_visible(timeout=WAIT_MS)
    # the data grid keeps an accessible table of its cells: Beijing leads June 2020, moved up
    rows = grid.locator("table [role=row]")
    expect(rows).to_have_count(16, timeout=WAIT_MS)  # the header and all 15 cities shown
    first_row = rows.nth(1)
    expect(first_row).to_contain_text("Beijing", timeout=WAIT_MS)
    expect(first_row).to_contain_text(re.compile(r"▲ \d"))
    wait_for_charts(page, 2)  # trend lines and heat map
    expect(page.get_by_text("Reports per city and month")).to_have_count(1)
    page.screenshot(path=SCREENSHOTS / "overview.png", full_page=True)

    with page.expect_download(timeout=120_000) as download_info:
        page.get_by_role("button", name="Monthly report (PDF)").click()
    download = download_info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert download.suggested_filename == "cityradar-report-2020-06.pdf"
    content = target.read_bytes()
    assert content.startswith(b"%PDF-") and len(content) > 50_000

    with page.expect_download(timeout=WAIT_MS) as csv_info:
        page.get_by_role("button", name="Ranking (CSV)").click()
    csv_path = tmp_path / "ranking.csv"
    csv_info.value.save_as(csv_path)
    lines = csv_path.read_text(encoding="utf-8-sig").splitlines()  # ui.downloads: with a BOM
    assert lines[0].startswith("Rank,Move,City,Reports,English,Other,Unique,vs May,Tone")
    assert re.match(r"1,▲ \d+,Beijing ", lines[1])
    assert len(lines) == 16

    page.get_by_text("tone", exact=True).click()  # heat map of mean tone
    expect(page.get_by_text("Mean tone per city and month")).to_be_visible(timeout=WAIT_MS)
    page.get_by_role("combobox", name="Month").click()
    page.get_by_role("option", name="February 2020").click()
    expect(page.get_by_text("City ranking, February 2020")).to_be_visible(timeout=WAIT_MS)
    expect(rows.nth(1)).to_contain_text("Wuhan", timeout=WAIT_MS)
    wait_for_charts(page, 2)
    page.screenshot(path=SCREENSHOTS / "overview-february-tone.png", full_page=True)
