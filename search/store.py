"""The Store protocol: the one query API every downstream stage and the UI use.

Backends (``search.sqlite_store.SQLiteStore``, ``search.es_store.ElasticsearchStore``) implement
it and must pass the same contract suite (``tests/contract/``). Open one with
``search.open_store(url)``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, Protocol, get_args, runtime_checkable

from cityradar.records import Alert, Article, FetchState, SourceHealth

Interval = Literal["day", "week", "month"]
# Dimensions an aggregation can group by (besides the time bucket).
GroupField = Literal["city", "language", "topic", "outlet", "country", "sentiment_label", "voice"]
# What a "market" is for planners: the outlet's country of origin, or the article's language.
Market = Literal["country", "language"]
MARKETS: tuple[str, ...] = ("country", "language")
UNKNOWN_MARKET = "unknown"  # outlet country (or language) not known: counted, never dropped


class StoreError(RuntimeError):
    """The store could not do what was asked (unreachable, corrupt, wrong schema…)."""


@dataclass(slots=True)
class ArticleFilter:
    """Filters shared by search, aggregations and term statistics. Empty = no constraint.

    ``cities`` matches articles that mention any of the cities (as a place, or as a government
    metonym when ``include_government`` is true). ``date_from``/``date_to`` are inclusive days
    on ``published_at`` (UTC); articles with an unknown date never match a date filter.
    """

    cities: Sequence[str] = ()
    languages: Sequence[str] = ()
    topics: Sequence[str] = ()
    sentiment_labels: Sequence[str] = ()
    outlets: Sequence[str] = ()
    countries: Sequence[str] = ()
    voice: str | None = None  # "foreign" | "own" | None (both)
    date_from: date | None = None
    date_to: date | None = None
    include_government: bool = True
    unique_stories: bool = False  # only first-seen copies (dup_of is null)


@dataclass(slots=True)
class SearchQuery:
    text: str = ""  # full-text query; words are ANDed, "quoted phrases" kept
    filters: ArticleFilter = field(default_factory=ArticleFilter)
    sort: Literal["newest", "oldest", "relevance"] = "newest"
    limit: int = 50
    offset: int = 0


@dataclass(slots=True)
class SearchResult:
    total: int
    articles: list[Article]


@dataclass(slots=True)
class AggRow:
    """One aggregation bucket: ``bucket`` is the first day of the day/week(Mon)/month."""

    bucket: date | None  # None when no interval was asked
    key: dict[str, str]  # group field -> value, e.g. {"city": "wuhan", "language": "en"}
    count: int
    mean_tone: float | None  # mean article sentiment (per-city tone when grouped by city)
    negative: int  # articles labelled negative


@dataclass(slots=True)
class MarketRow:
    """One cell of the planners' matrix: articles about ``city`` in ``market`` on ``topic``
    with sentiment label ``tone`` (positive | neutral | negative | "" when untagged)."""

    city: str
    market: str  # ISO country code or language code; UNKNOWN_MARKET when not known
    topic: str
    tone: str
    count: int
    mean_tone: float | None  # mean per-city tone score in [-1, 1]


@dataclass(slots=True)
class TermStat:
    term: str
    foreground: int  # documents in the foreground set containing the term
    background: int  # documents in the background set containing the term
    score: float  # how much more typical of the foreground than the background


@dataclass(slots=True)
class StoryCount:
    """One story (a first-seen article and its syndicated copies) in ``Store.top_stories``."""

    story: str  # id of the first-seen copy: an article's ``dup_of``, else its own id
    count: int  # matching articles of the story (the first copy if it matches, and its copies)
    outlets: list[str]  # distinct outlets among them, sorted (at most ``TOP_STORY_OUTLETS``)


TOP_STORY_OUTLETS = 20


@dataclass(slots=True)
class UpsertResult:
    inserted: int = 0
    updated: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (article id, reason)
    spooled: int = 0  # held in a local spool because the backend was unreachable


@runtime_checkable
class Store(Protocol):
    url: str

    # -- lifecycle ------------------------------------------------------------------------
    def schema_version(self) -> int: ...

    def close(self) -> None: ...

    def health(self) -> dict[str, Any]:
        """{"ok": bool, "backend": str, "detail": str, "articles": int, ...}; never raises."""
        ...

    # -- articles -------------------------------------------------------------------------
    def upsert_articles(self, articles: Iterable[Article]) -> UpsertResult:
        """Insert or replace by ``Article.id``; re-upserting the same article changes nothing."""
        ...

    def get_article(self, article_id: str) -> Article | None: ...

    def get_articles(self, article_ids: Sequence[str]) -> list[Article]: ...

    def has_articles(self, article_ids: Sequence[str]) -> set[str]:
        """The subset of ids already stored (for dedupe before tagging)."""
        ...

    def iter_articles(
        self, filters: ArticleFilter | None = None, batch_size: int = 1000
    ) -> Iterable[Article]:
        """Every matching article, oldest first (for re-tagging, migration, detection)."""
        ...

    def count(self, filters: ArticleFilter | None = None) -> int: ...

    def search(self, query: SearchQuery) -> SearchResult: ...

    def aggregate(
        self,
        filters: ArticleFilter | None = None,
        interval: Interval | None = "day",
        group_by: Sequence[GroupField] = (),
        size: int = 1000,
    ) -> list[AggRow]:
        """Counts, mean tone and negative counts per time bucket x group fields.

        Grouping by ``city`` or ``topic`` counts an article once per city/topic it carries;
        with ``city`` the tone is the per-city tone. Rows are ordered by bucket then key.
        ``size`` caps the number of distinct group keys (largest first) per bucket.
        """
        ...

    def date_range(self, filters: ArticleFilter | None = None) -> tuple[date, date] | None: ...

    def top_stories(self, filters: ArticleFilter | None = None, size: int = 10
                    ) -> list[StoryCount]:
        """The most-covered stories among the matching articles: articles grouped by story
        (``dup_of`` or, for a first-seen copy, its own id), largest first, ties by story id.
        The filter applies to every copy (``unique_stories`` makes every count 1)."""
        ...

    def market_aggregate(
        self, filters: ArticleFilter | None = None, by: Market = "country"
    ) -> list[MarketRow]:
        """Counts and per-city tone by city x market (outlet country or language) x topic x
        sentiment label, over every date the filters allow (no time buckets). An article
        counts once per city and topic it carries (only the filtered cities/topics when
        filtered); a missing country or language is the market UNKNOWN_MARKET. Rows ordered
        by (city, market, topic, tone)."""
        ...

    def term_stats(
        self,
        foreground: ArticleFilter,
        background: ArticleFilter | None = None,
        size: int = 20,
    ) -> list[TermStat]:
        """Terms of title+summary typical of ``foreground`` against ``background``
        (significant terms), for alert explanations."""
        ...

    # -- alerts -----------------------------------------------------------------------------
    def upsert_alert(self, alert: Alert) -> None: ...

    def get_alert(self, alert_id: str) -> Alert | None: ...

    def list_alerts(
        self,
        cities: Sequence[str] = (),
        kinds: Sequence[str] = (),
        statuses: Sequence[str] = (),
        since: date | None = None,
        limit: int = 500,
    ) -> list[Alert]:
        """Newest first (by start, then peak)."""
        ...

    def iter_alerts(
        self,
        cities: Sequence[str] = (),
        kinds: Sequence[str] = (),
        statuses: Sequence[str] = (),
        since: date | None = None,
        batch_size: int = 1000,
    ) -> Iterator[Alert]:
        """Every matching alert in ``list_alerts`` order, fetched ``batch_size`` at a time
        (a cursor, not one big list: for export)."""
        ...

    # -- ingest bookkeeping -------------------------------------------------------------------
    def get_fetch_state(self, url: str) -> FetchState | None: ...

    def put_fetch_state(self, state: FetchState) -> None: ...

    def get_source_health(self, source_id: str) -> SourceHealth | None: ...

    def put_source_health(self, health: SourceHealth) -> None: ...

    def list_source_health(self) -> list[SourceHealth]: ...

    def list_fetch_state(self) -> Iterable[FetchState]:
        """Every remembered fetch state, by URL (for migration)."""
        ...

    # -- key/value metadata (resume points, tagger version, …) ----------------------------
    def get_meta(self, key: str) -> str | None: ...

    def put_meta(self, key: str, value: str) -> None: ...

    def list_meta(self) -> dict[str, str]:
        """Every metadata key and value (for migration)."""
        ...


def check_aggregate_arguments(interval: str | None, group_by: Sequence[str]) -> None:
    """The arguments of Store.aggregate that every backend refuses the same way."""
    fields = get_args(GroupField)
    unknown = [g for g in group_by if g not in fields]
    if unknown:
        raise StoreError(f"cannot group by {unknown}: choose from {sorted(fields)}")
    if interval is not None and interval not in get_args(Interval):
        raise StoreError(f"unknown interval {interval!r}: choose day, week, month or None")


def market_rows(rows: Iterable[AggRow], by: Market) -> list[MarketRow]:
    """MarketRows from ``aggregate(..., interval=None, group_by=("city", by, "topic",
    "sentiment_label"))`` rows, possibly from several date slices of one period: slices of the
    same cell are summed, tones weighted by count (within one sentiment label every tagged
    article has a tone, so this equals the mean over the whole period)."""
    cells: dict[tuple[str, str, str, str], list[float]] = {}
    for row in rows:
        market = row.key[by] or UNKNOWN_MARKET
        key = (row.key["city"], market, row.key["topic"], row.key["sentiment_label"])
        acc = cells.setdefault(key, [0, 0.0, 0])
        acc[0] += row.count
        if row.mean_tone is not None:
            acc[1] += row.mean_tone * row.count
            acc[2] += row.count
    return [
        MarketRow(city=k[0], market=k[1], topic=k[2], tone=k[3], count=int(n),
                  mean_tone=(tone_sum / toned) if toned else None)
        for k, (n, tone_sum, toned) in sorted(cells.items())
    ]


def market_group(by: str) -> tuple[GroupField, ...]:
    """The aggregate() grouping behind market_aggregate (a clear error for a bad market)."""
    if by not in MARKETS:
        raise StoreError(f"unknown market {by!r}: choose country or language")
    return ("city", by, "topic", "sentiment_label")  # type: ignore[return-value]


def day_bucket(day: date, interval: Interval) -> date:
    """First day of the bucket containing ``day`` (weeks start on Monday)."""
    if interval == "day":
        return day
    if interval == "week":
        return date.fromordinal(day.toordinal() - day.weekday())
    return day.replace(day=1)


def as_datetime_bounds(filters: ArticleFilter) -> tuple[datetime | None, datetime | None]:
    """Inclusive day filters as half-open UTC datetime bounds [start, end)."""
    start = datetime.combine(filters.date_from, time(), UTC) if filters.date_from else None
    end = (
        datetime.combine(filters.date_to + timedelta(days=1), time(), UTC)
        if filters.date_to
        else None
    )
    return start, end


UPSERT_BATCH = 5000  # articles a backend writes (and checks for changes) at once


def upsert_batches(articles: Iterable[Article], size: int = UPSERT_BATCH
                   ) -> Iterator[dict[str, Article]]:
    """``upsert_articles`` input in batches keyed by id; the last copy of an id wins (an
    article without an id is kept under "" for the backend to report as failed)."""
    batch: dict[str, Article] = {}
    for article in articles:
        batch[getattr(article, "id", "") or ""] = article
        if len(batch) >= size:
            yield batch
            batch = {}
    if batch:
        yield batch


# -- encodings both backends store -------------------------------------------------------------
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_us(value: datetime | None) -> int | None:
    """Microseconds since 1970 UTC (exact integer sort key: SQLite ``pub_ts``, ES ``pub_us``);
    a naive datetime is taken as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def epoch_us_bounds(filters: ArticleFilter) -> tuple[int | None, int | None]:
    """The filter's day range as half-open epoch-microsecond bounds [start, end)."""
    start, end = as_datetime_bounds(filters)
    return epoch_us(start), epoch_us(end)


def content_hash(doc: str) -> str:
    """Hash of an article's stored JSON: an upsert of an unchanged article is skipped."""
    return hashlib.blake2b(doc.encode("utf-8"), digest_size=16).hexdigest()
