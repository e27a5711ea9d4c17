"""Running detection over the store: stored coverage -> daily counts per city and language group
-> the detectors (alerts/detectors.py, the algorithms) -> alert episodes upserted as ``Alert``.

Idempotent: an episode's id is ``city:kind:start:group``, so re-running detection over the
same data writes nothing. An episode that grows (later end, bigger peak) or closes is updated
with a history entry; analysts' status and notes are kept, and a resolved episode that grows
again is reopened (-> acknowledged).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path

from alerts.detectors import (
    DailySeries,
    Detection,
    DetectorConfig,
    detect_all,
)
from alerts.episodes import Episode
from alerts.evidence import build_evidence
from cityradar.records import Alert, AlertUpdate
from search.store import ArticleFilter, Store

log = logging.getLogger(__name__)

ALL_LANGUAGES = "all"  # the language group of every language together


def language_group_of(language: str) -> str:
    """"en" for English, "other" for every other (or unknown) language."""
    return "en" if language == "en" else "other"


def alert_id(city: str, kind: str, start: date, language_group: str = ALL_LANGUAGES) -> str:
    return f"{city}:{kind}:{start.isoformat()}:{language_group}"


def _as_day(value: date | datetime | None) -> date | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    return value


@dataclass(slots=True)
class GroupSeries:
    """One language group's daily series per city, and the languages it is made of."""

    series: dict[str, DailySeries]
    languages: set[str] = field(default_factory=set)


def group_series(store: Store, until: date | None = None,
                 groups: tuple[str, ...] = (ALL_LANGUAGES,)) -> dict[str, GroupSeries]:
    """Daily foreign coverage per language group and city (place mentions only).

    Every group shares one day range: from the first stored day to ``until`` (default: the
    last stored day); days without articles are 0. Groups other than "all" sum the
    per-language counts of ``store.aggregate(group_by=("city", "language"))``.
    """
    by_language = any(group != ALL_LANGUAGES for group in groups)
    rows = store.aggregate(
        ArticleFilter(include_government=False, voice="foreign"),
        interval="day",
        group_by=("city", "language") if by_language else ("city",),
        size=100_000,
    )
    counts: dict[tuple[str, str], dict[date, float]] = defaultdict(lambda: defaultdict(float))
    negative: dict[tuple[str, str], dict[date, float]] = defaultdict(lambda: defaultdict(float))
    languages: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        city = row.key.get("city")
        if not city or row.bucket is None:
            continue
        language = row.key.get("language") or "und"
        for group in groups:
            if group != ALL_LANGUAGES and group != language_group_of(language):
                continue
            counts[(group, city)][row.bucket] += float(row.count)
            negative[(group, city)][row.bucket] += float(row.negative)
            languages[group].add(language)
    if not counts:
        return {}
    first = min(min(days) for days in counts.values())
    last = until or max(max(days) for days in counts.values())
    if last < first:
        return {}
    result = {group: GroupSeries({}, languages[group]) for group in groups}
    for (group, city), by_day in sorted(counts.items()):
        result[group].series[city] = DailySeries.from_days(
            by_day, negative[(group, city)], start=first, end=last
        )
    return result


def _fresh_alert(city: str, episode: Episode, evidence: dict, at: datetime,
                 language_group: str = ALL_LANGUAGES) -> Alert:
    return Alert(
        id=alert_id(city, episode.kind, episode.start, language_group),
        city=city,
        kind=episode.kind,  # type: ignore[arg-type]
        start=episode.start,
        peak=episode.peak,
        end=episode.end,
        observed=float(episode.observed),
        expected=round(float(episode.expected), 4),
        severity=round(float(episode.severity), 4),
        language_group=language_group,
        evidence={**evidence, "open": episode.is_open, "alarm_days": episode.alarm_days},
        history=[AlertUpdate(at=at, what="opened", by="detector")],
        created_at=at,
        updated_at=at,
    )


def _signature(alert: Alert) -> tuple:
    return (alert.peak, alert.end, alert.observed, alert.expected, alert.severity,
            alert.evidence.get("open"), alert.evidence.get("alarm_days"))


def merge_episode(existing: Alert | None, fresh: Alert) -> tuple[Alert | None, str]:
    """(alert to store or None when nothing changed, what happened: opened|grew|closed|...)."""
    if existing is None:
        return fresh, "opened"
    if _signature(existing) == _signature(fresh):
        return None, "unchanged"
    at = fresh.updated_at or datetime.now(UTC)
    grew = fresh.end > existing.end or fresh.observed > existing.observed
    if grew:
        what = f"grew: peak {fresh.peak} ({fresh.observed:g} vs {fresh.expected:g} expected), " \
               f"end {fresh.end}"
    elif existing.evidence.get("open") and not fresh.evidence.get("open"):
        what = f"closed: ended {fresh.end}"
    else:
        what = "updated"
    history = [*existing.history, AlertUpdate(at=at, what=what, by="detector")]
    status = existing.status
    if grew and status == "resolved":
        status = "acknowledged"
        history.append(AlertUpdate(at=at, what="status: acknowledged",
                                   note="reopened: the episode grew after it was resolved",
                                   by="detector"))
    merged = replace(
        fresh,
        status=status,
        notes=list(existing.notes),
        history=history,
        created_at=existing.created_at or fresh.created_at,
    )
    return merged, what.split(":", 1)[0]


def detect_cities(series_by_city: dict[str, DailySeries],
                  config: DetectorConfig) -> dict[str, list[Detection]]:
    """Both detectors over every city's series (the same code path as the backtest)."""
    return {city: detect_all(series, config) for city, series in series_by_city.items()}


def update_alerts(
    store: Store,
    config_dir: Path,
    since: date | None = None,
    now: date | datetime | None = None,
) -> list[Alert]:
    """Detect over all stored coverage and upsert alert episodes; returns those written.

    Runs per language group in ``language_groups`` of alerts.yaml ("all", "en", "other").
    ``since`` keeps only episodes still running on or after that day (their baselines still
    use the full history); ``now`` ends the series (default: the last day with articles).
    Each returned alert's last history entry says what happened (opened / grew / closed).
    """
    config = DetectorConfig.load(config_dir)
    by_group = group_series(store, until=_as_day(now), groups=config.language_groups)
    written: list[Alert] = []
    for group, found in by_group.items():
        languages = () if group == ALL_LANGUAGES else tuple(sorted(found.languages))
        for city, detections in detect_cities(found.series, config).items():
            for detection in detections:
                for episode in detection.episodes:
                    if since is not None and episode.end < since:
                        continue
                    try:
                        alert = _upsert_episode(store, city, episode, detection, config, group,
                                                languages)
                    except Exception:  # one city's failure must not stop the others
                        log.exception("alert %s for %s (%s) from %s not stored", episode.kind,
                                      city, group, episode.start)
                        continue
                    if alert is not None:
                        written.append(alert)
    return written


def _upsert_episode(store: Store, city: str, episode: Episode, detection: Detection,
                    config: DetectorConfig, group: str = ALL_LANGUAGES,
                    languages: tuple[str, ...] = ()) -> Alert | None:
    at = datetime.now(UTC)
    existing = store.get_alert(alert_id(city, episode.kind, episode.start, group))
    candidate = _fresh_alert(city, episode, {}, at, group)
    if existing is not None and _signature(existing) == _signature(candidate):
        return None
    evidence = build_evidence(store, city, episode.kind, episode.start, episode.end, detection,
                              config.baseline.days, languages, peak=episode.peak)
    fresh = _fresh_alert(city, episode, evidence, at, group)
    merged, what = merge_episode(existing, fresh)
    if merged is None:
        return None
    store.upsert_alert(merged)
    log.info("alert %s %s", merged.id, what)
    return merged


def summarize(alerts: list[Alert]) -> dict[str, int]:
    """Counts of what happened per written alert: {"opened": n, "grew": n, ...}."""
    summary: dict[str, int] = defaultdict(int)
    for alert in alerts:
        what = alert.history[-1].what if alert.history else "updated"
        if what.startswith("status:"):  # a reopen follows the "grew" entry
            what = alert.history[-2].what
        summary[what.split(":", 1)[0]] += 1
    return dict(summary)
