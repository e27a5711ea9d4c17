"""Cached query helpers: the UI's only way to the data, through the Store query API.

Every helper takes the store URL plus plain, hashable parameters so ``st.cache_data`` can key
on them; filters travel as ``FilterKey`` tuples (see ``filter_key``). Results are cached for
``CACHE_TTL`` seconds so page loads stay fast while fresh data still shows up quickly.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import fields, replace
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from cityradar.records import Alert, Article, SourceHealth
from search import ArticleFilter, SearchQuery, SearchResult, Store, open_store
from search.store import GroupField, Interval

log = logging.getLogger(__name__)

STORE_ENV = "CITYRADAR_STORE"
CACHE_TTL = 30  # seconds
HEALTH_TTL = 10

FilterKey = tuple[tuple[str, Any], ...]


def store_url() -> str:
    from cityradar.settings import Settings

    return os.environ.get(STORE_ENV) or Settings.resolve().store_url


def config_dir() -> Path:
    from cityradar.config import default_config_dir

    return default_config_dir()


@st.cache_resource(show_spinner=False)
def get_store(url: str) -> Store:
    """One open store per URL for the whole server (opening failures are not cached)."""
    return open_store(url)


def filter_key(filters: ArticleFilter | None = None, **overrides: Any) -> FilterKey:
    """A hashable form of an ArticleFilter (sequences become tuples)."""
    base = filters or ArticleFilter()
    if overrides:
        base = replace(base, **overrides)
    items = []
    for spec in fields(ArticleFilter):
        value = getattr(base, spec.name)
        if isinstance(value, list | tuple):
            value = tuple(value)
        items.append((spec.name, value))
    return tuple(items)


def to_filter(key: FilterKey | None) -> ArticleFilter:
    return ArticleFilter(**dict(key)) if key else ArticleFilter()


# -- health -------------------------------------------------------------------------------


@st.cache_data(ttl=HEALTH_TTL, show_spinner=False)
def store_health(url: str) -> dict[str, Any]:
    """The store's health; an unopenable store is reported as not ok instead of raising."""
    try:
        health = dict(get_store(url).health())
    except Exception as exc:  # any backend failure must become a visible warning
        log.warning("store %s unreachable: %s", url, exc)
        return {"ok": False, "backend": url.split(":", 1)[0], "detail": f"{exc}"}
    health.setdefault("ok", False)
    health.setdefault("detail", "")
    return health


# -- alerts ---------------------------------------------------------------------------------


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def list_alerts(
    url: str,
    cities: tuple[str, ...] = (),
    kinds: tuple[str, ...] = (),
    statuses: tuple[str, ...] = (),
    since: date | None = None,
    limit: int = 500,
) -> list[Alert]:
    return get_store(url).list_alerts(
        cities=cities, kinds=kinds, statuses=statuses, since=since, limit=limit
    )


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def get_alert(url: str, alert_id: str) -> Alert | None:
    return get_store(url).get_alert(alert_id)


def triage_alert(url: str, alert_id: str, status: str, note: str, by: str = "ui") -> Alert:
    """Set an alert's status with a note, by the same rules as `cityradar alerts ack/resolve`
    (alerts.episodes.transition; a TransitionError says why not), recorded as ``by``."""
    from alerts.episodes import transition

    store = get_store(url)
    alert = store.get_alert(alert_id)
    if alert is None:
        raise LookupError(f"alert {alert_id} no longer exists")
    alert = transition(alert, status, note=note.strip(), by=by)
    store.upsert_alert(alert)
    list_alerts.clear()
    get_alert.clear()
    return alert


# -- articles and aggregations ------------------------------------------------------------------


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def get_articles(url: str, article_ids: tuple[str, ...]) -> list[Article]:
    return get_store(url).get_articles(list(article_ids)) if article_ids else []


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def search(
    url: str,
    text: str,
    filters: FilterKey,
    sort: str = "newest",
    limit: int = 20,
    offset: int = 0,
) -> SearchResult:
    query = SearchQuery(
        text=text, filters=to_filter(filters), sort=sort, limit=limit, offset=offset  # type: ignore[arg-type]
    )
    return get_store(url).search(query)


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def count(url: str, filters: FilterKey) -> int:
    return get_store(url).count(to_filter(filters))


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def date_range(url: str, filters: FilterKey | None = None) -> tuple[date, date] | None:
    return get_store(url).date_range(to_filter(filters))


AGG_COLUMNS = ["bucket", "count", "mean_tone", "negative"]


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def aggregate(
    url: str,
    filters: FilterKey,
    interval: Interval | None = "day",
    group_by: tuple[GroupField, ...] = (),
    size: int = 1000,
) -> pd.DataFrame:
    """Aggregation rows as a frame: bucket, one column per group field, count, tone, negative."""
    rows = get_store(url).aggregate(
        to_filter(filters), interval=interval, group_by=group_by, size=size
    )
    records = [
        {
            "bucket": pd.Timestamp(row.bucket) if row.bucket else None,
            **{name: row.key.get(name, "") for name in group_by},
            "count": row.count,
            "mean_tone": row.mean_tone,
            "negative": row.negative,
        }
        for row in rows
    ]
    frame = pd.DataFrame.from_records(records, columns=[*AGG_COLUMNS[:1], *group_by,
                                                        *AGG_COLUMNS[1:]])
    frame["count"] = frame["count"].astype(int)
    frame["negative"] = frame["negative"].astype(int)
    frame["mean_tone"] = frame["mean_tone"].astype(float)
    return frame


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def term_stats(
    url: str, foreground: FilterKey, background: FilterKey | None = None, size: int = 20
) -> pd.DataFrame:
    stats = get_store(url).term_stats(
        to_filter(foreground), to_filter(background) if background else None, size=size
    )
    return pd.DataFrame(
        [(s.term, s.foreground, s.background, s.score) for s in stats],
        columns=["term", "foreground", "background", "score"],
    )


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def source_health(url: str) -> list[SourceHealth]:
    return get_store(url).list_source_health()


# -- configuration ----------------------------------------------------------------------------


@st.cache_data(ttl=300, show_spinner=False)
def city_names(config: str) -> dict[str, str]:
    """City id -> display name ("Wuhan 武汉"); empty when the gazetteer cannot be loaded."""
    try:
        from nlp.gazetteer import load_cities

        cities = load_cities(Path(config))
    except Exception as exc:  # the UI still works with bare ids
        log.warning("city names unavailable from %s: %s", config, exc)
        return {}
    return {c.id: f"{c.name} {c.zh}".strip() for c in cities}


def city_label(city_id: str, names: dict[str, str]) -> str:
    return names.get(city_id) or city_id.replace("_", " ").title()


@st.cache_data(ttl=300, show_spinner=False)
def topic_info(config: str) -> dict[str, tuple[str, str]]:
    """Topic id -> (label, kind "opportunity" | "risk" | "neutral") from config/topics.yaml."""
    from nlp.topics import load_topics

    try:
        return {t.id: (t.label, t.kind) for t in load_topics(Path(config))}
    except Exception as exc:  # the page still works with bare ids
        log.warning("topics unavailable: %s", exc)
        return {}


def topic_label(topic_id: str, info: dict[str, tuple[str, str]]) -> str:
    return info.get(topic_id, (topic_id, ""))[0]


# -- alert evidence (tolerant of the detector's evidence layout) -------------------------------


def evidence_story_ids(evidence: dict[str, Any]) -> list[str]:
    """Article ids named by an alert's evidence ("stories": ids or dicts with "id")."""
    stories = evidence.get("stories") or evidence.get("top_stories") or []
    ids: list[str] = []
    for story in stories:
        if isinstance(story, str):
            ids.append(story)
        elif isinstance(story, dict) and story.get("id"):
            ids.append(str(story["id"]))
    return ids


def evidence_story_dicts(evidence: dict[str, Any]) -> list[dict[str, Any]]:
    stories = evidence.get("stories") or evidence.get("top_stories") or []
    return [s for s in stories if isinstance(s, dict)]


def evidence_mix(evidence: dict[str, Any], key: str) -> pd.DataFrame:
    """An evidence breakdown (topics, languages, outlets…) as a frame of name, count.

    Accepts {name: count}, [[name, count], …], [{"name"|"id"|<key>: …, "count": …}, …] or
    a plain list of names.
    """
    raw = evidence.get(key)
    pairs: list[tuple[str, float]] = []
    if isinstance(raw, dict):
        pairs = [(str(k), _number(v)) for k, v in raw.items()]
    elif isinstance(raw, list):
        for item in raw:
            if isinstance(item, dict):
                name = next((item[k] for k in ("name", "id", "term", key.rstrip("s"), "key",
                                               "value") if k in item), None)
                value = next((item[k] for k in ("count", "score", "n", "share") if k in item), 1)
                if name is not None:
                    pairs.append((str(name), _number(value)))
            elif isinstance(item, list | tuple) and item:
                pairs.append((str(item[0]), _number(item[1]) if len(item) > 1 else 1.0))
            elif isinstance(item, str):
                pairs.append((item, 1.0))
    frame = pd.DataFrame(pairs, columns=["name", "count"])
    return frame.sort_values("count", ascending=False, kind="stable").reset_index(drop=True)


def _number(value: Any) -> float:
    if isinstance(value, dict):
        value = value.get("count", value.get("score", 0))
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def tone_word(score: float | None) -> str:
    if score is None:
        return "n/a"
    if score <= -0.05:
        return f"negative ({score:+.2f})"
    if score >= 0.05:
        return f"positive ({score:+.2f})"
    return f"neutral ({score:+.2f})"


def sidebar_window() -> tuple[date | None, date | None]:
    """The date range chosen in the sidebar (inclusive days), or (None, None) for all."""
    window = st.session_state.get("window")
    if isinstance(window, tuple | list) and len(window) == 2:
        return window[0], window[1]
    return None, None


def show_failure(what: str, exc: BaseException) -> None:
    """Log a page failure with its traceback and show the operator a one-line error."""
    log.exception("%s failed", what)
    from ui.safe import md, redacted

    first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    st.error(f"{what} failed: {md(redacted(store_url(), first_line))}")


def unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


# -- planner (reports/planner.py through the store) ---------------------------------------------


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def planner_plan(url: str, config: str, cities: tuple[str, ...], start: date, end: date,
                 compare_start: date | None, compare_end: date | None, by: str,
                 top_markets: int) -> Any:
    """The planners' topic x market matrix with changes (reports.planner.Plan)."""
    from reports.planner import build_plan, topic_catalog

    return build_plan(get_store(url), cities, start, end, compare_start, compare_end,
                      by=by, top_markets=top_markets,  # type: ignore[arg-type]
                      topics=topic_catalog(Path(config)))


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def planner_headlines(url: str, plan: Any, city: str, market: str, topic: str,
                      limit: int = 100) -> pd.DataFrame:
    """A matrix cell's headlines as a table (text only)."""
    from reports.planner import headlines

    return pd.DataFrame(headlines(get_store(url), plan, city, market, topic, limit),
                        columns=["date", "headline", "outlet", "country", "language", "tone",
                                 "tone_score", "url", "translation"])


@st.cache_data(ttl=CACHE_TTL, show_spinner=False)
def planner_pickups(url: str, config: str, city: str, start: date, end: date) -> list[Any]:
    """The city's own-voice stories picked up abroad (reports.pickups.Pickup)."""
    from reports.pickups import find_pickups

    return find_pickups(get_store(url), city, start, end, config_dir=Path(config))
