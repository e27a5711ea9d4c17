"""The Planner page on the real Streamlit server, driven by real headless Debian Chromium."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from cityradar.records import Article
from search.sqlite_store import SQLiteStore
from tests.conftest import CONFIG_DIR, SCREENSHOTS, WAIT_MS, wait_for_charts
from tests.contract.factories import make_article
from tests.test_planner import _spread
from ui.launch import launch, stop

NOW = (date(2020, 4, 1), date(2020, 6, 30))  # the page's default: the last 3 months
BEFORE = (date(2020, 1, 1), date(2020, 3, 31))  # ... compared with the 3 months before
JAPAN_FOOD_TITLE = "成都の屋台グルメ、観光客に大人気"


def _planner_store(path: Path) -> str:
    chengdu = {"cities": ["chengdu"]}
    articles: list[Article] = []
    articles += _spread(20, *BEFORE, topics=["food"], sentiment=0.6, country="JP",
                        language="ja", title=JAPAN_FOOD_TITLE, outlet="Asahi Shimbun", **chengdu)
    articles += _spread(45, *NOW, topics=["food"], sentiment=0.6, country="JP", language="ja",
                        title=JAPAN_FOOD_TITLE, outlet="Asahi Shimbun", **chengdu)
    articles += _spread(12, *NOW, topics=["pandas_wildlife"], sentiment=0.8, country="JP",
                        language="ja", title="成都のパンダ基地、赤ちゃんパンダ", **chengdu)
    articles += _spread(8, *NOW, topics=["crime_safety"], sentiment=-0.7, country="JP",
                        language="en", title="Chengdu police arrest fraud gang", **chengdu)
    articles += _spread(30, *BEFORE, topics=["tourism"], sentiment=0.5, country="KR",
                        language="ko", title="청두 여행", **chengdu)
    articles += _spread(8, *NOW, topics=["tourism"], sentiment=0.5, country="KR",
                        language="ko", title="청두 여행", **chengdu)
    articles += _spread(25, *NOW, topics=["economy_business"], sentiment=-0.1, country="US",
                        language="en", title="Chengdu factory output slows", **chengdu)
    articles += _spread(24, *BEFORE, topics=["economy_business"], sentiment=-0.1,
                        country="US", language="en", title="Chengdu exports steady",
                        **chengdu)
    articles += _spread(6, *NOW, topics=["food"], sentiment=0.4, country=None, language="en",
                        title="=HYPERLINK(\"http://x\") *Chengdu* street food blog",
                        outlet="Some blog", **chengdu)
    articles += _spread(15, *NOW, topics=["food"], sentiment=-0.2, country="JP",
                        language="ja", title="重慶の火鍋", cities=["chongqing"])
    own = make_article(
        title="Kuanzhai Alley night market reopens with Sichuan street food stalls",
        summary="More than 80 stalls sell dan dan noodles and chuanchuan at Kuanzhai Alley.",
        published_at="2020-05-12", topics=["food"], sentiment=0.7, outlet="GoChengdu",
        country="CN", language="en", voice="own", **chengdu)
    pickup = make_article(
        url="https://www3.nhk.or.jp/nhkworld/kuanzhai",
        title="Chengdu's Kuanzhai Alley night market is back with street food stalls",
        summary="Some 80 stalls selling dan dan noodles and chuanchuan reopened at the "
                "Kuanzhai Alley night market.",
        published_at="2020-05-15", topics=["food"], sentiment=0.6, outlet="NHK World",
        country="JP", language="en", **chengdu)
    store = SQLiteStore(path)
    result = store.upsert_articles([*articles, own, pickup])
    assert result.failed == []
    store.close()
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = _planner_store(tmp_path_factory.mktemp("ui_planner") / "planner.db")
    process, address = launch(url, CONFIG_DIR)
    try:
        yield address
    finally:
        stop(process)


def _click_first_row(page, key: str) -> None:  # type: ignore[no-untyped-def]
    """Select the first row of a st.dataframe (its row-selection column, left of row 1)."""
    grid = page.locator(f".st-key-{key} [data-testid='stDataFrameResizable']")
    box = grid.bounding_box(timeout=WAIT_MS)
    assert box is not None
    page.mouse.click(box["x"] + 14, box["y"] + 35 + 17)


@pytest.mark.browser
def test_planner_shows_the_matrix_and_a_cells_headlines(server: str, browser) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1700})
    page.goto(f"{server}/alerts")
    # The app's own navigation is drawn once app.py has run (the root is the Overview; the
    # inbox, opened here, is a light page).
    expect(page.get_by_text("Alert inbox")).to_be_visible(timeout=WAIT_MS)
    page.get_by_role("link", name="Planner", exact=True).click()
    expect(page.get_by_role("heading", name="Topics by market")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("Choose a cell above to list its headlines.")).to_be_visible(
        timeout=WAIT_MS)
    wait_for_charts(page, 1)
    expect(page.locator(".st-key-planner_cells")).to_be_visible(timeout=WAIT_MS)
    page.screenshot(path=SCREENSHOTS / "planner.png", full_page=True)

    # The first row is the top market's (JP) largest opportunity topic: food.
    _click_first_row(page, "planner_cells")
    expect(page.get_by_text("Food & cuisine in JP: newest first")).to_be_visible(
        timeout=WAIT_MS)
    with page.expect_download(timeout=WAIT_MS) as download_info:
        page.locator(".st-key-csv_dl_headlines button").click()
    headlines_csv = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    lines = headlines_csv.strip().splitlines()
    assert lines[0].startswith("date,headline,outlet,country,language,tone")
    # 45 Asahi reports and the NHK World pick-up of the own-voice story (food, JP too).
    assert len(lines) == 1 + 46
    assert sum(JAPAN_FOOD_TITLE in line for line in lines) == 45
    assert sum("NHK World,JP,en" in line for line in lines) == 1
    page.get_by_role("heading", name="Headlines of the chosen cell").scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOTS / "planner_cell.png", full_page=True)

    # The matrix table's CSV: every cell, the unknown country included, formulas defused.
    with page.expect_download(timeout=WAIT_MS) as download_info:
        page.locator(".st-key-csv_dl_matrix button").click()
    matrix_csv = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    cells = {(r["market"], r["topic"]): r for r in csv.DictReader(io.StringIO(matrix_csv))}
    assert cells["unknown", "Food & cuisine"]["reports"] == "6"
    assert (cells["JP", "Food & cuisine"]["reports"], cells["JP", "Food & cuisine"]["trend"]) \
        == ("46", "rising")
    assert (cells["KR", "Tourism & travel"]["reports"],
            cells["KR", "Tourism & travel"]["trend"]) == ("8", "falling")
    assert cells["US", "Economy & business"]["trend"] == ""  # 25 vs 24: no change

    # Rising/falling kept apart by kind; picked-up own-voice stories by country.
    expect(page.get_by_text("Opportunity topics")).to_be_visible(timeout=WAIT_MS)
    with page.expect_download(timeout=WAIT_MS) as download_info:
        page.locator(".st-key-csv_dl_pickups button").click()
    pickups_csv = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    assert "NHK World,JP,en,2020-05-15,3" in pickups_csv

    # Peers: compare with Chongqing.
    peers_box = page.locator(".st-key-planner_peers_pick input")
    peers_box.click()
    peers_box.fill("Chongqing")
    expect(page.get_by_role("option", name="Chongqing")).to_be_visible(timeout=WAIT_MS)
    peers_box.press("Enter")
    page.keyboard.press("Escape")
    expect(page.get_by_text("Shares and tone per city")).to_be_visible(timeout=WAIT_MS)
    with page.expect_download(timeout=WAIT_MS) as download_info:
        page.locator(".st-key-csv_dl_peers_wide button").click()
    peers_csv = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    assert peers_csv.splitlines()[0].startswith("market,topic,Chengdu")
    assert "JP,Food & cuisine,46,15" in peers_csv
    page.get_by_role("heading", name="Rising and falling").scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOTS / "planner_peers.png", full_page=True)
    page.get_by_role("heading", name="Picked up abroad").scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOTS / "planner_pickups.png", full_page=True)
