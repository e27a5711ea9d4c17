"""Ingest cycles end to end: loopback HTTP server -> real feedparser -> real SQLite store."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from cityradar.records import FetchState
from ingest.pipeline import ingest_once
from search import open_store
from tests.conftest import CONFIG_DIR, REPO_ROOT
from tests.feedserver import FeedServer, feed_server_fixture, rss  # noqa: F401

FAST_FETCH = {
    "per_host_delay_s": 0,
    "per_host_concurrency": 8,
    "retries": 1,
    "backoff_s": 0.05,
    "timeout_s": 2,
    "max_bytes": 200_000,
    "concurrency": 8,
}


def write_config(directory: Path, feeds: list[dict], fetch: dict | None = None) -> Path:
    """A config dir: the repo's shipped files plus a sources.yaml pointing at loopback feeds."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in CONFIG_DIR.glob("*.yaml"):
        if path.name != "sources.yaml":
            shutil.copy(path, directory / path.name)
    document = {"fetch": {**FAST_FETCH, **(fetch or {})}, "feeds": feeds}
    (directory / "sources.yaml").write_text(yaml.safe_dump(document, allow_unicode=True))
    return directory


def feed_entry(source_id: str, url: str, **extra: object) -> dict:
    return {"id": source_id, "url": url, "outlet": source_id.title(), "domain": "example.org",
            "country": "GB", "language": "en", **extra}


def items(prefix: str, count: int) -> list[tuple[str, str, str]]:
    return [
        (f"{prefix} story {i}", f"https://news.example.org/{prefix}/{i}?utm_source=rss",
         f"Mon, 0{1 + i % 9} Jun 2020 10:00:00 +0200")
        for i in range(count)
    ]


@pytest.fixture
def store(tmp_path: Path):
    db = open_store(str(tmp_path / "radar.db"))
    yield db
    db.close()


def test_rerun_on_unchanged_feeds_adds_nothing_and_sends_conditional_requests(
    feed_server: FeedServer, store, tmp_path: Path
) -> None:
    etag_url = feed_server.add("/etag.xml", rss(items("a", 5)))
    lm_url = feed_server.add("/lm.xml", rss(items("b", 3)), etag="", validators=True)
    feed_server.routes["/lm.xml"].etag = None
    config = write_config(tmp_path / "cfg", [feed_entry("etag", etag_url),
                                             feed_entry("lm", lm_url)])

    first = ingest_once(config, store)
    assert [(s.source_id, s.seen, s.new) for s in first.sources] == [("etag", 5, 5), ("lm", 3, 3)]
    assert store.count() == 8

    second = ingest_once(config, store)
    assert second.new == 0 and all(s.not_modified for s in second.sources)
    assert store.count() == 8
    for path in ("/etag.xml", "/lm.xml"):
        again = feed_server.requests_for(path)[-1]
        assert again.headers.get("if-none-match", "").startswith('"')
        assert again.headers.get("if-modified-since") == "Sat, 21 Nov 2026 10:00:00 GMT"
        assert again.status == 304
    assert "CityRadar" in feed_server.requests_for("/etag.xml")[0].headers["user-agent"]


def test_changed_feed_stores_only_new_items_and_tracking_copies_once(
    feed_server: FeedServer, store, tmp_path: Path
) -> None:
    url = feed_server.add("/news.xml", rss(items("n", 4)))
    # the same stories reached through another feed, with other tracking parameters
    mirror = [(t, link.replace("utm_source=rss", "utm_medium=x&fbclid=abc"), d)
              for t, link, d in items("n", 4)]
    mirror_url = feed_server.add("/mirror.xml", rss(mirror))
    config = write_config(tmp_path / "cfg", [feed_entry("news", url),
                                             feed_entry("mirror", mirror_url)])
    ingest_once(config, store)
    assert store.count() == 4

    feed_server.routes["/news.xml"].body = rss(items("n", 6))
    report = ingest_once(config, store, source_ids=["news"])
    assert [(s.seen, s.new) for s in report.sources] == [(6, 2)]
    assert store.count() == 6
    stored = store.get_articles(list(store.has_articles(
        [a.id for a in store.iter_articles()])))
    assert all("utm_" not in a.url for a in stored)
    assert {a.published_at.isoformat() for a in stored} >= {"2020-06-01T08:00:00+00:00"}


def test_broken_sources_do_not_stop_the_others_and_show_in_health(
    feed_server: FeedServer, store, tmp_path: Path
) -> None:
    good = feed_server.add("/good.xml", rss(items("g", 3)))
    error500 = feed_server.add("/500.xml", b"", status=500)
    garbage = feed_server.add("/garbage.xml", bytes(range(256)) * 4, content_type="text/html")
    slow = feed_server.add("/slow.xml", rss(items("s", 2)), delay_s=3.0)
    huge = feed_server.add("/huge.xml", rss(items("h", 3000)))
    config = write_config(tmp_path / "cfg", [
        feed_entry("e500", error500), feed_entry("garbage", garbage), feed_entry("slow", slow),
        feed_entry("huge", huge), feed_entry("good", good),
        feed_entry("nodns", "http://no-such-host.invalid/feed.xml"),
    ], fetch={"timeout_s": 1, "retries": 0})

    report = ingest_once(config, store)

    by_id = {s.source_id: s for s in report.sources}
    assert by_id["good"].error is None and by_id["good"].new == 3
    assert store.count() == 3
    assert by_id["e500"].error == "HTTP 500"
    assert "not a readable feed" in (by_id["garbage"].error or "")
    assert "timeout" in (by_id["slow"].error or "")
    assert "larger than 200000 bytes" in (by_id["huge"].error or "")
    assert by_id["nodns"].error and "ConnectError" in by_id["nodns"].error
    health = {h.source_id: h for h in store.list_source_health()}
    for failing in ("e500", "garbage", "slow", "huge", "nodns"):
        assert health[failing].consecutive_failures == 1
        assert health[failing].last_error == by_id[failing].error
        assert health[failing].last_success is None
    assert health["good"].last_success is not None and health["good"].items_new == 3
    # a failed fetch leaves no validators behind, so the next run fetches in full
    assert store.get_fetch_state(error500) is None

    feed_server.routes["/500.xml"] = feed_server.routes["/good.xml"]
    ingest_once(config, store, source_ids=["e500"])
    recovered = store.get_source_health("e500")
    assert recovered.consecutive_failures == 0 and recovered.last_error == "HTTP 500"


def test_transient_503_is_retried_honouring_retry_after(
    feed_server: FeedServer, store, tmp_path: Path
) -> None:
    url = feed_server.add("/flaky.xml", rss(items("f", 2)), fail_first=1, fail_status=503,
                          headers={"Retry-After": "1"})
    config = write_config(tmp_path / "cfg", [feed_entry("flaky", url)])
    started = time.monotonic()
    report = ingest_once(config, store)
    assert report.sources[0].error is None and report.sources[0].new == 2
    assert [r.status for r in feed_server.requests_for("/flaky.xml")] == [503, 200]
    assert time.monotonic() - started >= 1.0


def test_tagger_runs_on_new_articles_only(feed_server: FeedServer, store, tmp_path: Path) -> None:
    url = feed_server.add("/t.xml", rss(items("t", 3)), validators=False)
    config = write_config(tmp_path / "cfg", [feed_entry("t", url)])
    batches: list[int] = []

    def tagger(articles):
        batches.append(len(articles))
        return articles

    ingest_once(config, store, tagger=tagger)
    feed_server.routes["/t.xml"].body = rss(items("t", 4))
    ingest_once(config, store, tagger=tagger)
    assert batches == [3, 1]


def test_unchanged_bytes_without_validators_are_not_reparsed(
    feed_server: FeedServer, store, tmp_path: Path
) -> None:
    url = feed_server.add("/plain.xml", rss(items("p", 2)), validators=False)
    config = write_config(tmp_path / "cfg", [feed_entry("plain", url)])
    ingest_once(config, store)
    report = ingest_once(config, store)
    assert report.sources[0].not_modified
    state = store.get_fetch_state(url)
    assert isinstance(state, FetchState) and state.content_hash


@pytest.mark.slow
def test_killed_run_loses_and_duplicates_nothing(feed_server: FeedServer, tmp_path: Path) -> None:
    feeds = []
    expected: set[str] = set()
    for n in range(6):
        entries = items(f"k{n}", 5)
        expected |= {t for t, _, _ in entries}
        # three feeds answer at once, three only after the process has been killed
        url = feed_server.add(f"/k{n}.xml", rss(entries), delay_s=0 if n < 3 else 6.0)
        feeds.append(feed_entry(f"k{n}", url))
    config = write_config(tmp_path / "cfg", feeds, fetch={"timeout_s": 10})
    db = tmp_path / "kill.db"
    command = [sys.executable, "-m", "cityradar.cli", "--db", str(db), "--config", str(config),
               "ingest", "--once", "--no-tag"]

    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20

    def answered(path: str) -> bool:
        return any(r.status == 200 for r in feed_server.requests_for(path))

    while time.monotonic() < deadline and process.poll() is None:
        if all(answered(f"/k{n}.xml") for n in range(3)):
            break
        time.sleep(0.05)
    time.sleep(1.0)  # let the fast feeds be stored; the slow ones are still being served
    assert process.poll() is None, process.communicate()[1].decode()[-2000:]
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not any(answered(f"/k{n}.xml") for n in range(3, 6))

    with open_store(str(db)) as partial:
        assert partial.count() <= 15
    for n in range(3, 6):
        feed_server.routes[f"/k{n}.xml"].delay_s = 0
    rerun = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert rerun.returncode == 0, rerun.stderr

    with open_store(str(db)) as final:
        titles = [a.title for a in final.iter_articles()]
    assert sorted(titles) == sorted(expected)


def test_cli_watch_sources_and_all_failed_exit(feed_server: FeedServer, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cityradar.cli import cli

    url = feed_server.add("/w.xml", rss(items("w", 2)))
    config = write_config(tmp_path / "cfg", [feed_entry("w", url)])
    base = ["--db", str(tmp_path / "w.db"), "--config", str(config)]
    runner = CliRunner()
    watched = runner.invoke(cli, [*base, "watch", "--interval", "1s", "--max-cycles", "2",
                                  "--no-tag"])
    assert watched.exit_code == 0, watched.output
    assert "cycle 1: 2 new" in watched.output and "cycle 2: 0 new" in watched.output
    listed = runner.invoke(cli, [*base, "sources"])
    assert listed.exit_code == 0 and "w\tenabled" in listed.output and "ok " in listed.output
    feed_server.routes["/w.xml"].status = 500
    failed = runner.invoke(cli, [*base, "ingest", "--once", "--no-tag"])
    assert failed.exit_code == 1 and "all 1 sources failed" in failed.output
    bad = runner.invoke(cli, [*base, "watch", "--interval", "soon"])
    assert bad.exit_code == 2 and "invalid interval" in bad.output
