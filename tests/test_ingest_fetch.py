"""HTTP fetching against a loopback server: politeness, retries, caps, conditional GET."""

from __future__ import annotations

import time

from cityradar.records import FetchState
from ingest.fetch import Fetcher
from ingest.sources import FetchOptions
from tests.feedserver import FeedServer, feed_server_fixture, rss  # noqa: F401

FAST = FetchOptions(per_host_delay_s=0, retries=0, backoff_s=0.01, timeout_s=2, concurrency=8,
                    per_host_concurrency=8)


def test_minimum_delay_between_requests_to_one_host(feed_server: FeedServer) -> None:
    urls = [feed_server.add(f"/p{i}.xml", rss([])) for i in range(4)]
    options = FetchOptions(per_host_delay_s=0.3, per_host_concurrency=4, concurrency=4)
    started = time.monotonic()
    with Fetcher(options) as fetcher:
        results = list(fetcher.fetch_many((u, None) for u in urls))
    assert all(r.ok for r in results)
    assert time.monotonic() - started >= 0.9  # 4 starts, 0.3 s apart


def test_concurrency_per_host_is_capped(feed_server: FeedServer) -> None:
    urls = [feed_server.add(f"/c{i}.xml", rss([]), delay_s=0.3) for i in range(4)]
    options = FetchOptions(per_host_delay_s=0, per_host_concurrency=1, concurrency=4)
    started = time.monotonic()
    with Fetcher(options) as fetcher:
        assert all(r.ok for r in fetcher.fetch_many((u, None) for u in urls))
    assert time.monotonic() - started >= 1.2  # one at a time despite four workers


def test_connect_errors_are_retried_with_backoff_then_reported() -> None:
    delays: list[float] = []
    options = FetchOptions(retries=2, backoff_s=0.5, timeout_s=1)
    with Fetcher(options, sleep=delays.append) as fetcher:
        result = fetcher.fetch("http://127.0.0.1:9/closed.xml")
    assert not result.ok and result.attempts == 3 and "ConnectError" in (result.error or "")
    assert 0.5 <= delays[0] <= 1.0 and 1.0 <= delays[1] <= 1.5  # exponential, with jitter


def test_no_retry_is_started_that_would_end_past_the_deadline() -> None:
    """The shared retry policy (cityradar.retry) keeps FetchOptions.deadline_s: the first
    wait (0.2-0.4 s) fits the 0.5 s budget, the second (0.4-0.6 s more) would not."""
    options = FetchOptions(retries=5, backoff_s=0.2, timeout_s=1, deadline_s=0.5,
                           per_host_delay_s=0)
    started = time.monotonic()
    with Fetcher(options) as fetcher:
        result = fetcher.fetch("http://127.0.0.1:9/closed.xml")
    assert result.attempts == 2 and "no retry within the 0.5s deadline" in (result.error or "")
    assert time.monotonic() - started < 0.5 + 0.5  # never slept past the budget


def test_404_is_not_retried(feed_server: FeedServer) -> None:
    with Fetcher(FetchOptions(retries=3)) as fetcher:
        result = fetcher.fetch(feed_server.url("/missing.xml"))
    assert result.error == "HTTP 404" and result.attempts == 1


def test_oversize_response_is_aborted_and_reported(feed_server: FeedServer) -> None:
    url = feed_server.add("/big.xml", b"x" * 50_000, headers={})
    options = FetchOptions(max_bytes=10_000, retries=2, per_host_delay_s=0)
    with Fetcher(options) as fetcher:
        result = fetcher.fetch(url)
    assert result.content is None and "larger than 10000 bytes" in (result.error or "")
    assert result.attempts == 1


def test_conditional_get_returns_not_modified(feed_server: FeedServer) -> None:
    url = feed_server.add("/v.xml", rss([("a", "https://x.org/a", None)]))
    with Fetcher(FAST) as fetcher:
        first = fetcher.fetch(url)
        state = first.next_state(None, "hash")
        second = fetcher.fetch(url, state)
    assert first.status == 200 and first.content
    assert second.not_modified and second.content is None and second.ok
    kept = second.next_state(state, None)
    assert isinstance(kept, FetchState) and kept.etag == state.etag
    assert feed_server.requests_for("/v.xml")[1].headers["if-none-match"] == state.etag
