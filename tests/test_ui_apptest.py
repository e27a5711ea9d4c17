"""The Streamlit pages' logic, run in-process with AppTest against a real SQLite store."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("search.sqlite_store", reason="the SQLite store backend is not built yet")

from streamlit.testing.v1 import AppTest

from search import open_store
from tests.conftest import CONFIG_DIR, REPO_ROOT
from tests.ui_fixtures import UiFixture, build_ui_store

APP = REPO_ROOT / "ui" / "app.py"
TIMEOUT = 60


@pytest.fixture(scope="module")
def ui_store(tmp_path_factory: pytest.TempPathFactory) -> UiFixture:
    return build_ui_store(tmp_path_factory.mktemp("ui_store"))


@pytest.fixture
def point_app_at() -> Iterator:
    """Point the app at a store URL via the environment, restoring it afterwards."""
    saved = {key: os.environ.get(key) for key in ("CITYRADAR_STORE", "CITYRADAR_CONFIG")}

    def point(url: str) -> None:
        os.environ["CITYRADAR_STORE"] = url
        os.environ["CITYRADAR_CONFIG"] = str(CONFIG_DIR)

    yield point
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


ALERTS = "views/alerts.py"  # the alert inbox; the app's default (root) page is the Overview


def run_app(url: str, point_app_at, page: str | None = None) -> AppTest:
    point_app_at(url)
    app = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    if page:
        app.switch_page(page).run()
    assert_clean(app)
    return app


def assert_clean(app: AppTest) -> None:
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]


def texts(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [t.value for t in app.title]
    parts += [h.value for h in app.header] + [s.value for s in app.subheader]
    parts += [c.value for c in app.caption]
    return "\n".join(str(p) for p in parts)


def open_buttons(app: AppTest) -> list[str]:
    return [b.key.removeprefix("open_") for b in app.button if b.key and b.key.startswith("open_")]


def test_inbox_lists_episodes_newest_first(ui_store: UiFixture, point_app_at) -> None:
    app = run_app(ui_store.store_url, point_app_at, ALERTS)
    assert open_buttons(app) == [ui_store.beijing_alert_id, ui_store.wuhan_alert_id]
    shown = texts(app)
    assert "2 episode(s), 1 new" in shown
    assert "2020-01-20 → 2020-01-31" in shown
    assert "7 vs 1.5 (×4.7)" in shown


def test_inbox_filters_by_city_kind_and_status(ui_store: UiFixture, point_app_at) -> None:
    app = run_app(ui_store.store_url, point_app_at, ALERTS)
    app.multiselect(key="alert_cities").select("wuhan").run()
    assert open_buttons(app) == [ui_store.wuhan_alert_id]

    app.multiselect(key="alert_cities").unselect("wuhan").run()
    app.multiselect(key="alert_kinds").select("negative_spike").run()
    assert open_buttons(app) == [ui_store.beijing_alert_id]

    app.multiselect(key="alert_kinds").unselect("negative_spike").run()
    app.multiselect(key="alert_statuses").select("acknowledged").run()
    assert open_buttons(app) == []
    assert "No alert episodes match these filters." in [i.value for i in app.info]


def test_opening_an_episode_shows_its_stories_and_evidence(
    ui_store: UiFixture, point_app_at
) -> None:
    app = run_app(ui_store.store_url, point_app_at, ALERTS)
    app.button(key=f"open_{ui_store.wuhan_alert_id}").click().run()
    assert_clean(app)
    assert app.query_params.get("alert") == ui_store.wuhan_alert_id
    shown = texts(app)
    for title in ui_store.story_titles:
        assert title in shown
    assert "Le Monde · fr · 2020-01-24 · tone negative (-0.60)" in shown
    assert "`lockdown`" in shown
    assert {m.label: m.value for m in app.metric}["Observed"] == "7"
    # the daily series plus topic, language and outlet mixes
    assert len(app.get("vega_lite_chart")) == 4


def test_episode_without_story_ids_falls_back_to_stored_stories(
    ui_store: UiFixture, point_app_at
) -> None:
    point_app_at(ui_store.store_url)
    app = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    app.query_params["alert"] = ui_store.beijing_alert_id
    app.run().switch_page(ALERTS).run()  # the root is the Overview; the inbox is /alerts
    assert_clean(app)
    shown = texts(app)
    assert "Beijing Xinfadi market cluster report 5" in shown  # inside the 06-12..06-17 window
    assert "Beijing Xinfadi market cluster report 1](" not in shown  # 06-08: before the window
    assert "`xinfadi`" in shown


def test_triage_acknowledge_with_note_is_written_to_the_store(
    tmp_path: Path, point_app_at
) -> None:
    fixture = build_ui_store(tmp_path)
    point_app_at(fixture.store_url)
    app = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    app.query_params["alert"] = fixture.wuhan_alert_id
    app.run().switch_page(ALERTS).run()
    key = fixture.wuhan_alert_id
    app.selectbox(key=f"triage_status_{key}").select("acknowledged")
    app.text_area(key=f"triage_note_{key}").input("Health commission informed.")
    app.button(key=f"triage_save_{key}").click().run()
    assert_clean(app)
    assert "Alert marked acknowledged." in [s.value for s in app.success]

    store = open_store(fixture.store_url)
    try:
        alert = store.get_alert(fixture.wuhan_alert_id)
    finally:
        store.close()
    assert alert is not None and alert.status == "acknowledged"
    assert alert.notes == ["Health commission informed."]
    assert [(h.what, h.note) for h in alert.history] == [
        ("opened", ""), ("status: acknowledged", "Health commission informed.")]
    assert {m.label: m.value for m in app.metric}["Status"] == "acknowledged"


def test_triage_offers_only_the_moves_the_cli_allows_and_records_who(
    tmp_path: Path, point_app_at, monkeypatch
) -> None:
    """A new alert offers acknowledge (or a note), never resolve; once acknowledged, resolve,
    never back to new; each change is recorded as the UI user (login off: CITYRADAR_USER)."""
    monkeypatch.setenv("CITYRADAR_USER", "ana")
    fixture = build_ui_store(tmp_path)
    point_app_at(fixture.store_url)
    app = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    app.query_params["alert"] = fixture.wuhan_alert_id
    app.run().switch_page(ALERTS).run()
    assert_clean(app)
    key = fixture.wuhan_alert_id
    status = app.selectbox(key=f"triage_status_{key}")
    assert status.options == ["acknowledged", "new"]  # new -> resolved is refused by the CLI
    status.select("acknowledged")
    app.button(key=f"triage_save_{key}").click().run()
    assert_clean(app)
    status = app.selectbox(key=f"triage_status_{key}")
    assert status.options == ["resolved", "acknowledged"]  # anything -> new is refused too
    status.select("resolved")
    app.button(key=f"triage_save_{key}").click().run()
    assert_clean(app)
    assert app.selectbox(key=f"triage_status_{key}").options == ["acknowledged", "resolved"]

    store = open_store(fixture.store_url)
    try:
        alert = store.get_alert(key)
    finally:
        store.close()
    assert alert is not None and alert.status == "resolved"
    assert [(h.what, h.by) for h in alert.history[1:]] == [
        ("status: acknowledged", "ana"), ("status: resolved", "ana")]


def test_city_page_shows_volume_by_language_and_headlines(
    ui_store: UiFixture, point_app_at
) -> None:
    app = run_app(ui_store.store_url, point_app_at, "views/city.py")
    app.selectbox(key="city_pick").select("wuhan").run()
    assert_clean(app)
    wuhan = [a for a in ui_store.articles if "wuhan" in a.tags.cities]
    english = sum(a.tags.language == "en" for a in wuhan)
    metrics = {m.label: m.value for m in app.metric}
    assert metrics == {"Articles": f"{len(wuhan):,}", "English": f"{english:,}",
                       "Other languages": f"{len(wuhan) - english:,}"}
    assert "Wuhan outbreak update 31 Jan #4: cases and quarantine" in texts(app)
    # volume by language, mean tone, share negative, topic mix, top outlets
    assert len(app.get("vega_lite_chart")) == 5


def test_city_page_voice_toggle_separates_own_channels(
    ui_store: UiFixture, point_app_at
) -> None:
    app = run_app(ui_store.store_url, point_app_at, "views/city.py")
    app.selectbox(key="city_pick").select("chengdu").run()
    assert {m.label: m.value for m in app.metric}["Articles"] == "6"
    assert "giant panda" not in texts(app)
    app.radio(key="city_voice").set_value("Own voice").run()
    assert {m.label: m.value for m in app.metric}["Articles"] == "6"
    assert "Chengdu giant panda base welcomes cubs 5" in texts(app)
    assert "hotpot" not in texts(app)


def test_search_finds_full_text_matches_with_filters(ui_store: UiFixture, point_app_at) -> None:
    app = run_app(ui_store.store_url, point_app_at, "views/search.py")
    app.text_input(key="search_text").input("lockdown").run()
    expected = [a for a in ui_store.articles
                if "lockdown" in f"{a.title} {a.summary}".lower()]
    assert f"**{len(expected)} result(s)** · page 1 of {-(-len(expected) // 20)}" in texts(app)

    app.multiselect(key="search_languages").select("fr").run()
    french = [a for a in expected if a.tags.language == "fr"]
    shown = texts(app)
    assert f"**{len(french)} result(s)** · page 1 of 1" in shown
    assert "Coronavirus : Wuhan, ville fantôme en quarantaine" in shown
    assert "Wuhan hospitals overwhelmed" not in shown


def test_search_pages_through_results(ui_store: UiFixture, point_app_at) -> None:
    app = run_app(ui_store.store_url, point_app_at, "views/search.py")
    app.text_input(key="search_text").input("outbreak update").run()
    assert "**50 result(s)** · page 1 of 3" in texts(app)  # 12 surge days x 4, +2 on the peak
    first_page = texts(app)
    app.number_input(key="search_page").set_value(3).run()
    last_page = texts(app)
    assert "page 3 of 3" in last_page
    # newest first: the last page holds the surge's first days
    assert "Wuhan outbreak update 20 Jan #1" in last_page
    assert "Wuhan outbreak update 20 Jan #1" not in first_page


def test_unreadable_store_shows_a_degraded_warning(tmp_path: Path, point_app_at) -> None:
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not an SQLite database, just junk bytes" * 100)
    app = run_app(f"sqlite:///{broken}", point_app_at, ALERTS)
    warnings = [w.value for w in app.warning]
    assert any("Store degraded/unreachable" in w for w in warnings), warnings
    assert open_buttons(app) == []


def test_unreachable_elasticsearch_shows_a_degraded_warning(point_app_at) -> None:
    app = run_app("http://127.0.0.1:9", point_app_at)  # port 9 (discard): nothing listens
    assert any("Store degraded/unreachable" in w.value for w in app.warning)
