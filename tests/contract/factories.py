"""Deterministic, tagged test records for Store tests (and any stage's tests).

``make_article()`` numbers articles in call order, so ids and URLs are stable within a test;
shortcuts fill the tags: ``language``, ``cities`` (ids or {id: relevance}), ``government``
(cities mentioned only as a government metonym), ``topics`` (ids or {id: score}),
``sentiment`` (label derived unless ``sentiment_label`` is given), ``city_sentiment``.
``published_at`` also takes "YYYY-MM-DD" or an ISO datetime string.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from cityradar.records import Alert, AlertUpdate, Article, CityMention, Tags, utc

_article_numbers = itertools.count(1)

TAG_SHORTCUTS = ("language", "cities", "government", "topics", "sentiment", "sentiment_label",
                 "city_sentiment", "language_confidence", "tagger_version")


def article_id_for(url: str) -> str:
    """Stable id from the canonical URL, as the ingest stage makes them."""
    return hashlib.sha1(url.encode("utf-8")).hexdigest()[:20]


def _scores(value: Iterable[str] | Mapping[str, float], default: float) -> dict[str, float]:
    if isinstance(value, Mapping):
        return {k: float(v) for k, v in value.items()}
    return {k: default for k in value}


def label_for(sentiment: float) -> str:
    if sentiment <= -0.2:
        return "negative"
    if sentiment >= 0.2:
        return "positive"
    return "neutral"


def _when(value: datetime | date | str | None) -> datetime | None:
    if isinstance(value, str) and len(value) == 10:
        value = date.fromisoformat(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time(12, 0), UTC)
    return utc(value)


def make_tags(
    title: str,
    summary: str,
    language: str = "en",
    cities: Iterable[str] | Mapping[str, float] = ("wuhan",),
    government: Iterable[str] = (),
    topics: Iterable[str] | Mapping[str, float] = ("health",),
    sentiment: float = 0.0,
    sentiment_label: str | None = None,
    city_sentiment: Mapping[str, float] | None = None,
    language_confidence: float = 0.95,
    tagger_version: str = "test-1",
) -> Tags:
    city_scores = _scores(cities, 1.0)
    government = list(government)
    for city in government:
        city_scores.setdefault(city, 0.5)
    text = Tags.text_of(title, summary)
    mentions = []
    for city in city_scores:
        kind = "government" if city in government else "place"
        surface = city.capitalize()
        start = max(text.lower().find(city.lower()), 0)
        mentions.append(CityMention(city, surface, start, start + len(surface), kind))
    return Tags(
        language=language,
        language_confidence=language_confidence,
        mentions=mentions,
        cities=city_scores,
        topics=_scores(topics, 0.8),
        sentiment=sentiment,
        sentiment_label=sentiment_label or label_for(sentiment),  # type: ignore[arg-type]
        city_sentiment=dict(city_sentiment) if city_sentiment is not None
        else {c: sentiment for c in city_scores},
        tagger_version=tagger_version,
    )


def make_article(**overrides: Any) -> Article:
    """A tagged Article; any Article field or tag shortcut can be overridden."""
    number = next(_article_numbers)
    tag_args = {k: overrides.pop(k) for k in TAG_SHORTCUTS if k in overrides}
    url = overrides.pop("url", f"https://news.example.com/world/asia/story-{number}")
    title = overrides.pop("title", f"Story {number} about Wuhan")
    summary = overrides.pop("summary", f"Summary of story {number}.")
    published = overrides.pop("published_at", datetime(2020, 1, 15, 8, 0, tzinfo=UTC))
    values: dict[str, Any] = {
        "id": article_id_for(url),
        "url": url,
        "title": title,
        "summary": summary,
        "body": None,
        "published_at": _when(published),
        "fetched_at": datetime(2020, 6, 30, 0, 0, tzinfo=UTC),
        "outlet": "Example News",
        "domain": "news.example.com",
        "country": "US",
        "source_id": "example-rss",
        "language_hint": None,
        "voice": "foreign",
    }
    if "tags" not in overrides:
        values["tags"] = make_tags(title, summary, **tag_args)
    values.update(overrides)
    return Article(**values)


def make_alert(**overrides: Any) -> Alert:
    """A volume-surge alert for Wuhan in January 2020 with evidence, notes and history."""
    city = overrides.get("city", "wuhan")
    kind = overrides.get("kind", "volume_surge")
    start = overrides.get("start", date(2020, 1, 20))
    values: dict[str, Any] = {
        "id": f"{city}:{kind}:{start.isoformat()}:{overrides.get('language_group', 'all')}",
        "city": city,
        "kind": kind,
        "start": start,
        "peak": start,
        "end": start,
        "observed": 420.0,
        "expected": 14.5,
        "severity": 8.2,
        "language_group": "all",
        "evidence": {
            "stories": ["a1", "a2"],
            "terms": [["outbreak", 12.5], ["virus", 9.1]],
            "languages": {"en": 300, "fr": 40},
        },
        "status": "new",
        "notes": [],
        "history": [AlertUpdate(at=datetime(2020, 1, 20, 6, 0, tzinfo=UTC), what="opened")],
        "created_at": datetime(2020, 1, 20, 6, 0, tzinfo=UTC),
        "updated_at": datetime(2020, 1, 20, 6, 0, tzinfo=UTC),
    }
    values.update(overrides)
    if "peak" not in overrides:
        values["peak"] = values["start"]
    if "end" not in overrides:
        values["end"] = values["peak"]
    return Alert(**values)
