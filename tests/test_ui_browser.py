"""The real Streamlit server (ui.launch) driven by real headless Debian Chromium."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import CONFIG_DIR, REPO_ROOT, SCREENSHOTS, WAIT_MS, wait_for_charts
from tests.ui_fixtures import UiFixture, build_ui_store
from ui.launch import HOST, LaunchError, launch, stop


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[UiFixture, str]]:
    fixture = build_ui_store(tmp_path_factory.mktemp("ui_browser"))
    process, url = launch(fixture.store_url, CONFIG_DIR)
    try:
        yield fixture, url
    finally:
        stop(process)


@pytest.mark.browser
def test_analyst_opens_the_wuhan_episode_and_sees_its_stories(
    server: tuple[UiFixture, str], browser
) -> None:
    from playwright.sync_api import expect

    fixture, url = server
    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    page.goto(f"{url}/alerts")  # the root is the Overview
    expect(page.get_by_text("Alert inbox")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("2 episode(s), 1 new")).to_be_visible(timeout=WAIT_MS)
    open_wuhan = page.locator(f".st-key-open_{fixture.wuhan_alert_id} button")
    expect(open_wuhan).to_be_visible(timeout=WAIT_MS)  # the last row is drawn
    page.screenshot(path=SCREENSHOTS / "alerts.png", full_page=True)

    open_wuhan.click()
    expect(page.get_by_role("heading", name="Stories behind it")).to_be_visible(
        timeout=WAIT_MS)
    for title in fixture.story_titles:
        link = page.get_by_role("link", name=title)
        expect(link).to_be_visible(timeout=WAIT_MS)
    first_link = page.get_by_role("link", name=fixture.story_titles[0])
    assert first_link.get_attribute("href", timeout=WAIT_MS).startswith(
        "https://news.example/")
    assert f"alert={fixture.wuhan_alert_id}" in page.url
    wait_for_charts(page, 4)  # daily series; topic, language, outlet mixes
    page.screenshot(path=SCREENSHOTS / "episode.png", full_page=True)

    page.get_by_role("link", name="City").click()
    expect(page.get_by_text("Latest headlines")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("Coverage per month by language")).to_be_visible(
        timeout=WAIT_MS)
    wait_for_charts(page, 5)
    page.screenshot(path=SCREENSHOTS / "city.png", full_page=True)

    page.get_by_role("link", name="Search").click()
    box = page.get_by_label("Search text")
    box.fill("lockdown")
    box.press("Enter")
    expected = sum("lockdown" in f"{a.title} {a.summary}".lower()
                   for a in fixture.articles)
    expect(page.get_by_text(f"{expected} result(s)")).to_be_visible(timeout=WAIT_MS)
    page.screenshot(path=SCREENSHOTS / "search.png", full_page=True)


def test_launch_reports_why_the_server_did_not_start(tmp_path: Path) -> None:
    fixture_url = f"sqlite:///{tmp_path / 'empty.db'}"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(LaunchError) as failure:
            launch(fixture_url, CONFIG_DIR, port=port, timeout=30)
    assert f"Port {port} is not available" in failure.value.stderr
    assert "exited with code" in failure.value.one_line


def test_cli_ui_refuses_a_missing_config_dir(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cityradar.cli", "--config", str(tmp_path / "nope"), "ui"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "config directory not found" in result.stderr
