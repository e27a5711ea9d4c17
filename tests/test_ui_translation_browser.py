"""Translated headlines and CSV downloads in the real UI (Streamlit + headless Chromium).

A Russian Wuhan story gets its title translated by the tiny local Marian model through the
real translation path (``cityradar translate``'s code, offline), is added to the Wuhan alert's
evidence, and must show its translation, marked as machine translation, under the original
headline in the alert evidence, on the city page and in search (with its summary's
translation); the search results download as CSV with the translation in it.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from nlp.translation import MarianTranslator, TranslationSettings, translate_articles
from search import open_store
from tests.conftest import CONFIG_DIR, SCREENSHOTS, WAIT_MS, wait_for_charts
from tests.tiny_marian import build_tiny_marian
from tests.ui_fixtures import UiFixture, _article, build_ui_store
from ui.launch import launch, stop

RUSSIAN = "Вспышка коронавируса в Ухане"
ENGLISH = "Coronavirus outbreak in Wuhan"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[UiFixture, str]]:
    base = tmp_path_factory.mktemp("ui_translation")
    fixture = build_ui_store(base)
    model = build_tiny_marian(base / "tiny-marian-ru-en")
    russian = _article("wuhan", RUSSIAN, date(2020, 1, 31), language="ru", outlet="ТАСС",
                       tone=-0.6, topics={"public_health": 0.9}, hour=23,
                       summary="Больницы Уханя переполнены")
    translator = MarianTranslator(TranslationSettings(backend="marian",
                                                      models={"ru": str(model)}))
    with open_store(fixture.store_url) as store:
        (translated,) = translate_articles([russian], translator, summaries=True)
        store.upsert_articles([translated])
        alert = store.get_alert(fixture.wuhan_alert_id)
        stories = [translated.id, *alert.evidence["stories"]]
        store.upsert_alert(dataclasses.replace(alert, evidence={**alert.evidence,
                                                                "stories": stories}))
    process, url = launch(fixture.store_url, CONFIG_DIR)
    try:
        yield fixture, url
    finally:
        stop(process)


@pytest.mark.browser
def test_russian_headline_shows_its_machine_translation(server: tuple[UiFixture, str],
                                                         browser) -> None:
    from playwright.sync_api import expect

    fixture, url = server
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    line = f"↳ {ENGLISH}   (machine translation ru→en, tiny-marian-ru-en)"

    page.goto(f"{url}/alerts?alert={fixture.wuhan_alert_id}")
    expect(page.get_by_role("link", name=RUSSIAN)).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text(line)).to_be_visible(timeout=WAIT_MS)
    page.get_by_role("heading", name="Stories behind it").scroll_into_view_if_needed()
    expect(page.locator(".st-key-csv_episode_stories button")).to_be_visible(timeout=WAIT_MS)
    wait_for_charts(page, 1)
    page.screenshot(path=SCREENSHOTS / "translation_episode.png")

    page.get_by_role("link", name="City").click()
    expect(page.get_by_text("Latest headlines")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("link", name=RUSSIAN)).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text(line)).to_be_visible(timeout=WAIT_MS)

    page.get_by_role("link", name="Search").click()
    box = page.get_by_label("Search text")
    box.fill("Ухане")
    box.press("Enter")
    expect(page.get_by_text("1 result(s)")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text(line)).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("↳ Wuhan hospitals are overwhelmed   (machine translation)")
           ).to_be_visible(timeout=WAIT_MS)
    page.screenshot(path=SCREENSHOTS / "translation_search.png")
    with page.expect_download(timeout=WAIT_MS) as download:
        page.get_by_role("button", name="Download results (CSV, 1 result)").click()
    assert download.value.suggested_filename == "search-results.csv"
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["title"], r["title_translated"]) for r in rows] == [(RUSSIAN, ENGLISH)]
