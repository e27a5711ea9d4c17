"""What drives an alert episode: stories, terms, topics, languages, outlets and its daily series.

Everything is read through Store protocol queries over the city's foreign coverage in the
episode window (place mentions only: "Beijing said..." is the government, not the city). Each
part is computed independently: a part the backend cannot answer is logged and named in
``evidence["errors"]`` and the rest is kept, so one failing query never loses an alert.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import numpy as np

from alerts.detectors import NEGATIVE_SPIKE, Detection
from search.store import ArticleFilter, SearchQuery, Store

log = logging.getLogger(__name__)

TOP_STORIES = 10
ONSET_DAYS = 3  # the first days of an episode: how it began
TOP_TERMS = 15
TOP_GROUPS = 10
SERIES_DAYS_BEFORE = 28
SERIES_DAYS_AFTER = 7


def city_filter(city: str, date_from: date | None = None, date_to: date | None = None,
                **extra: Any) -> ArticleFilter:
    """The city's foreign coverage as a place (what detection counts)."""
    return ArticleFilter(cities=[city], include_government=False, voice="foreign",
                         date_from=date_from, date_to=date_to, **extra)


def _story(article: Any, city: str) -> dict[str, Any]:
    tags = article.tags
    return {
        "id": article.id,
        "title": article.title,
        "outlet": article.outlet,
        "url": article.url,
        "published_at": article.published_at.isoformat() if article.published_at else None,
        "language": tags.language if tags else None,
        "tone": round(tags.city_sentiment.get(city, tags.sentiment), 3) if tags else None,
    }


def top_stories(store: Store, city: str, kind: str, start: date, peak: date, end: date,
                languages: tuple[str, ...] = ()) -> list[dict]:
    """The stories that drove the episode: the first reports of its onset (oldest first: how
    it began), then those around its peak. Syndicated copies are left out. For a negative
    spike only negative stories, most negative first within each phase. Each story says its
    ``phase`` ("onset" or "peak"); when those days hold too few, the rest of the window fills
    the list."""
    phases = [
        ("onset", start, min(start + timedelta(days=ONSET_DAYS - 1), end)),
        ("peak", max(peak - timedelta(days=1), start), min(peak + timedelta(days=1), end)),
        ("window", start, end),
    ]
    per_phase = TOP_STORIES // 2
    stories: list[dict] = []
    seen: set[str] = set()
    for phase, first, last in phases:
        wanted = TOP_STORIES - len(stories) if phase == "window" else per_phase
        if wanted <= 0:
            break
        window = city_filter(city, first, last, languages=languages, unique_stories=True)
        if kind == NEGATIVE_SPIKE:
            window.sentiment_labels = ["negative"]
        found = store.search(SearchQuery(filters=window, sort="oldest", limit=wanted * 3))
        picked = [{**_story(a, city), "phase": phase} for a in found.articles
                  if a.id not in seen]
        if kind == NEGATIVE_SPIKE:
            picked.sort(key=lambda s: s["tone"] if s["tone"] is not None else 0.0)
        for story in picked[:wanted]:
            seen.add(story["id"])
            stories.append(story)
    return stories


def _mix(store: Store, filters: ArticleFilter, field: str) -> dict[str, int]:
    rows = store.aggregate(filters, interval=None, group_by=(field,), size=TOP_GROUPS)  # type: ignore[arg-type]
    rows.sort(key=lambda r: -r.count)
    return {r.key.get(field, "") or "(unknown)": r.count for r in rows[:TOP_GROUPS]}


def daily_series(detection: Detection, start: date, end: date) -> list[dict[str, Any]]:
    """Observed and expected per day from a month before the episode to a week after."""
    first = max((start - detection.start).days - SERIES_DAYS_BEFORE, 0)
    last = min((end - detection.start).days + SERIES_DAYS_AFTER, len(detection.observed) - 1)
    points = []
    for i in range(first, last + 1):
        expected = detection.expected[i]
        points.append({
            "day": (detection.start + timedelta(days=i)).isoformat(),
            "observed": float(detection.observed[i]),
            "expected": None if np.isnan(expected) else round(float(expected), 3),
            "alarm": bool(detection.alarm[i]),
        })
    return points


def build_evidence(
    store: Store,
    city: str,
    kind: str,
    start: date,
    end: date,
    detection: Detection,
    baseline_days: int = 28,
    languages: tuple[str, ...] = (),
    peak: date | None = None,
) -> dict[str, Any]:
    """The evidence dict stored on an Alert (JSON-ready); ``languages`` limits it to a
    language group's languages (empty: all)."""
    window = city_filter(city, start, end, languages=languages)
    background = city_filter(city, start - timedelta(days=baseline_days),
                             start - timedelta(days=1), languages=languages)
    parts: dict[str, Callable[[], Any]] = {
        "stories": lambda: top_stories(store, city, kind, start, peak or start, end, languages),
        "terms": lambda: [
            {"term": t.term, "score": round(t.score, 3), "foreground": t.foreground,
             "background": t.background}
            for t in store.term_stats(window, background, size=TOP_TERMS)
        ],
        "topics": lambda: _mix(store, window, "topic"),
        "languages": lambda: _mix(store, window, "language"),
        "outlets": lambda: _mix(store, window, "outlet"),
    }
    evidence: dict[str, Any] = {}
    errors: list[str] = []
    for name, compute in parts.items():
        try:
            evidence[name] = compute()
        except Exception as exc:  # one failing query must not lose the alert
            log.warning("evidence %s for %s %s %s: %s", name, city, kind, start, exc)
            errors.append(f"{name}: {exc}")
            evidence[name] = []
    evidence["series"] = daily_series(detection, start, end)
    if errors:
        evidence["errors"] = errors
    return evidence
