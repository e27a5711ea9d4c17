"""Issue 14, UI: hostile stored text shows as text, the sign-in gate, credentials never shown,
every page (also opened by its URL) runs inside the app shell.

A real Streamlit server (login on) and real headless Chromium; every UI field of the store
holds payloads that would load a resource from a loopback listener if any of it rendered as
markdown or HTML (markdown image, HTML img, links, autolinks, the trailing-backslash escape
trick): the listener must receive no request, and the payloads must be visible as text.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cityradar.records import AlertUpdate, SourceHealth
from tests.conftest import CONFIG_DIR, SCREENSHOTS, WAIT_MS
from tests.ui_fixtures import WUHAN_ALERT_ID, fixture_alerts, fixture_articles
from ui.data import city_label
from ui.launch import launch, stop

USER, PASSWORD = "analyst", "correct horse battery"


class Listener:
    """Records every request a browser makes to it (it must get none)."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def do_GET(self) -> None:
                outer.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/gif")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def payload(base: str, field: str, tag: str = "PAYLOAD") -> str:
    return (f"{tag}-{field} ![b]({base}/img-{field}) <img src=\"{base}/html-{field}\"> "
            f"[click]({base}/link-{field}) {base}/auto-{field} _em-{field}_ "
            f"$x^2$ :red[red-{field}] trail\\")


def hostile_store(directory: Path, base: str) -> str:
    from search import open_store

    articles, stories = fixture_articles()
    first = stories[0]
    hostile = replace(first, title=payload(base, "title"), summary=payload(base, "summary"),
                      outlet=payload(base, "outlet"),
                      url="https://news.example/evil path)(x",
                      published_at=datetime(2020, 2, 5, 9, tzinfo=UTC),
                      extras={"translation": {  # a stored machine translation (issue 15)
                          "title": payload(base, "translation"), "model": "models/opus-mt",
                          "target": "en", "source_language": "ru",
                          "summary": payload(base, "tsummary")}})
    # the newest Wuhan article and a search hit carry the payloads too
    articles = [hostile if a.id == first.id else a for a in articles]
    # the Planner's city, market (outlet country) and topic come from the store: an imported,
    # already-tagged line can name any city or topic id; dated last, inside the default period
    last = max(a.published_at for a in articles if a.published_at)
    assert first.tags is not None
    city = payload(base, "city", "HOSTILE")
    planner = replace(first, id="hostile-planner", url="https://news.example/planner",
                      title=payload(base, "ptitle", "HOSTILE"), summary="",
                      outlet=payload(base, "poutlet", "HOSTILE"),
                      country=payload(base, "country", "HOSTILE"), published_at=last, extras={},
                      tags=replace(first.tags, mentions=[], cities={city: 1.0},
                                   city_sentiment={city: -0.5},
                                   topics={payload(base, "topic", "HOSTILE"): 0.9}))
    articles.append(planner)
    url = f"sqlite:///{directory / 'hostile.db'}"
    store = open_store(url)
    try:
        store.upsert_articles(articles)
        for alert in fixture_alerts([hostile if s.id == first.id else s for s in stories]):
            if alert.id == WUHAN_ALERT_ID:
                alert.evidence["terms"] = [{"term": payload(base, "term"), "score": 9.0},
                                           {"term": "lockdown", "score": 8.0}]
                alert.notes.append(payload(base, "note"))
                alert.history.append(AlertUpdate(
                    at=datetime(2020, 1, 23, tzinfo=UTC), what="note",
                    note=payload(base, "history"), by=payload(base, "by")))
            store.upsert_alert(alert)
        store.put_source_health(SourceHealth(
            source_id=payload(base, "source"), last_attempt=datetime(2020, 2, 1, tzinfo=UTC),
            last_error=payload(base, "error"), consecutive_failures=2,
            last_warning=payload(base, "warning")))
    finally:
        store.close()
    return url


@pytest.fixture(scope="module")
def hostile_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Listener, str]]:
    from ui.auth import save_user

    directory = tmp_path_factory.mktemp("ui_security")
    listener = Listener()
    users = directory / "users.yaml"
    save_user(users, USER, PASSWORD)
    store_url = hostile_store(directory, listener.base)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CITYRADAR_AUTH_FILE", str(users))
        patch.setenv("CITYRADAR_REQUIRE_LOGIN", "1")
        process, url = launch(store_url, CONFIG_DIR)
    try:
        yield url, listener, store_url
    finally:
        stop(process)
        listener.close()


def sign_in(page, password: str = PASSWORD) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_text("CityRadar — sign in")).to_be_visible(timeout=WAIT_MS)
    page.get_by_label("User").fill(USER)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def assert_inert(page, base: str, ui_url: str) -> None:
    """Nothing on the page can load from or link to the listener's host (only the UI's own
    navigation links point at 127.0.0.1); no payload formatted as emphasis or LaTeX."""
    assert page.locator("img[src*='127.0.0.1']").count() == 0
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    assert [h for h in hrefs if "127.0.0.1" in h and not h.startswith(ui_url)] == []
    assert page.locator("em", has_text="em-").count() == 0
    assert page.locator(".katex").count() == 0


def shown(page) -> str:
    """The page's visible text without the invisible word joiners ui.safe adds to URLs."""
    text = page.inner_text("body").replace("\u2060", "")
    return text


@pytest.mark.browser
def test_hostile_stored_text_is_shown_as_text_and_loads_nothing(hostile_ui, browser) -> None:
    from playwright.sync_api import expect

    url, listener, store_url = hostile_ui
    base = listener.base
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    # the direct URL of a page gets the sign-in first: the shell runs (item 11) ...
    page.goto(f"{url}/city")
    sign_in(page, "wrong password")
    expect(page.get_by_text("Unknown user or wrong password.")).to_be_visible(timeout=WAIT_MS)
    assert page.get_by_text("Latest headlines").count() == 0
    sign_in(page)
    # ... and after it, the page with the shell's store banner and date filter
    expect(page.get_by_text("Latest headlines")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("Store ok")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("group", name="Date range start date")).to_be_visible(
        timeout=WAIT_MS)
    expect(page.get_by_text(f"Signed in as {USER}")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("PAYLOAD-title").first).to_be_visible(timeout=WAIT_MS)
    assert payload(base, "title") in shown(page)  # every character, as text
    assert payload(base, "translation") in shown(page)  # the stored machine translation
    link = page.get_by_role("link", name="PAYLOAD-title", exact=False)
    assert link.first.get_attribute("href") == "https://news.example/evil%20path%29%28x"
    assert_inert(page, base, url)
    page.screenshot(path=SCREENSHOTS / "security_city.png", full_page=True)

    page.get_by_role("link", name="Alerts").click()
    open_wuhan = page.locator(f".st-key-open_{WUHAN_ALERT_ID} button")
    expect(open_wuhan).to_be_visible(timeout=WAIT_MS)
    open_wuhan.click()
    expect(page.get_by_role("heading", name="Stories behind it")).to_be_visible(
        timeout=WAIT_MS)
    page.get_by_text("History (").click()
    for field in ("title", "outlet", "term", "history", "by"):
        expect(page.get_by_text(f"PAYLOAD-{field}").first).to_be_attached(timeout=WAIT_MS)
    text = shown(page)
    for field in ("title", "outlet", "history", "by", "translation"):
        assert payload(base, field) in text, field
    assert_inert(page, base, url)
    # triage through the UI: the same rules as the CLI, recorded as the signed-in user
    page.get_by_label("Note").fill(payload(base, "triage"))
    page.get_by_role("button", name="Save triage").click()
    expect(page.get_by_text("Alert marked acknowledged.")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text(f"({USER})").first).to_be_attached(timeout=WAIT_MS)
    assert_inert(page, base, url)
    page.screenshot(path=SCREENSHOTS / "security_episode.png", full_page=True)

    page.get_by_role("link", name="Search").click()
    box = page.get_by_label("Search text")
    box.fill("PAYLOAD")
    box.press("Enter")
    expect(page.get_by_text("1 result(s)")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("PAYLOAD-summary").first).to_be_visible(timeout=WAIT_MS)
    text = shown(page)
    for field in ("summary", "translation", "tsummary"):  # the summary's translation too
        assert payload(base, field) in text, field
    assert_inert(page, base, url)

    page.get_by_role("link", name="Sources").click()
    expect(page.get_by_text("1 source(s) failing", exact=False)).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("PAYLOAD-source", exact=False).first).to_be_visible(
        timeout=WAIT_MS)
    assert_inert(page, base, url)
    page.screenshot(path=SCREENSHOTS / "security_sources.png", full_page=True)

    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_text("City ranking,", exact=False)).to_be_visible(timeout=WAIT_MS)
    assert_inert(page, base, url)

    # Planner: the hostile city (an id only the store knows), its market and topic
    page.get_by_role("link", name="Planner").click()
    city_box = page.locator(".st-key-planner_city input")
    expect(city_box).to_be_visible(timeout=WAIT_MS)
    city_box.click()
    city_box.fill("hostile-city")
    city_box.press("Enter")
    city = payload(base, "city", "HOSTILE")
    label = " ".join(city_label(city, {}).split())  # its "_" shown as spaces, then folded
    # the caption of the hostile city's matrix (not the default city's, still on screen while
    # the page reruns)
    page.wait_for_function(
        "t => document.body.innerText.replaceAll('\\u2060', '').includes(t)",
        arg=f"{label}, foreign media,", timeout=WAIT_MS)
    # the download button comes after the caption; the default city's button and its
    # "no own-voice story" line stay on screen until this run replaces them
    page.wait_for_function(
        "t => document.body.innerText.replaceAll('\\u2060', '').includes(t)",
        arg=f"Download {city} topics by market (CSV)", timeout=WAIT_MS)
    expect(page.get_by_text("No own-voice story of this city")).to_be_visible(timeout=WAIT_MS)
    text = shown(page)
    assert f"{label}, foreign media," in text  # the caption, as text
    assert f"Download {city} topics by market (CSV)" in text  # a button label, as text
    assert_inert(page, base, url)
    page.screenshot(path=SCREENSHOTS / "security_planner.png", full_page=True)
    page.close()

    assert listener.paths == []  # no beacon, no image, no prefetch ever reached it

    from search import open_store

    store = open_store(store_url)
    try:
        alert = store.get_alert(WUHAN_ALERT_ID)
    finally:
        store.close()
    assert alert is not None and alert.status == "acknowledged"
    assert alert.history[-1].by == USER and alert.history[-1].what == "status: acknowledged"


@pytest.mark.browser
def test_search_page_opened_by_url_keeps_the_shell(hostile_ui, browser) -> None:
    from playwright.sync_api import expect

    url, listener, _ = hostile_ui
    page = browser.new_page()
    page.goto(f"{url}/search")
    sign_in(page)
    expect(page.get_by_label("Search text")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("Store ok")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("group", name="Date range start date")).to_be_visible(
        timeout=WAIT_MS)
    page.close()
    assert listener.paths == []


def test_store_credentials_are_never_shown(monkeypatch) -> None:
    """A store URL with a password (item 3): masked in the sidebar and the degraded banner."""
    from streamlit.testing.v1 import AppTest

    from tests.conftest import REPO_ROOT

    monkeypatch.setenv("CITYRADAR_STORE", "https://analyst:s3cr3t-pw@127.0.0.1:9/?prefix=t")
    monkeypatch.setenv("CITYRADAR_ES_SPOOL_DIR", "/tmp/cityradar-test-spool")
    monkeypatch.delenv("CITYRADAR_AUTH_FILE", raising=False)
    monkeypatch.delenv("CITYRADAR_REQUIRE_LOGIN", raising=False)
    app = AppTest.from_file(str(REPO_ROOT / "ui" / "app.py"), default_timeout=60).run()
    shown = " ".join([w.value for w in app.warning] + [m.value for m in app.markdown]
                     + [c.value for c in app.caption] + [e.value for e in app.error])
    assert "degraded" in shown
    assert "s3cr3t-pw" not in shown
    plain = shown.replace("\u2060", "").replace("\\", "")
    assert "analyst:***@127.0.0.1" in plain


def test_safe_helpers_neutralise_markdown_and_bad_urls() -> None:
    from ui import safe

    assert safe.http_url("javascript:alert(1)") is None
    assert safe.http_url("HTTPS://a.example/x y)") == "https://a.example/x%20y%29"
    assert safe.http_url("https://user:pw@a.example/") == "https://a.example/"
    assert safe.link("t", "data:text/html,x") == "t"
    assert safe.md("a]\\") == "a\\]\\\\"  # the trailing-backslash trick cannot escape
    assert safe.md("see http://x.example") == "see http\u2060\\:\\/\\/x\\.example"
    assert safe.md("# h") == "\\# h" and safe.md("x # y") == "x # y"
    assert "\n" not in safe.md("line\n\n- item")


def test_no_streamlit_pages_folder_beside_the_app() -> None:
    """A ``ui/pages/`` folder makes Streamlit serve ``/<page>`` without the app shell (no
    sign-in, no store banner, no date filter: item 11). Page scripts live in ``ui/views/``."""
    from tests.conftest import REPO_ROOT

    assert not (REPO_ROOT / "ui" / "pages").exists(), \
        "move ui/pages/*.py to ui/views/ and point st.Page at views/…"
    listed = (REPO_ROOT / "ui" / "app.py").read_text()
    assert "st.Page(\"pages/" not in listed
