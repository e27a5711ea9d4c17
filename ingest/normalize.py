"""RawItem -> Article: canonical URL, stable id, UTC dates, exact dedupe."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from courlan import normalize_url
from courlan.clean import clean_query

from cityradar.records import Article, RawItem, utc

log = logging.getLogger(__name__)

# Tracking parameters courlan's list (courlan.clean.TRACKERS_RE: utm_*, fbclid, gclid, xtor,
# at_medium, ...) lacks but news links carry: removed on top of its cleaning.
TRACKING_PARAMS = frozenset({
    "_hsenc", "_hsmi", "at_custom1", "at_custom2", "at_custom3", "at_custom4", "at_format",
    "at_link", "at_ptr_name", "cmp", "cmpid", "icid", "ito", "ncid", "ocid", "smid", "smtyp",
    "soc_src", "soc_trk", "sr_share", "wt.mc_id",
})
TRACKING_PREFIXES = ("ns_", "__twitter", "hmb_")
# Hosts whose links are redirects carrying the real article URL in a query parameter.
REDIRECT_PARAMS = {
    "news.google.com": ("url",),
    "www.google.com": ("url", "q"),
    "google.com": ("url", "q"),
    "l.facebook.com": ("u",),
    "t.co": (),
    "feedproxy.google.com": (),
    "www.bing.com": ("url",),
    "bing.com": ("url",),
}
ID_LENGTH = 20
# Publication dates outside [EARLIEST_PUBLISHED, fetch time + FUTURE_SLACK] are not believed:
# the article is kept with its date unknown (None), never clamped to the fetch time (a clamp
# would invent coverage on the fetch day), and the rejected value is kept in
# ``extras["rejected_published_at"]`` so the source's health can carry a warning. Without
# this check one item dated 9999 (or 0001) made every daily series span eight millennia.
EARLIEST_PUBLISHED = datetime(1970, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=2)
REJECTED_DATE = "rejected_published_at"


class HasArticles(Protocol):
    def has_articles(self, article_ids: Sequence[str]) -> set[str]: ...


def unwrap_redirect(url: str) -> str:
    """The real article URL when ``url`` is a known redirector carrying it in the query."""
    parts = urlsplit(url)
    names = REDIRECT_PARAMS.get((parts.hostname or "").lower())
    if not names:
        return url
    for key, value in parse_qsl(parts.query, keep_blank_values=False):
        if key in names and value.startswith(("http://", "https://")):
            return value
    return url


@lru_cache(maxsize=4096)
def _is_tracking(name: str) -> bool:
    """A tracking parameter by courlan's rules, or by ours where courlan lacks one."""
    lowered = name.lower()
    if lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES):
        return True
    return not clean_query(urlencode({name: "x"}))  # courlan keeps what is not a tracker


def canonical_url(url: str) -> str:
    """Scheme, host, port and path as courlan normalizes them (lowercase scheme and host,
    punycode decoded, no default port, slashes collapsed, path percent-encoded), the query
    without tracking parameters (courlan's list and ours) and sorted, no fragment. Our own
    rules on top: known redirectors unwrapped, no password, no trailing dot in the host, "/"
    for an empty path, and parameters without a value kept (c-span's ``?469599-1/title``
    names the video; courlan would drop it). Path case and meaningful parameters are kept."""
    parts = urlsplit(unwrap_redirect(url.strip()))
    host = (parts.hostname or "").rstrip(".")
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    base = urlsplit(normalize_url(urlunsplit((parts.scheme, netloc, parts.path, "", ""))))
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                   if not _is_tracking(k))
    return urlunsplit((base.scheme, base.netloc, base.path or "/",
                       urlencode(query, doseq=True), ""))


def article_id(canonical: str) -> str:
    """Stable article id: the first 20 hex digits of the SHA-256 of the canonical URL."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:ID_LENGTH]


def plausible_published(published_at: datetime | None, fetched_at: datetime
                        ) -> datetime | None:
    """``published_at`` (UTC) when it lies between EARLIEST_PUBLISHED and the fetch time plus
    FUTURE_SLACK, else None ("date unknown")."""
    moment = utc(published_at)
    if moment is None:
        return None
    if moment < EARLIEST_PUBLISHED or moment > fetched_at + FUTURE_SLACK:
        return None
    return moment


def rejected_dates(articles: Iterable[Article]) -> list[str]:
    """The publication dates that normalization did not believe, one per article."""
    return [str(a.extras[REJECTED_DATE]) for a in articles if a.extras.get(REJECTED_DATE)]


def date_warning(rejected: Sequence[str]) -> str | None:
    """The one-line source-health warning for dates set to unknown, or None."""
    if not rejected:
        return None
    return (f"{len(rejected)} item(s) with an implausible publication date (e.g. "
            f"{rejected[0][:32]}) stored as date unknown")


def normalize_item(item: RawItem, fetched_at: datetime | None = None,
                   voice: str = "foreign") -> Article | None:
    """An Article from a RawItem, or None when it has no usable identity (no URL, no text).

    Every source (feeds, news search, GDELT, file import) goes through here, so this is where
    publication dates are range-checked (see EARLIEST_PUBLISHED)."""
    title = " ".join(item.title.split())
    summary = " ".join(item.summary.split())
    raw_url = item.url.strip()
    fetched = utc(fetched_at) or datetime.now(UTC)
    extras = dict(item.extras)
    published = plausible_published(item.published_at, fetched)
    if item.published_at is not None and published is None:
        original = item.published_at
        extras[REJECTED_DATE] = original.isoformat() if isinstance(original, datetime) else str(
            original)
        log.warning("%s: implausible publication date %s for %.100s: stored as date unknown",
                    item.source_id or "source", extras[REJECTED_DATE], raw_url or title)
    if raw_url.lower().startswith(("http://", "https://")):
        url = canonical_url(raw_url)
    elif title or summary:
        # No link: an identity scoped to the source, from the entry's guid or its text.
        basis = str(item.extras.get("guid") or f"{title}\n{summary}")
        digest = hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]
        url = f"urn:cityradar:{item.source_id or 'unknown'}:{digest}"
    else:
        log.warning("dropping item without URL or text from %s", item.source_id)
        return None
    return Article(
        id=article_id(url),
        url=url,
        title=title,
        summary=summary,
        body=item.body,
        published_at=published,
        fetched_at=fetched,
        outlet=item.outlet.strip(),
        domain=item.domain.strip().lower(),
        country=item.country,
        source_id=item.source_id,
        language_hint=item.language_hint,
        voice="own" if voice == "own" else "foreign",
        extras=extras,
    )


def drop_repeated_urls(articles: Iterable[Article],
                       store: HasArticles | None = None) -> list[Article]:
    """Exact dedupe by canonical URL (the article id): the first copy of each URL within the
    batch, and none already in ``store``. (Near-duplicates with different URLs, such as
    syndicated copies, are ``ingest.syndication``'s job.)"""
    unique: dict[str, Article] = {}
    for article in articles:
        unique.setdefault(article.id, article)
    if store is not None and unique:
        known = store.has_articles(list(unique))
        for article_id_ in known:
            unique.pop(article_id_, None)
    return list(unique.values())
