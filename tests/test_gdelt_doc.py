"""GDELT DOC 2.0 API source against the real saved responses, served over loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from ingest.gdelt_doc import (
    RESUME_KEY,
    GdeltDocConfig,
    GdeltDocSource,
    build_queries,
    load_timeline,
    parse_artlist,
    parse_timeline,
)
from nlp.gazetteer import load_cities
from search import ArticleFilter, open_store
from tests.conftest import CONFIG_DIR


@pytest.fixture(scope="module")
def cities():
    return {c.id: c for c in load_cities(CONFIG_DIR)}


def test_artlist_sample_parses_exactly(realdata: Path) -> None:
    payload = json.loads((realdata / "gdelt/doc_api_artlist_sample.json").read_text())
    items = parse_artlist(payload, "wuhan", {"united states": "US"})
    assert len(items) == 4279
    first = items[0]
    assert first.title == "Trump administration renews push for expanding U . S . aquaculture"
    assert first.published_at == datetime(2020, 5, 18, 20, 45, tzinfo=UTC)
    assert (first.domain, first.language_hint, first.country) == ("adn.com", "en", "US")
    assert first.extras["gdelt"]["sourcecountry"] == "United States"
    assert min(i.published_at for i in items) == datetime(2020, 1, 22, 10, 30, tzinfo=UTC)
    assert max(i.published_at for i in items) == datetime(2020, 9, 2, 20, 45, tzinfo=UTC)
    # the API's own shape ({"articles": [...]}) parses the same
    assert len(parse_artlist({"articles": payload[:3]}, "wuhan")) == 3


def test_timelinevolraw_sample_parses_exactly(realdata: Path) -> None:
    payload = json.loads((realdata / "gdelt/doc_api_timelinevolraw_sample.json").read_text())
    points = parse_timeline(payload)
    assert len(points) == 214
    assert (points[0].day, points[0].value, points[0].norm) == (date(2020, 1, 1), 0, 262970)
    assert (points[-1].day, points[-1].value, points[-1].norm) == (date(2020, 8, 1), 7, 273130)
    jan22 = next(p for p in points if p.day == date(2020, 1, 22))
    assert (jan22.value, jan22.norm) == (10, 497108)
    assert sum(p.value for p in points) == 2622
    # the API's unwrapped object parses the same
    assert len(parse_timeline(payload["results"][0])) == 214


def test_queries_quote_and_or_the_names_and_respect_the_length_limit(cities) -> None:
    config = GdeltDocConfig(max_query_chars=120, exclude_countries=["china"])
    queries = build_queries(cities["xian"], config)
    assert len(queries) > 1
    assert all(len(q) <= 120 for q in queries)
    assert all(q.endswith(" -sourcecountry:china") for q in queries)
    joined = " ".join(queries)
    assert '"Xi\'an"' in joined and '"西安"' in joined and " OR " in joined
    for form in cities["xian"].ambiguous_forms:
        assert f'"{form}"' not in joined
    assert '"Sian"' not in joined and '"Changan"' not in joined  # ambiguous
    short = build_queries(cities["xian"], GdeltDocConfig(min_name_chars=5))
    assert '"Xian"' in joined and '"Xian"' not in " ".join(short)


class FakeDocApi:
    """The DOC API's contract on loopback: ArtList filtered by startdatetime/enddatetime and
    capped at maxrecords, TimelineVolRaw, and a 429 for the first request."""

    def __init__(self, articles: list[dict], timeline: dict, rate_limited: int = 1) -> None:
        self.articles, self.timeline = articles, timeline
        self.requests: list[dict[str, str]] = []
        self.rate_limited = rate_limited
        self.plain_error: str | None = None  # GDELT answers bad queries with a sentence
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def do_GET(self) -> None:
                params = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                status, body = api.answer(params)
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api/v2/doc/doc"

    def answer(self, params: dict[str, str]) -> tuple[int, bytes]:
        self.requests.append(params)
        if len(self.requests) <= self.rate_limited:
            return 429, b"Please limit requests to one every 5 seconds"
        if self.plain_error:
            return 200, self.plain_error.encode()
        if params.get("mode") == "TimelineVolRaw":
            return 200, json.dumps(self.timeline).encode()
        if params.get("mode") != "ArtList" or params.get("format") != "json":
            return 200, b"Invalid mode"
        start, end = params["startdatetime"], params["enddatetime"]
        rows = sorted((a for a in self.articles
                       if start <= a["seendate"].replace("T", "")[:14] < end),
                      key=lambda a: a["seendate"])
        return 200, json.dumps({"articles": rows[: int(params["maxrecords"])]}).encode()


@pytest.fixture
def doc_api(realdata: Path) -> Iterator[FakeDocApi]:
    articles = json.loads((realdata / "gdelt/doc_api_artlist_sample.json").read_text())
    timeline = json.loads((realdata / "gdelt/doc_api_timelinevolraw_sample.json").read_text())
    api = FakeDocApi(articles, timeline)
    yield api
    api.httpd.shutdown()
    api.httpd.server_close()


def _expected_urls(articles: list[dict], start: str, end: str) -> set[str]:
    return {a["url"] for a in articles if start <= a["seendate"].replace("T", "")[:14] < end}


def test_fetch_pages_past_the_cap_stores_timeline_and_resumes(doc_api: FakeDocApi, cities,
                                                              tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "doc.db"))
    config = GdeltDocConfig(base_url=doc_api.url, min_interval_s=0, backoff_s=0.01,
                            max_records=25, window_hours=24 * 7, lookback_days=7)
    start, end = datetime(2020, 3, 1, tzinfo=UTC), datetime(2020, 3, 15, tzinfo=UTC)
    with GdeltDocSource(config, store) as source:
        report = source.fetch_city(cities["wuhan"], start=start, end=end)
    assert report.error is None
    expected = _expected_urls(doc_api.articles, "20200301000000", "20200315000000")
    assert len(expected) > 2 * 25  # the windows really hit the cap
    assert store.count(ArticleFilter(cities=["wuhan"])) == len(expected) == report.new
    artlists = [r for r in doc_api.requests if r.get("mode") == "ArtList"]
    assert len(artlists) > 2  # two weekly windows, split in halves while capped
    assert all('"Wuhan"' in r["query"] for r in artlists)
    assert store.get_meta(RESUME_KEY.format(city="wuhan")) == end.isoformat()
    points = load_timeline(store, "wuhan")
    assert len(points) == 214 and points[0].norm == 262970
    assert store.get_source_health("gdelt-doc:wuhan").last_success is not None

    # the next run starts at the resume point: only the new week is asked for
    doc_api.requests.clear()
    later = datetime(2020, 3, 22, tzinfo=UTC)
    with GdeltDocSource(config, store) as source:
        again = source.fetch_city(cities["wuhan"], end=later, timeline=False)
    assert again.resumed_from == end
    assert min(r["startdatetime"] for r in doc_api.requests) == "20200315000000"
    assert again.new == len(_expected_urls(doc_api.articles, "20200315000000",
                                           "20200322000000"))
    store.close()


def test_a_gdelt_error_keeps_the_resume_point_and_is_recorded(doc_api: FakeDocApi, cities,
                                                               tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "doc.db"))
    store.put_meta(RESUME_KEY.format(city="wuhan"), "2020-03-01T00:00:00+00:00")
    config = GdeltDocConfig(base_url=doc_api.url, min_interval_s=0, backoff_s=0.01, retries=0)
    doc_api.rate_limited = 0
    doc_api.plain_error = "The specified phrase is too short."
    with GdeltDocSource(config, store) as source:
        reports = source.fetch_cities([cities["wuhan"], cities["beijing"]],
                                      end=datetime(2020, 3, 2, tzinfo=UTC))
    assert [r.error is not None for r in reports] == [True, True]
    assert store.get_meta(RESUME_KEY.format(city="wuhan")) == "2020-03-01T00:00:00+00:00"
    health = store.get_source_health("gdelt-doc:beijing")
    assert health.consecutive_failures == 1 and "phrase is too short" in health.last_error
    store.close()


def test_cli_timeline_and_bad_input(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cityradar.cli import cli
    from ingest.gdelt_doc import TIMELINE_KEY

    db = str(tmp_path / "cli.db")
    runner = CliRunner()
    empty = runner.invoke(cli, ["--db", db, "gdelt", "timeline", "--city", "wuhan"])
    assert empty.exit_code == 1 and "no GDELT timeline stored for wuhan" in empty.output
    unknown = runner.invoke(cli, ["--db", db, "gdelt", "fetch", "--city", "atlantis"])
    assert unknown.exit_code == 2 and "unknown city id(s): atlantis" in unknown.output

    store = open_store(db)
    store.put_meta(TIMELINE_KEY.format(city="wuhan"),
                   json.dumps({"2020-01-22": {"value": 10, "norm": 497108}}))
    store.close()
    shown = runner.invoke(cli, ["--db", db, "gdelt", "timeline", "--city", "wuhan"])
    assert shown.exit_code == 0
    assert "2020-01-22\t10\t497108\t0.000020" in shown.output
