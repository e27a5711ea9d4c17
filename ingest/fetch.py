"""HTTP fetching for feeds: conditional GET, retries with backoff, per-host politeness, size cap,
and an overall deadline per request (``FetchOptions.deadline_s``, or ``fetch(...,
deadline_s=...)``): a host that trickles one byte every few seconds never trips the per-read
``timeout_s``, so the body is read against the deadline too and abandoned when it passes.

Bytes are fetched here (never by feedparser) so every request is polite, bounded and logged.

``url_guard`` (``fetch(..., url_guard=...)``): a callable that may refuse a URL before it is
requested, checked for the URL and for every redirect target (redirects are then followed
here, one hop at a time). Full-text fetching passes ``non_public_target`` so that an article
URL from a hostile feed cannot make CityRadar read loopback, private or link-local services
(SSRF) and store their answer as an article body.
"""

from __future__ import annotations

import email.utils
import ipaddress
import logging
import socket
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
from cityradar.retry import RetryPolicy, transient_status
from ingest.sources import FetchOptions

log = logging.getLogger(__name__)

MAX_REDIRECTS = 10  # httpx's default, kept when redirects are followed by hand (url_guard)
UrlGuard = Callable[[str], "str | None"]  # a URL -> why it is refused, or None


def _non_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def non_public_target(url: str) -> str | None:
    """Why ``url`` must not be fetched on behalf of outside data: its host is, or resolves to,
    a loopback, private, link-local, shared, reserved or multicast address (or it is not
    http(s)); None for a URL whose every address is public. A host that does not resolve is
    left to the fetch to fail. (The check resolves the name itself; a DNS answer that changes
    between the check and the connection is not caught.)"""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "not a valid URL"
    if parts.scheme.lower() not in ("http", "https") or not host:
        return "not an http(s) URL"
    try:
        if _non_public(host):
            return f"non-public address {host}"
        return None
    except ValueError:
        pass  # a name, not an address literal
    try:
        infos = socket.getaddrinfo(host, port or (443 if parts.scheme.lower() == "https" else 80),
                                   proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return None
    for info in infos:
        address = str(info[4][0])
        if _non_public(address):
            return f"{host} resolves to non-public address {address}"
    return None


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
              deadline_s: float | None = None,
              url_guard: UrlGuard | None = None) -> FetchResult:
        """GET ``url`` (conditionally when ``state`` has validators), retrying transient errors,
        all within ``deadline_s`` (default ``options.deadline_s``) from the first attempt:
        the result is then an error, never a request still hanging. A read that is already
        waiting when the deadline passes ends within one ``timeout_s`` at worst. With
        ``url_guard``, a refused URL or redirect target is never requested (status 403)."""
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
        deadline: list[float] = []  # set once politeness lets the first request go

        def attempt() -> float | None:
            result.attempts += 1
            self._gate.acquire(host)
            try:
                if not deadline:
                    deadline.append(time.monotonic() + budget)
                return self._attempt(url, headers, result, deadline[0], budget, url_guard)
            finally:
                self._gate.release(host)

        policy = RetryPolicy(retries=self.options.retries, backoff_s=self.options.backoff_s,
                             max_wait_s=self.options.max_retry_after_s)
        policy.call(attempt, retry_result=lambda _after: _transient(result),
                    retry_after=lambda after: after,
                    deadline=lambda: deadline[0] if deadline else None,
                    sleep=self._sleep, what=url, reason=lambda _after: str(result.error))
        if _transient(result) and result.attempts <= self.options.retries:
            result.error = f"{result.error}; no retry within the {budget:g}s deadline"
        result.elapsed_s = time.monotonic() - started
        if result.error:
            log.warning("fetch failed %s: %s", url, result.error)
        return result

    def _attempt(self, url: str, headers: dict[str, str], result: FetchResult,
                 deadline: float, budget: float,
                 url_guard: UrlGuard | None = None) -> float | None:
        """One request (following redirects); fills ``result``; returns a Retry-After delay
        when the server gave one."""
        result.status, result.content, result.error, result.not_modified = None, None, None, False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            result.error = f"deadline of {budget:g}s exceeded"
            result.status = 408
            return None
        timeout = httpx.Timeout(min(self.options.timeout_s, remaining))
        target = url
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                refused = url_guard(target) if url_guard is not None else None
                if refused:
                    result.status, result.final_url = 403, target  # 4xx: never retried
                    result.error = f"refused: {refused}"
                    return None
                with self._client.stream("GET", target, headers=headers, timeout=timeout,
                                         follow_redirects=url_guard is None) as response:
                    if url_guard is not None and response.next_request is not None:
                        target = str(response.next_request.url)  # checked on the next hop
                        continue
                    return self._response(response, result, deadline)
            result.status, result.error = 310, f"more than {MAX_REDIRECTS} redirects"
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

    def _response(self, response: httpx.Response, result: FetchResult,
                  deadline: float) -> float | None:
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
        self, requests: Iterable[tuple[str, FetchState | None]], *,
        url_guard: UrlGuard | None = None,
    ) -> Iterator[FetchResult]:
        """Fetch concurrently; yields results as they complete (in the caller's thread)."""
        with ThreadPoolExecutor(max_workers=self.options.concurrency,
                                thread_name_prefix="fetch") as pool:
            futures = [pool.submit(self.fetch, url, state, url_guard=url_guard)
                       for url, state in requests]
            for future in as_completed(futures):
                yield future.result()


def _transient(result: FetchResult) -> bool:
    """A failure another attempt may cure: no response at all, or a transient HTTP status."""
    return result.error is not None and (result.status is None or transient_status(result.status))


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
