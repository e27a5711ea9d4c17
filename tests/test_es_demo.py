"""`cityradar --store http://… demo` end to end on Elasticsearch (the osmem-server emulator):
corpus → tag → bulk index → detect → alerts in the alerts index, then the real Streamlit UI on
the same indices in headless Debian Chromium, and the UI's "store degraded" warning once
Elasticsearch goes away.

The demo runs at --scale 400 (about 4,900 articles) so the test stays near a minute; at that
scale the detectors still find both study surges (Wuhan from January 2020, Beijing in June 2020).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import click
import pytest

pytest.importorskip("osmem_server", reason="osmem-server (the Elasticsearch emulator) missing")

from cityradar.commands.demo import DEMO_ES_PREFIX, DEMO_META_KEY, open_fresh_store
from cityradar.records import Alert
from search.es_store import ElasticsearchStore
from tests.conftest import CONFIG_DIR, REPO_ROOT, SCREENSHOTS, WAIT_MS, wait_for_charts
from tests.contract.es_backend import Emulator
from tests.contract.factories import make_article
from ui.launch import launch, stop

HEALTH_CACHE_S = 10  # ui.data.HEALTH_TTL: the UI re-checks the store this often
SCALE = 400


@dataclass
class EsDemo:
    emulator: Emulator
    cli_url: str  # what the user gave to --store
    demo_url: str  # what the demo printed (its own index prefix added)
    output: str
    log: str


def cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cityradar.cli", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def es_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EsDemo]:
    emulator = Emulator().start()
    spool = tmp_path_factory.mktemp("es_demo_spool")
    cli_url = f"{emulator.url}?compat=plain&spool={spool}"
    try:
        run = cli("--store", cli_url, "demo", "--no-ui", "--scale", str(SCALE))
        assert run.returncode == 0, run.stderr[-3000:]
        printed = [line for line in run.stderr.splitlines() if line.startswith("demo store: ")]
        assert printed, run.stderr[-3000:]
        yield EsDemo(emulator, cli_url, printed[0].removeprefix("demo store: "), run.stdout,
                     run.stderr)
    finally:
        emulator.stop()


def open_demo_store(demo: EsDemo) -> ElasticsearchStore:
    return ElasticsearchStore(demo.demo_url)



def streamlit_key_class(key: str) -> str:
    """The CSS class Streamlit gives an element with ``key`` (its frontend's rule)."""
    return "st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", key.strip())


def surge(alerts: list[Alert], city: str) -> Alert:
    surges = [a for a in alerts if a.city == city and a.kind == "volume_surge"]
    assert surges, f"no {city} volume surge in {[(a.city, a.kind) for a in alerts]}"
    return min(surges, key=lambda a: a.start)


def test_demo_indexes_the_corpus_and_stores_the_study_surges_as_alerts(es_demo: EsDemo) -> None:
    assert f"prefix={DEMO_ES_PREFIX}" in es_demo.demo_url  # never the production indices
    assert "0 failed" in es_demo.log
    store = open_demo_store(es_demo)
    try:
        health = store.health()
        assert health["ok"] and health["spooled"] == 0
        generated = int(es_demo.log.split("generate: ")[1].split()[0])
        assert store.count() == generated > 3000
        assert store.get_meta(DEMO_META_KEY)
        alerts = store.list_alerts(limit=1000)
        wuhan, beijing = surge(alerts, "wuhan"), surge(alerts, "beijing")
        assert date(2020, 1, 1) <= wuhan.start <= date(2020, 1, 31)
        assert date(2020, 6, 1) <= beijing.start <= date(2020, 6, 30)
        assert any(a.city == "wuhan" and a.kind == "negative_spike" for a in alerts)
        assert wuhan.evidence and wuhan.observed > 5 * wuhan.expected
    finally:
        store.close()
    # the printed alert table is the same set of episodes
    for alert in alerts:
        assert f"{alert.city}" in es_demo.output
        assert alert.start.isoformat() in es_demo.output


def test_demo_refuses_indices_that_are_not_a_demo_and_keeps_them(
    es_demo: EsDemo, tmp_path: Path
) -> None:
    production = ElasticsearchStore(f"{es_demo.emulator.url}?compat=plain&prefix=prod",
                                    spool_dir=tmp_path)
    try:
        production.upsert_articles([make_article(title="Real monitored story")])
        run = cli("--store", f"{es_demo.cli_url}&prefix=prod", "demo", "--no-ui",
                  "--scale", str(SCALE), timeout=60)
        assert run.returncode != 0
        assert "refusing to replace them" in run.stderr and "prod-*" in run.stderr
        assert production.count() == 1
    finally:
        production.drop_indices()
        production.close()


def test_a_new_demo_replaces_an_earlier_demo_in_its_indices(
    es_demo: EsDemo, tmp_path: Path
) -> None:
    url = f"{es_demo.emulator.url}?compat=plain&prefix=olddemo&spool={tmp_path}"
    earlier = ElasticsearchStore(url)
    earlier.put_meta(DEMO_META_KEY, '{"seed": 1}')
    earlier.upsert_articles([make_article(title="From the earlier demo")])
    earlier.close()
    fresh = open_fresh_store(url)
    try:
        assert fresh.count() == 0 and fresh.get_meta(DEMO_META_KEY) is None
    finally:
        fresh.drop_indices()
        fresh.close()


def test_demo_says_why_when_elasticsearch_does_not_answer(tmp_path: Path) -> None:
    nobody = Emulator()  # a free port, nothing listening
    with pytest.raises(click.ClickException, match="unreachable"):
        open_fresh_store(f"{nobody.url}?compat=plain&spool={tmp_path}")


def test_demo_month_ranking_is_the_same_as_on_sqlite(es_demo: EsDemo, tmp_path: Path) -> None:
    """The monthly report's ranking (reports.ranking) from the Elasticsearch demo equals the
    one from the same seeded demo in SQLite, for the Wuhan and the Beijing month."""
    from nlp.gazetteer import load_cities
    from reports.ranking import month_figures
    from search.sqlite_store import SQLiteStore

    db = tmp_path / "demo.db"
    run = cli("--db", str(db), "demo", "--no-ui", "--scale", str(SCALE))
    assert run.returncode == 0, run.stderr[-3000:]
    cities = load_cities(CONFIG_DIR)
    es_store, sqlite_store = open_demo_store(es_demo), SQLiteStore(db, readonly=True)
    try:
        for month, leader in ((date(2020, 2, 1), "wuhan"), (date(2020, 6, 1), "beijing")):
            ranked = [month_figures(store, month, cities, with_details=False).cities
                      for store in (es_store, sqlite_store)]
            rows = [[(c.city, c.rank, c.rank_change, c.reports, c.english, c.other, c.unique,
                      c.prev_reports) for c in cities_ranked] for cities_ranked in ranked]
            assert rows[0] == rows[1]
            # mean tone: equal but for the order the backends sum in (rounding it to 6 places
            # can fall on either side of a rounding boundary)
            tones = [[c.tone for c in cities_ranked] for cities_ranked in ranked]
            assert [t is None for t in tones[0]] == [t is None for t in tones[1]]
            assert [t for t in tones[0] if t is not None] == pytest.approx(
                [t for t in tones[1] if t is not None], abs=1e-9)
            assert rows[0][0][0] == leader
    finally:
        es_store.close()
        sqlite_store.close()


@pytest.mark.browser
def test_ui_on_the_demo_indices_shows_the_wuhan_episode_then_the_outage(
    es_demo: EsDemo, browser
) -> None:
    from playwright.sync_api import expect

    store = open_demo_store(es_demo)
    try:
        alerts = store.list_alerts(limit=1000)
        wuhan = surge(alerts, "wuhan")
        from ui.data import evidence_story_ids

        stories = store.get_articles(evidence_story_ids(wuhan.evidence))
    finally:
        store.close()
    assert stories, "the Wuhan episode names no stored stories"

    process, url = launch(es_demo.demo_url, CONFIG_DIR)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.goto(f"{url}/alerts")  # the root is the Overview
        expect(page.get_by_text("Alert inbox")).to_be_visible(timeout=WAIT_MS)
        expect(page.get_by_text(f"{len(alerts)} episode(s)")).to_be_visible(
            timeout=WAIT_MS)
        expect(page.get_by_text("Store ok (elasticsearch)")).to_be_visible(
            timeout=WAIT_MS)
        page.screenshot(path=SCREENSHOTS / "es-alerts.png", full_page=True)

        page.locator(f".{streamlit_key_class(f'open_{wuhan.id}')} button").click()
        expect(page.get_by_role("heading", name="Stories behind it")).to_be_visible(
            timeout=WAIT_MS)
        for article in stories[:3]:
            expect(page.get_by_role("link", name=article.title).first).to_be_visible(
                timeout=WAIT_MS)
        assert parse_qs(urlsplit(page.url).query)["alert"] == [wuhan.id]
        wait_for_charts(page, 4)  # daily series; topic, language, outlet mixes
        page.screenshot(path=SCREENSHOTS / "es-episode.png", full_page=True)

        es_demo.emulator.stop()
        page.wait_for_timeout(HEALTH_CACHE_S * 1000 + 1000)
        page.reload()
        expect(page.get_by_text("Store degraded/unreachable").first).to_be_visible(
            timeout=WAIT_MS)
        page.screenshot(path=SCREENSHOTS / "es-degraded.png", full_page=True)
        assert process.poll() is None, "the UI server died with the store"
    finally:
        stop(process)
