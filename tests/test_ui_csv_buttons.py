"""Every UI page offers its tables as CSV (AppTest against a real SQLite store)."""

from __future__ import annotations

import pytest

from tests.test_ui_apptest import point_app_at, run_app, ui_store  # noqa: F401
from tests.ui_fixtures import UiFixture

EXPECTED = {
    "views/alerts.py": {"Download alerts (CSV)"},  # the alerts inbox
    "views/overview.py": {"Ranking (CSV)"},  # the landing page
    "views/planner.py": {"Download chengdu topics by market (CSV)",
                         "Download chengdu opportunity changes (CSV)",
                         "Download chengdu risk changes (CSV)"},
    "views/city.py": {"Download coverage (CSV)", "Download weekly tone (CSV)",
                      "Download topic mix (CSV)", "Download outlets (CSV)",
                      "Download headlines (CSV)"},
    "views/search.py": {"Download results (CSV, {n} results)"},
}


def labels(app) -> set[str]:
    return {element.proto.label for element in app.get("download_button")}


@pytest.mark.parametrize("page", list(EXPECTED))
def test_each_page_has_its_csv_downloads(ui_store: UiFixture, point_app_at,  # noqa: F811
                                         page: str | None) -> None:
    app = run_app(ui_store.store_url, point_app_at, page)
    expected = {label.format(n=len(ui_store.articles)) for label in EXPECTED[page]}
    assert expected <= labels(app)


def test_episode_offers_its_daily_counts_and_stories(ui_store: UiFixture,  # noqa: F811
                                                     point_app_at) -> None:  # noqa: F811
    app = run_app(ui_store.store_url, point_app_at, "views/alerts.py")
    app.query_params["alert"] = ui_store.wuhan_alert_id
    app.run()
    assert {"Download daily counts (CSV)", "Download stories (CSV)"} <= labels(app)


def test_sources_page_offers_source_health(ui_store: UiFixture, point_app_at) -> None:  # noqa: F811
    from cityradar.records import SourceHealth
    from search import open_store

    with open_store(ui_store.store_url) as store:
        store.put_source_health(SourceHealth("bbc-world", items_seen=20, items_new=3))
    app = run_app(ui_store.store_url, point_app_at, "views/sources.py")
    assert "Download source health (CSV)" in labels(app)
