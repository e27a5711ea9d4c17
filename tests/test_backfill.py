"""GDELT backfill over loopback: master list, date selection, md5, resume without duplicates."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

import ingest.backfill as backfill_module
from cityradar.cli import cli
from ingest.backfill import BackfillConfig, backfill_gdelt, select_entries
from nlp.gazetteer import load_cities
from search import ArticleFilter, open_store
from tests.conftest import CONFIG_DIR
from tests.feedserver import FeedServer, feed_server_fixture  # noqa: F401
from tests.test_gdelt_files import event_row, gkg_row, zipped

CITY_OF = {"Wuhan, Hubei, China": "wuhan", "Shanghai, Shanghai, China": "shanghai"}


def _files() -> dict[str, bytes]:
    """Two days of 15-minute files (export + gkg) and one file outside the range."""
    files: dict[str, bytes] = {}
    for day in ("20200123", "20200124", "20200201"):
        for slot in ("000000", "001500"):
            stamp = day + slot
            events = [event_row(f"{stamp}{i}", f"https://news.example.com/{stamp}/wuhan-{i}",
                                "Wuhan, Hubei, China") for i in range(3)]
            events.append(event_row(f"{stamp}9", f"https://news.example.com/{stamp}/ohio",
                                    "Columbus, Ohio, United States", country="US"))
            files[f"{stamp}.export.CSV.zip"] = zipped(events)
            gkg = [gkg_row(f"{stamp}-{i}", f"https://paper.example.org/{stamp}/shanghai-{i}",
                           [("Shanghai, Shanghai, China", "CH", "-1")]) for i in range(2)]
            gkg.append(gkg_row(f"{stamp}-x", f"https://news.example.com/{stamp}/wuhan-0",
                               [("Wuhan, Hubei, China", "CH", "-2")]))  # same URL as an event
            files[f"{stamp}.gkg.csv.zip"] = zipped(gkg)
            files[f"{stamp}.mentions.CSV.zip"] = zipped(["not used"])
    return files


FILES = _files()
# In range (2020-01-23..24): 4 slots x (3 Wuhan events + 2 Shanghai GKG) unique URLs.
EXPECTED_WUHAN, EXPECTED_SHANGHAI = 4 * 3, 4 * 2


def _serve(server: FeedServer, files: dict[str, bytes], corrupt: str | None = None) -> str:
    lines = []
    for name, body in files.items():
        served = body[:-10] + b"0123456789" if name == corrupt else body
        server.add(f"/gdeltv2/{name}", served, content_type="application/zip", validators=False)
        lines.append(f"{len(body)} {hashlib.md5(body).hexdigest()} "
                     f"{server.url('/gdeltv2/' + name)}")
    lines.append("garbage line")
    return server.add("/gdeltv2/masterfilelist.txt", "\n".join(lines).encode(),
                      content_type="text/plain", validators=False)


def _downloads(server: FeedServer) -> list[str]:
    return [r.path.rsplit("/", 1)[-1] for r in server.requests if r.path.endswith(".zip")]


@pytest.fixture(scope="module")
def cities():
    return load_cities(CONFIG_DIR)


def _counts(store) -> tuple[int, int, int]:
    return (store.count(), store.count(ArticleFilter(cities=["wuhan"])),
            store.count(ArticleFilter(cities=["shanghai"])))


def test_master_list_selection() -> None:
    lines = ["1 ab http://h/gdeltv2/20190630234500.export.CSV.zip",
             "1 ab http://h/gdeltv2/20190701000000.export.CSV.zip",
             "1 ab http://h/gdeltv2/20190701000000.mentions.CSV.zip",
             "1 ab http://h/gdeltv2/20200630234500.gkg.csv.zip",
             "1 ab http://h/gdeltv2/20200701000000.gkg.csv.zip", "", "junk"]
    chosen = list(select_entries(lines, date(2019, 7, 1), date(2020, 6, 30)))
    assert [(e.name, e.kind) for e in chosen] == [
        ("20190701000000.export.CSV.zip", "export"), ("20200630234500.gkg.csv.zip", "gkg")]


def test_backfill_imports_the_range_once_and_a_rerun_downloads_nothing(
        feed_server: FeedServer, cities, tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "bf.db"))
    config = BackfillConfig(master_url=_serve(feed_server, FILES), workers=3)
    calls: list[tuple[int, int]] = []
    report = backfill_gdelt(store, cities, date(2020, 1, 23), date(2020, 1, 24), config,
                            progress=lambda done, total: calls.append((done, total)))
    assert (report.selected, len(report.files), report.failed) == (8, 8, [])
    assert calls[-1] == (8, 8)
    assert _counts(store) == (EXPECTED_WUHAN + EXPECTED_SHANGHAI, EXPECTED_WUHAN,
                              EXPECTED_SHANGHAI)
    assert sorted(_downloads(feed_server)) == sorted(
        n for n in FILES if n[:8] in ("20200123", "20200124") and "mentions" not in n)
    wuhan = next(iter(store.iter_articles(ArticleFilter(cities=["wuhan"]))))
    assert wuhan.extras["gdelt"]["cities"] == ["wuhan"]
    assert wuhan.extras["gdelt"]["tone"] in (-3.5, -2.5)  # GDELT's tone, event or GKG

    feed_server.requests.clear()
    again = backfill_gdelt(store, cities, date(2020, 1, 23), date(2020, 1, 24), config)
    assert (again.already_done, again.files, _downloads(feed_server)) == (8, [], [])
    store.close()


def test_a_corrupt_file_fails_alone_and_is_retried_on_the_next_run(
        feed_server: FeedServer, cities, tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "bf.db"))
    bad = "20200124000000.export.CSV.zip"
    config = BackfillConfig(master_url=_serve(feed_server, FILES, corrupt=bad), workers=2)
    report = backfill_gdelt(store, cities, date(2020, 1, 23), date(2020, 1, 24), config)
    assert [f.name for f in report.failed] == [bad]
    assert "md5" in report.failed[0].error
    # its 3 Wuhan events are missing, but one of them came in through that slot's GKG file
    assert _counts(store) == (EXPECTED_WUHAN + EXPECTED_SHANGHAI - 2, EXPECTED_WUHAN - 2,
                              EXPECTED_SHANGHAI)

    _serve(feed_server, FILES)  # the archive is fixed
    feed_server.requests.clear()
    retry = backfill_gdelt(store, cities, date(2020, 1, 23), date(2020, 1, 24), config)
    assert _downloads(feed_server) == [bad] and retry.failed == []
    assert _counts(store) == (EXPECTED_WUHAN + EXPECTED_SHANGHAI, EXPECTED_WUHAN,
                              EXPECTED_SHANGHAI)
    store.close()


class Killed(BaseException):
    """Stands for the process being killed in the middle of a file."""


def test_a_backfill_killed_mid_file_and_restarted_imports_each_record_once(
        feed_server: FeedServer, cities, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(backfill_module, "BATCH_SIZE", 2)  # several batches per file
    store = open_store(str(tmp_path / "bf.db"))
    config = BackfillConfig(master_url=_serve(feed_server, FILES), workers=2)
    batches = 0

    def dying_tagger(articles):
        nonlocal batches
        batches += 1
        # files: export (2 batches), gkg (1 batch; its Wuhan URL is already stored),
        # then the third file dies in its second batch
        if batches == 5:
            raise Killed
        return articles

    with pytest.raises(Killed):
        backfill_gdelt(store, cities, date(2020, 1, 23), date(2020, 1, 24), config,
                       tagger=dying_tagger)
    partial = store.count()
    assert 0 < partial < EXPECTED_WUHAN + EXPECTED_SHANGHAI

    report = backfill_gdelt(store, cities, date(2020, 1, 23), date(2020, 1, 24), config,
                            tagger=lambda articles: articles)
    assert report.failed == [] and report.already_done == 2
    assert _counts(store) == (EXPECTED_WUHAN + EXPECTED_SHANGHAI, EXPECTED_WUHAN,
                              EXPECTED_SHANGHAI)
    assert report.new == EXPECTED_WUHAN + EXPECTED_SHANGHAI - partial
    store.close()


def test_cli_backfill_and_its_errors(feed_server: FeedServer, tmp_path: Path) -> None:
    master = _serve(feed_server, FILES)
    db = str(tmp_path / "cli.db")
    runner = CliRunner()
    ok = runner.invoke(cli, ["--db", db, "backfill", "gdelt", "--from", "2020-01-23",
                             "--to", "2020-01-23", "--master-url", master, "--workers", "2",
                             "--no-tag"])
    assert ok.exit_code == 0, ok.output
    assert "4 files in range" in ok.output and "0 failed" in ok.output

    bad_date = runner.invoke(cli, ["--db", db, "backfill", "gdelt", "--from", "2020-13-01",
                                   "--to", "2020-01-23"])
    assert bad_date.exit_code != 0 and "YYYY-MM-DD" in bad_date.output

    missing = runner.invoke(cli, ["--db", db, "backfill", "gdelt", "--from", "2020-01-23",
                                  "--to", "2020-01-23",
                                  "--master-url", feed_server.url("/nothing.txt"), "--no-tag"])
    assert missing.exit_code == 1 and "HTTP 404" in missing.output


def test_a_transient_download_failure_is_retried_after_a_backoff_delay(
        feed_server: FeedServer, tmp_path: Path) -> None:
    """The download retries 503/429 with the shared policy: a real (non-zero) wait between
    attempts, exponential with jitter, never the immediate re-request it used to make."""
    import httpx

    from ingest.backfill import MasterEntry, download
    name = "20200123000000.export.CSV.zip"
    body = FILES[name]
    url = feed_server.add(f"/flaky/{name}", body, content_type="application/zip",
                          validators=False, fail_first=2, fail_status=503)
    entry = MasterEntry(len(body), hashlib.md5(body).hexdigest(), url,
                        backfill_module.parse_master_line(f"1 x {url}").stamp, "export")
    waits: list[float] = []
    with httpx.Client() as client:
        path = download(client, entry, tmp_path, retries=3, backoff_s=0.5, sleep=waits.append)
    assert path.read_bytes() == body
    assert [r.status for r in feed_server.requests_for(f"/flaky/{name}")] == [503, 503, 200]
    assert len(waits) == 2 and 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 1.5

    gone = feed_server.add(f"/gone/{name}", body, fail_first=9, fail_status=404)
    lost = MasterEntry(entry.size, entry.md5, gone, entry.stamp, "export")
    waits.clear()
    with httpx.Client() as client, pytest.raises(backfill_module.BackfillError,
                                                 match="download failed: HTTP 404"):
        download(client, lost, tmp_path, retries=3, backoff_s=0.5, sleep=waits.append)
    assert waits == [] and len(feed_server.requests_for(f"/gone/{name}")) == 1
    assert not (tmp_path / name).exists()


def test_backfill_config_reads_the_retry_backoff(tmp_path: Path) -> None:
    (tmp_path / "gdelt.yaml").write_text("files:\n  retries: 2\n  backoff_s: 0.25\n")
    config = BackfillConfig.load(tmp_path)
    assert (config.retries, config.backoff_s) == (2, 0.25)
    assert BackfillConfig().backoff_s > 0  # the default waits between attempts
