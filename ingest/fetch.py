"""HTTP fetching for feeds: conditional GET, retries with backoff, per-host politeness, size cap,
and an overall deadline per request (``FetchOptions.deadline_s``, or ``fetch(...,
deadline_s=...)``): a host that trickles one byte every few seconds never trips the per-read
``timeout_s``, so the body is read against the deadline too and abandoned when it passes.

Bytes are fetched here (never by feedparser) so every request is polite, bounded and logged.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from cityradar.records import FetchState
from ingest.sources import FetchOptions

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class ResponseTooLarge(Exception):
    pass


class DeadlineExceeded(Exception):
    pass


@dataclass(slots=True)
class FetchResult:
    url: str
    status: int | None = None  # HTTP status of the last attempt; None when no response came
    content: bytes | None = None  # body of a 200; None for 304 and errors
    headers: dict[str, str] = field(default_factory=dict)
    not_modified: bool = False
    error: str | None = None  # one-line reason when the fetch failed
    attempts: int = 0
    elapsed_s: float = 0.0
    final_url: str | None = None  # where redirects led (None when no response came)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    def next_state(self, previous: FetchState | None, content_hash: str | None) -> FetchState:
        """The validators to remember after this fetch (kept from ``previous`` on a 304)."""
        now = datetime.now(UTC)
        if self.not_modified and previous is not None:
            return FetchState(previous.url, previous.etag, previous.last_modified, now,
                              previous.content_hash)
        return FetchState(
            url=self.url,
            etag=self.headers.get("etag"),
            last_modified=self.headers.get("last-modified"),
            fetched_at=now,
            content_hash=content_hash,
        )


class HostGate:
    """Per-host politeness: at most ``concurrency`` requests in flight per host, and at least
    ``delay_s`` between the starts of two requests to the same host."""

    def __init__(self, delay_s: float, concurrency: int) -> None:
        self._delay_s = delay_s
        self._lock = threading.Lock()
        self._next_start: dict[str, float] = defaultdict(float)
        self._slots: dict[str, threading.BoundedSemaphore] = defaultdict(
            lambda: threading.BoundedSemaphore(concurrency)
        )

    def acquire(self, host: str) -> None:
        with self._lock:
            slot = self._slots[host]
        slot.acquire()
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start[host])
            self._next_start[host] = start + self._delay_s
        if start > now:
            time.sleep(start - now)

    def release(self, host: str) -> None:
        with self._lock:
            slot = self._slots[host]
        slot.release()


class Fetcher:
    """Fetches URLs politely; thread-safe (one shared httpx client and host gate)."""

    def __init__(self, options: FetchOptions | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.options = options or FetchOptions()
        self._sleep = sleep
        self._gate = HostGate(self.options.per_host_delay_s, self.options.per_host_concurrency)
        limits = httpx.Limits(
            max_connections=max(self.options.concurrency, 1) * 2,
            max_keepalive_connections=max(self.options.concurrency, 1),
        )
        self._client = httpx.Client(
            headers={"User-Agent": self.options.user_agent,
                     "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9,"
                               " text/xml;q=0.9, */*;q=0.5"},
            timeout=httpx.Timeout(self.options.timeout_s),
            follow_redirects=True,
            limits=limits,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def fetch(self, url: str, state: FetchState | None = None, *,
              deadline_s: float | None = None) -> FetchResult:
        """GET ``url`` (conditionally when ``state`` has validators), retrying transient errors,
        all within ``deadline_s`` (default ``options.deadline_s``) from the first attempt:
        the result is then an error, never a request still hanging. A read that is already
        waiting when the deadline passes ends within one ``timeout_s`` at worst."""
        headers: dict[str, str] = {}
        if state is not None:
            if state.etag:
                headers["If-None-Match"] = state.etag
            if state.last_modified:
                headers["If-Modified-Since"] = state.last_modified
        host = urlsplit(url).netloc.lower()
        result = FetchResult(url=url)
        started = time.monotonic()
        budget = self.options.deadline_s if deadline_s is None else deadline_s
        deadline: float | None = None
        for attempt in range(self.options.retries + 1):
            result.attempts = attempt + 1
            retry_after: float | None = None
            self._gate.acquire(host)
            try:
                if deadline is None:  # the clock starts once politeness lets the request go
                    deadline = time.monotonic() + budget
                retry_after = self._attempt(url, headers, result, deadline, budget)
            finally:
                self._gate.release(host)
            transient = result.error is not None and (
                result.status is None or result.status in RETRY_STATUSES
            )
            if not transient or attempt == self.options.retries:
                break
            delay = self.options.backoff_s * 2**attempt + random.uniform(0, self.options.backoff_s)
            if retry_after is not None:
                delay = max(delay, min(retry_after, self.options.max_retry_after_s))
            if deadline is not None and time.monotonic() + delay >= deadline:
                result.error = f"{result.error}; no retry within the {budget:g}s deadline"
                break
            log.info("retrying %s in %.1fs after: %s", url, delay, result.error)
            self._sleep(delay)
        result.elapsed_s = time.monotonic() - started
        if result.error:
            log.warning("fetch failed %s: %s", url, result.error)
        return result

    def _attempt(self, url: str, headers: dict[str, str], result: FetchResult,
                 deadline: float, budget: float) -> float | None:
        """One request; fills ``result``; returns a Retry-After delay when the server gave one."""
        result.status, result.content, result.error, result.not_modified = None, None, None, False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            result.error = f"deadline of {budget:g}s exceeded"
            result.status = 408
            return None
        timeout = httpx.Timeout(min(self.options.timeout_s, remaining))
        try:
            with self._client.stream("GET", url, headers=headers, timeout=timeout) as response:
                result.status = response.status_code
                result.final_url = str(response.url)
                result.headers = {k.lower(): v for k, v in response.headers.items()}
                if response.status_code == 304:
                    result.not_modified = True
                    return None
                if response.status_code != 200:
                    result.error = f"HTTP {response.status_code}"
                    return _retry_after_seconds(response.headers.get("retry-after"))
                result.content = self._read_capped(response, deadline)
        except DeadlineExceeded:
            result.error = f"deadline of {budget:g}s exceeded (response too slow, aborted)"
            result.content = None
            result.status = 408  # not retried: the budget is spent
        except ResponseTooLarge:
            result.error = f"response larger than {self.options.max_bytes} bytes (aborted)"
            result.content = None
            result.status = 413  # not transient: a 4xx status keeps it from being retried
        except httpx.TimeoutException as exc:
            result.error = f"timeout ({type(exc).__name__})"
        except httpx.HTTPError as exc:
            result.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return None

    def _read_capped(self, response: httpx.Response, deadline: float | None = None) -> bytes:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.options.max_bytes:
            raise ResponseTooLarge
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            if deadline is not None and time.monotonic() > deadline:
                raise DeadlineExceeded
            size += len(chunk)
            if size > self.options.max_bytes:
                raise ResponseTooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    def fetch_many(
        self, requests: Iterable[tuple[str, FetchState | None]]
    ) -> Iterator[FetchResult]:
        """Fetch concurrently; yields results as they complete (in the caller's thread)."""
        with ThreadPoolExecutor(max_workers=self.options.concurrency,
                                thread_name_prefix="fetch") as pool:
            futures = [pool.submit(self.fetch, url, state) for url, state in requests]
            for future in as_completed(futures):
                yield future.result()


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
