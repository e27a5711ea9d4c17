"""Issue 14 regressions: each test reproduces one break found by trying CityRadar as an attacker
or a careless operator would, through the same command line / loopback paths they used.

Items (numbered as in the issue): 1 dates out of range, 5 fetch deadline, 6 deeply nested
JSON, 7 runaway CSV quote, 8 store-open failures, 9 nan/inf backtest counts and uppercase URL
schemes, 10 webhook signing, 12 real CSV exports (see also test_realdata_imports.py).
UI items (3, 4, 11, login) are in test_ui_security.py; compose (2) in test_compose.py.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from cityradar.cli import cli
from cityradar.records import RawItem
from ingest.fetch import Fetcher
from ingest.normalize import normalize_item
from ingest.pipeline import ingest_once
from ingest.sources import FetchOptions
from search import open_store
from tests.conftest import CONFIG_DIR, REPO_ROOT
from tests.feedserver import FeedServer, feed_server_fixture, rss  # noqa: F401
from tests.test_ingest_pipeline import feed_entry, write_config


def run_cli(*args: str, db: Path | str | None = None, stdin: str | None = None):
    base = ["--config", str(CONFIG_DIR)] + (["--db", str(db)] if db is not None else [])
    return CliRunner().invoke(cli, [*base, *args], input=stdin)


def cli_subprocess(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run([sys.executable, "-m", "cityradar.cli", "--config", str(CONFIG_DIR),
                           *args], capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=REPO_ROOT)


# -- 1. a date of 9999 or 0001 -----------------------------------------------------------------

@pytest.mark.parametrize("published", [datetime(9999, 12, 31, 10, tzinfo=UTC),
                                       datetime(1, 1, 1, tzinfo=UTC)])
def test_implausible_publication_date_becomes_unknown_and_is_flagged(published) -> None:
    fetched = datetime(2026, 11, 30, tzinfo=UTC)
    article = normalize_item(RawItem(url="https://a.example/x", title="t",
                                     published_at=published), fetched)
    assert article is not None
    assert article.published_at is None  # "date unknown", not clamped to the fetch time
    assert article.extras["rejected_published_at"].startswith(str(published.year).zfill(4))
    fine = normalize_item(RawItem(url="https://a.example/y", title="t",
                                  published_at=datetime(2026, 11, 29, tzinfo=UTC)), fetched)
    assert fine is not None and fine.published_at == datetime(2026, 11, 29, tzinfo=UTC)


def test_article_dated_9999_does_not_stall_detect(tmp_path: Path) -> None:
    lines = tmp_path / "two.jsonl"
    lines.write_text(
        json.dumps({"title": "Wuhan market closed", "url": "https://a.example/1",
                    "published_at": "2020-01-21T10:00:00Z"}) + "\n"
        + json.dumps({"title": "Wuhan far future", "url": "https://a.example/2",
                      "published_at": "9999-12-31T10:00:00Z"}) + "\n")
    db = tmp_path / "radar.db"
    imported = cli_subprocess(["--db", str(db), "import", str(lines), "--no-tag"], 120)
    assert imported.returncode == 0, imported.stderr
    assert "2 imported" in imported.stdout
    assert "1 rows with an implausible publication date" in imported.stdout
    started = time.monotonic()
    detected = cli_subprocess(["--db", str(db), "detect"], 60)  # on main: never ends
    assert detected.returncode == 0, detected.stderr
    assert time.monotonic() - started < 60
    store = open_store(str(db))
    try:
        span = store.date_range()
    finally:
        store.close()
    assert span is not None and span[0].year == span[1].year == 2020  # not 2020..9999


def test_feed_item_dated_9999_is_a_warning_on_the_source_health(
        feed_server: FeedServer, tmp_path: Path) -> None:
    url = feed_server.add("/future.xml", rss([
        ("Good story", "https://news.example.org/a", "Mon, 01 Jun 2020 10:00:00 +0000"),
        ("Future story", "https://news.example.org/b", "Fri, 31 Dec 9999 10:00:00 +0000"),
    ]))
    config = write_config(tmp_path / "cfg", [feed_entry("future", url)])
    store = open_store(str(tmp_path / "radar.db"))
    try:
        report = ingest_once(config, store)
        health = store.get_source_health("future")
        stored = {a.title: a for a in _all_articles(store)}
    finally:
        store.close()
    assert report.new == 2
    assert health is not None and health.consecutive_failures == 0
    assert health.last_warning and "implausible publication date" in health.last_warning
    assert stored["Future story"].published_at is None
    assert stored["Good story"].published_at == datetime(2020, 6, 1, 10, tzinfo=UTC)
    sources = CliRunner().invoke(cli, ["--config", str(config), "--db",
                                       str(tmp_path / "radar.db"), "sources"])
    assert sources.exit_code == 0, sources.output
    assert "warning: 1 item(s) with an implausible publication date" in sources.output


# -- 5. an overall deadline per request --------------------------------------------------------

class TrickleServer:
    """Sends a 200 with a long body one byte every ``every_s`` seconds (loopback only)."""

    def __init__(self, every_s: float = 0.25) -> None:
        self.every_s = every_s
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/slow.xml"

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
                         b"Content-Length: 100000\r\n\r\n")
            while not self.stop.is_set():
                conn.sendall(b" ")
                time.sleep(self.every_s)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def test_a_trickling_host_is_abandoned_at_the_deadline() -> None:
    server = TrickleServer(every_s=0.25)
    try:
        options = FetchOptions(timeout_s=2.0, deadline_s=1.5, retries=2, backoff_s=0.05,
                               per_host_delay_s=0)
        with Fetcher(options) as fetcher:
            started = time.monotonic()
            result = fetcher.fetch(server.url)
            elapsed = time.monotonic() - started
            override = fetcher.fetch(server.url, deadline_s=0.6)
    finally:
        server.close()
    assert result.error and "deadline of 1.5s exceeded" in result.error
    assert result.attempts == 1  # the budget is spent: no retry
    assert elapsed < 1.5 + 0.25 + 1.0  # the deadline plus one trickle gap, with slack
    assert override.error and "deadline of 0.6s" in override.error


# -- 6. deeply nested JSON ---------------------------------------------------------------------

def test_deeply_nested_json_line_is_one_bad_line_in_import_and_tag(tmp_path: Path) -> None:
    good = [json.dumps({"title": f"Story {i}", "url": f"https://a.example/{i}"}) for i in
            range(3)]
    bomb = "[" * 100_000 + "]" * 100_000
    path = tmp_path / "nested.jsonl"
    path.write_text("\n".join([good[0], good[1], bomb, good[2]]) + "\n")
    result = run_cli("import", str(path), "--no-tag", db=tmp_path / "radar.db")
    assert result.exit_code == 0, result.output
    assert "4 rows, 3 imported" in result.output
    assert "line 3: invalid JSON: nested deeper than" in result.output
    assert not isinstance(result.exception, RecursionError)

    tagged = run_cli("tag", stdin="\n".join([good[0], bomb, good[1]]) + "\n")
    assert tagged.exit_code == 1  # a skipped line: exit 1, as documented
    assert not isinstance(tagged.exception, RecursionError)
    assert len([line for line in tagged.stdout.splitlines() if line.startswith("{")]) == 2
    assert "line 2: invalid JSON: nested deeper than" in tagged.output


# -- 7. an unterminated quote in a CSV ---------------------------------------------------------

def test_unterminated_quote_costs_one_row_not_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "title,url,date\n"
        "One,https://a.example/1,2020-01-01\n"
        "Two,https://a.example/2,2020-01-02\n"
        '"Three is broken,https://a.example/3,2020-01-03\n'
        "Four,https://a.example/4,2020-01-04\n"
        '"Five, with a comma",https://a.example/5,2020-01-05\n'
        '"Six ""quoted""",https://a.example/6,2020-01-06\n'
        "Seven,https://a.example/7,2020-01-07\n")
    result = run_cli("import", str(path), "--no-tag", db=tmp_path / "radar.db")
    assert result.exit_code == 0, result.output
    assert "7 rows, 6 imported" in result.output
    assert "1 bad" in result.output
    assert "line 4: unterminated quote" in result.output
    store = open_store(str(tmp_path / "radar.db"))
    try:
        titles = {a.title for a in _all_articles(store)}
    finally:
        store.close()
    assert {"One", "Two", "Four", "Five, with a comma", 'Six "quoted"', "Seven"} == titles


def _all_articles(store):
    from search import SearchQuery

    return store.search(SearchQuery(text="", limit=100)).articles


# -- 8. store-open failures --------------------------------------------------------------------

@pytest.mark.parametrize("command", [
    ["import", "{jsonl}", "--no-tag"], ["ingest", "--no-tag"], ["sources"], ["dedupe"],
    ["watch", "--max-cycles", "1", "--interval", "1s", "--no-tag"], ["alerts", "list"],
    ["detect"],
])
def test_a_text_file_as_store_is_a_one_line_error(tmp_path: Path, command: list[str]) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 10)
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(json.dumps({"title": "t", "url": "https://a.example/1"}) + "\n")
    args = [a.replace("{jsonl}", str(jsonl)) for a in command]
    result = run_cli(*args, db=text)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a ClickException, not a traceback
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: cannot open store") and "not a database" in last


def test_mistyped_store_directory_or_file_is_an_error_not_an_empty_store(tmp_path: Path
                                                                         ) -> None:
    missing_dir = tmp_path / "typo" / "radar.db"
    listed = run_cli("alerts", "list", db=missing_dir)
    assert listed.exit_code == 1 and "directory" in listed.output and "does not exist" in \
        listed.output
    assert not missing_dir.parent.exists()
    missing_file = tmp_path / "radr.db"
    listed = run_cli("alerts", "list", db=missing_file)
    assert listed.exit_code == 1 and "no store at" in listed.output
    assert "no alerts" not in listed.output
    assert not missing_file.exists()


def test_watch_exits_non_zero_when_every_cycle_failed(tmp_path: Path) -> None:
    config = write_config(tmp_path / "cfg", [
        feed_entry("dead", "http://127.0.0.1:9/feed.xml")], fetch={"retries": 0})
    result = CliRunner().invoke(cli, ["--config", str(config), "--db",
                                      str(tmp_path / "radar.db"), "watch", "--max-cycles", "2",
                                      "--interval", "0.1s", "--no-tag"])
    assert result.exit_code == 1, result.output
    assert "error: cycle 1: all 1 sources failed" in result.output
    assert "every cycle failed (2 of 2)" in result.output


def test_store_credentials_never_appear_in_errors(tmp_path: Path) -> None:
    result = run_cli("--store", "https://analyst:s3cr3t-pw@127.0.0.1:9/", "alerts", "list")
    assert result.exit_code == 1
    assert "s3cr3t-pw" not in result.output


# -- 9. nan / inf counts; uppercase URL schemes ------------------------------------------------

@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "1e400"])
def test_backtest_rejects_non_finite_counts_in_one_line(tmp_path: Path, bad: str) -> None:
    series = tmp_path / "series.csv"
    series.write_text("date,city,count\n2020-01-01,wuhan,3\n"
                      f"2020-01-02,wuhan,{bad}\n")
    result = run_cli("backtest", str(series))
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "not a whole number" in result.output or "not a number" in result.output


def test_uppercase_scheme_keeps_the_articles_real_url(tmp_path: Path) -> None:
    path = tmp_path / "upper.jsonl"
    path.write_text(json.dumps({"title": "Shouting URL", "url": "HTTPS://News.Example.org/A"})
                    + "\n")
    result = run_cli("import", str(path), "--no-tag", db=tmp_path / "radar.db")
    assert result.exit_code == 0, result.output
    store = open_store(str(tmp_path / "radar.db"))
    try:
        [article] = _all_articles(store)
    finally:
        store.close()
    assert article.url == "https://news.example.org/A"


# -- 10. webhooks ------------------------------------------------------------------------------

class Receiver:
    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_webhook_signature_binds_a_timestamp_and_weak_setups_are_warned(
        monkeypatch, caplog) -> None:
    from alerts.notifiers import (
        SIGNATURE_HEADER,
        TIMESTAMPED_SIGNATURE_HEADER,
        WebhookConfig,
        WebhookNotifier,
        verify_timestamped,
        webhook_warnings,
    )

    receiver = Receiver()
    try:
        monkeypatch.delenv("CITYRADAR_WEBHOOK_SECRET", raising=False)
        config = WebhookConfig(url=receiver.url, retries=0)
        with caplog.at_level("WARNING"):
            WebhookNotifier(config).send({"event": "opened"})
        assert "sent UNSIGNED" in caplog.text
        assert not any(SIGNATURE_HEADER.lower() in h for h, _ in receiver.requests)

        monkeypatch.setenv("CITYRADAR_WEBHOOK_SECRET", "k3y")
        WebhookNotifier(config).send({"event": "opened"})
    finally:
        receiver.close()
    headers, body = receiver.requests[-1]
    signature = headers[TIMESTAMPED_SIGNATURE_HEADER.lower()]
    assert verify_timestamped(body, signature, "k3y")
    assert not verify_timestamped(body, signature, "wrong")
    assert not verify_timestamped(body + b" ", signature, "k3y")
    # a captured request replayed ten minutes later is refused
    assert not verify_timestamped(body, signature, "k3y", now=time.time() + 600)
    plain = WebhookConfig(url="http://hooks.example.org/x", secret_env="CITYRADAR_WEBHOOK_SECRET")
    assert any("plain http://" in w for w in webhook_warnings(plain))
    assert not any("plain http://" in w for w in webhook_warnings(config))  # loopback


def test_feed_item_dated_year_zero_is_date_unknown_not_a_crash() -> None:
    """Found by the fuzz run: feedparser reads "0001-01-01T00:00:00+05:00" as year 0, which
    the standard library cannot turn into a timestamp; the item is kept, date unknown."""
    from ingest.feeds import parse_feed
    from tests.test_fuzz import SOURCE

    feed = rss([("Dated year zero", "http://127.0.0.1/a", "0001-01-01T00:00:00+05:00"),
                ("Dated fine", "http://127.0.0.1/b", "Mon, 20 Jan 2020 10:00:00 GMT")])
    parsed = parse_feed(feed, SOURCE, "application/rss+xml")
    assert [item.title for item in parsed.items] == ["Dated year zero", "Dated fine"]
    assert parsed.items[0].published_at is None
    assert parsed.items[1].published_at == datetime(2020, 1, 20, 10, tzinfo=UTC)
