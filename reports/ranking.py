"""A month's figures per watched city, from the store's query API alone (either backend).

``month_figures(store, month, cities)`` reads a 13-month window (the month, the eleven before
it for the trend, and the same month a year earlier for the year-over-year change) with a few
aggregations, and returns one ``CityMonth`` per city: reports in English and other languages,
unique stories (first-seen copies) and reach (every copy), month-over-month and year-over-year
change, rank and rank change, mean tone and share negative with their change, top topics (with
tone), top outlet countries, the month's alert episodes, the most-covered stories and, where
GDELT DOC timelines are stored, the share of all monitored coverage.

Coverage of a city counts it as a place: "Beijing said…" (the government) is left out, as in
alert detection. The voice (foreign / own / all) is the caller's choice.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from cityradar.records import Alert, Article
from nlp.translation import Translation, translated_title
from search.store import ArticleFilter, Store
from search.urls import http_url

log = logging.getLogger(__name__)

TREND_MONTHS = 12
TOP_TOPICS = 5
TOP_COUNTRIES = 5
TOP_STORIES = 5
VOICES = ("foreign", "own", "all")


def parse_month(text: str) -> date:
    """'2020-02' -> date(2020, 2, 1); a one-line ValueError otherwise."""
    try:
        year, month = text.strip().split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError
        return date(int(year), int(month), 1)
    except ValueError:
        raise ValueError(f"invalid month {text!r}: expected YYYY-MM, e.g. 2020-02") from None


def add_months(month: date, delta: int) -> date:
    index = month.year * 12 + month.month - 1 + delta
    return date(index // 12, index % 12 + 1, 1)


def month_end(month: date) -> date:
    return add_months(month, 1) - timedelta(days=1)


def change(now: float | None, before: float | None) -> float | None:
    """Relative change (0.25 = +25 %); None when there is nothing to compare with."""
    if now is None or not before:
        return None
    return (now - before) / before


@dataclass(slots=True)
class Story:
    id: str
    title: str
    url: str
    outlet: str
    language: str
    published: date | None
    copies: int  # articles of the story this month (first copy + syndicated copies)
    outlets: list[str]
    tone: float | None

    def __post_init__(self) -> None:
        # a link target: http(s) only, percent-encoded; "" for a stored javascript:/data: URL
        self.url = http_url(self.url) or ""


@dataclass(slots=True)
class CityMonth:
    city: str
    name: str
    zh: str
    reports: int = 0  # reach: every copy
    english: int = 0
    other: int = 0
    unique: int = 0  # unique stories (first-seen copies)
    prev_reports: int = 0
    year_ago_reports: int | None = None  # None: the store holds nothing that far back
    mom: float | None = None
    yoy: float | None = None
    rank: int = 0
    prev_rank: int | None = None
    rank_change: int | None = None  # positive = moved up
    tone: float | None = None
    prev_tone: float | None = None
    tone_change: float | None = None
    negative_share: float | None = None
    prev_negative_share: float | None = None
    negative_share_change: float | None = None  # in share points (0.1 = 10 points)
    topics: list[dict[str, Any]] = field(default_factory=list)  # topic, label, count, tone
    countries: list[dict[str, Any]] = field(default_factory=list)  # country, count
    share_of_all: float | None = None  # GDELT value / norm for the month
    alerts: list[Alert] = field(default_factory=list)
    stories: list[Story] = field(default_factory=list)
    # stored machine translations of the headlines shown (stories and alerts' leading stories),
    # by article id: shown under the original (issue 15)
    translations: dict[str, Translation] = field(default_factory=dict)
    # 12-month trend, oldest first: month, english, other, reports, tone, negative_share
    # (counts None for months before the store's first dated article)
    trend: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.name} {self.zh}".strip()


@dataclass(slots=True)
class MonthFigures:
    month: date
    voice: str
    cities: list[CityMonth]  # in rank order
    total: int
    prev_total: int
    unique_total: int
    year_ago_total: int | None
    tagger_versions: list[str]
    languages: list[tuple[str, int]]  # language, reports (the month, all cities)
    first_day: date | None  # first month holding coverage in the store (for "no data before")

    @property
    def months(self) -> list[date]:
        return [add_months(self.month, -i) for i in range(TREND_MONTHS - 1, -1, -1)]


def _filter(cities: Sequence[str], voice: str, start: date, end: date,
            **extra: Any) -> ArticleFilter:
    return ArticleFilter(cities=list(cities), include_government=False,
                         voice=None if voice == "all" else voice,
                         date_from=start, date_to=end, **extra)


def month_figures(store: Store, month: date, cities: Sequence[Any], voice: str = "foreign",
                  topic_labels: dict[str, str] | None = None,
                  timelines: dict[str, dict[date, tuple[int, int]]] | None = None,
                  with_details: bool = True) -> MonthFigures:
    """The month's figures for ``cities`` (gazetteer City records, or anything with id,
    name, zh). ``timelines`` (city -> day -> (value, norm)) gives GDELT shares;
    ``with_details`` adds topics, countries, stories and alerts (the ranking alone skips them).
    """
    if voice not in VOICES:
        raise ValueError(f"voice must be one of {', '.join(VOICES)}, got {voice!r}")
    ids = [c.id for c in cities]
    first = add_months(month, -TREND_MONTHS)  # a year before the month: the YoY comparison
    last = month_end(month)
    months = [add_months(month, -i) for i in range(TREND_MONTHS, -1, -1)]
    window = _filter(ids, voice, first, last)

    volume: dict[tuple[str, date], dict[str, int]] = defaultdict(lambda: {"en": 0, "other": 0})
    for row in store.aggregate(window, interval="month", group_by=("city", "language"),
                               size=100_000):
        part = "en" if row.key.get("language") == "en" else "other"
        volume[(row.key["city"], row.bucket)][part] += row.count  # type: ignore[index]
    tone: dict[tuple[str, date], tuple[float | None, float | None]] = {}
    for row in store.aggregate(window, interval="month", group_by=("city",), size=100_000):
        share = row.negative / row.count if row.count else None
        tone[(row.key["city"], row.bucket)] = (row.mean_tone, share)  # type: ignore[index]
    unique: dict[str, int] = {}
    for row in store.aggregate(_filter(ids, voice, month, last, unique_stories=True),
                               interval=None, group_by=("city",), size=100_000):
        unique[row.key["city"]] = row.count
    # the first month holding coverage (a rollup read, not a scan): changes against months
    # before it are "no data", not a fall from zero
    held = store.aggregate(ArticleFilter(voice=None if voice == "all" else voice),
                           interval="month", size=1)
    first_day = held[0].bucket if held else None

    prev = add_months(month, -1)
    year_ago = months[0]
    rows: list[CityMonth] = []
    for city in cities:
        cm = CityMonth(city=city.id, name=city.name, zh=getattr(city, "zh", ""))
        now = volume.get((city.id, month), {"en": 0, "other": 0})
        cm.english, cm.other = now["en"], now["other"]
        cm.reports = cm.english + cm.other
        cm.unique = unique.get(city.id, 0)
        before = volume.get((city.id, prev), {"en": 0, "other": 0})
        cm.prev_reports = before["en"] + before["other"]
        if first_day is not None and first_day <= month_end(year_ago):
            ago = volume.get((city.id, year_ago), {"en": 0, "other": 0})
            cm.year_ago_reports = ago["en"] + ago["other"]
        cm.mom = change(cm.reports, cm.prev_reports)
        cm.yoy = change(cm.reports, cm.year_ago_reports)
        cm.tone, cm.negative_share = tone.get((city.id, month), (None, None))
        cm.prev_tone, cm.prev_negative_share = tone.get((city.id, prev), (None, None))
        if cm.tone is not None and cm.prev_tone is not None:
            cm.tone_change = cm.tone - cm.prev_tone
        if cm.negative_share is not None and cm.prev_negative_share is not None:
            cm.negative_share_change = cm.negative_share - cm.prev_negative_share
        for m in months[1:]:
            t, s = tone.get((city.id, m), (None, None))
            if first_day is None or month_end(m) < first_day:  # before the store's data
                cm.trend.append({"month": m, "english": None, "other": None, "reports": None,
                                 "tone": None, "negative_share": None})
                continue
            vol = volume.get((city.id, m), {"en": 0, "other": 0})
            cm.trend.append({"month": m, "english": vol["en"], "other": vol["other"],
                             "reports": vol["en"] + vol["other"], "tone": t,
                             "negative_share": s})
        if timelines and city.id in timelines:
            days = [v for d, v in timelines[city.id].items() if month <= d <= last]
            norm = sum(n for _, n in days)
            if norm:
                cm.share_of_all = sum(v for v, _ in days) / norm
        rows.append(cm)

    _rank(rows, lambda c: c.reports, "rank")
    prev_ranks = {c.city: r for c, r in _ranks(rows, lambda c: c.prev_reports)}
    has_prev = first_day is not None and first_day <= month_end(prev)
    for cm in rows:
        if has_prev:
            cm.prev_rank = prev_ranks[cm.city]
            cm.rank_change = cm.prev_rank - cm.rank
    rows.sort(key=lambda c: c.rank)

    if with_details:
        _details(store, rows, month, last, voice, topic_labels or {})

    languages: dict[str, int] = defaultdict(int)
    for row in store.aggregate(_filter(ids, voice, month, last), interval=None,
                               group_by=("language",), size=1000):
        languages[row.key.get("language") or "und"] += row.count
    versions = _tagger_versions(store, ids, voice, month, last)
    year_ago_total = (sum(c.year_ago_reports or 0 for c in rows)
                      if any(c.year_ago_reports is not None for c in rows) else None)
    return MonthFigures(
        month=month, voice=voice, cities=rows,
        total=sum(c.reports for c in rows), prev_total=sum(c.prev_reports for c in rows),
        unique_total=sum(c.unique for c in rows), year_ago_total=year_ago_total,
        tagger_versions=versions,
        languages=sorted(languages.items(), key=lambda kv: (-kv[1], kv[0])),
        first_day=first_day,
    )


def _ranks(rows: list[CityMonth], key: Any) -> list[tuple[CityMonth, int]]:
    ordered = sorted(rows, key=lambda c: (-key(c), c.name))
    return [(c, i) for i, c in enumerate(ordered, start=1)]


def _rank(rows: list[CityMonth], key: Any, attr: str) -> None:
    for city, rank in _ranks(rows, key):
        setattr(city, attr, rank)


def _tagger_versions(store: Store, ids: Sequence[str], voice: str, start: date,
                     end: date) -> list[str]:
    """Tagger versions of the month's articles (sampled: newest and oldest pages)."""
    from search.store import SearchQuery

    versions: set[str] = set()
    for sort in ("newest", "oldest"):
        found = store.search(SearchQuery(filters=_filter(ids, voice, start, end), sort=sort,
                                         limit=50))
        versions.update(a.tags.tagger_version for a in found.articles
                        if a.tags and a.tags.tagger_version)
    return sorted(versions)


def _details(store: Store, rows: list[CityMonth], month: date, last: date, voice: str,
             topic_labels: dict[str, str]) -> None:
    ids = [c.city for c in rows]
    by_city = {c.city: c for c in rows}
    this_month = _filter(ids, voice, month, last)
    topics: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in store.aggregate(this_month, interval=None, group_by=("city", "topic"),
                               size=100_000):
        topics[row.key["city"]].append({
            "topic": row.key["topic"], "label": topic_labels.get(row.key["topic"],
                                                                 row.key["topic"]),
            "count": row.count, "tone": row.mean_tone,
            "negative_share": row.negative / row.count if row.count else None})
    countries: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in store.aggregate(this_month, interval=None, group_by=("city", "country"),
                               size=100_000):
        countries[row.key["city"]].append({"country": row.key["country"] or "unknown",
                                           "count": row.count})
    for city in ids:
        cm = by_city[city]
        cm.topics = sorted(topics[city], key=lambda t: (-t["count"], t["topic"]))[:TOP_TOPICS]
        cm.countries = sorted(countries[city],
                              key=lambda t: (-t["count"], t["country"]))[:TOP_COUNTRIES]
    # alert episodes overlapping the month
    for alert in store.list_alerts(cities=ids, since=month, limit=5000):
        if alert.start <= last and alert.end >= month and alert.city in by_city:
            by_city[alert.city].alerts.append(alert)
    for cm in rows:
        cm.alerts.sort(key=lambda a: (a.start, a.kind, a.language_group))
        leading = [str(s["id"]) for s in map(alert_story, cm.alerts) if s and s.get("id")]
        if leading:
            _add_translations(cm, store.get_articles(leading))
    # the most-covered stories (syndication clusters) per city
    for cm in rows:
        if not cm.reports:
            continue
        counted = store.top_stories(_filter([cm.city], voice, month, last), size=TOP_STORIES)
        leads = {a.id: a for a in store.get_articles([s.story for s in counted])}
        _add_translations(cm, leads.values())
        for story in counted:
            lead = leads.get(story.story)
            if lead is None:
                continue
            tags = lead.tags
            cm.stories.append(Story(
                id=lead.id, title=lead.title, url=lead.url, outlet=lead.outlet,
                language=tags.language if tags else "und",
                published=lead.published_at.date() if lead.published_at else None,
                copies=story.count, outlets=story.outlets,
                tone=tags.city_sentiment.get(cm.city, tags.sentiment) if tags else None))


def _add_translations(cm: CityMonth, articles: Iterable[Article]) -> None:
    for article in articles:
        translation = translated_title(article)
        if translation is not None:
            cm.translations[article.id] = translation


def alert_story(alert: Alert) -> dict[str, Any] | None:
    """The leading story of an alert episode (its first evidence story)."""
    for story in alert.evidence.get("stories") or []:
        if isinstance(story, dict) and story.get("title"):
            return story
    return None


def gdelt_timelines(store: Store, city_ids: Sequence[str]
                    ) -> dict[str, dict[date, tuple[int, int]]]:
    """Stored GDELT DOC timelines (value, norm per day) for the cities that have one."""
    from ingest.gdelt_doc import load_timeline

    found: dict[str, dict[date, tuple[int, int]]] = {}
    for city in city_ids:
        try:
            points = load_timeline(store, city)
        except Exception as exc:  # a bad timeline must not lose the report
            log.warning("GDELT timeline for %s unreadable: %s", city, exc)
            continue
        if points:
            found[city] = {p.day: (p.value, p.norm) for p in points}
    return found
