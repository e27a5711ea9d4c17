"""The typed records that flow between stages (see design.md, "Records").

sources -> RawItem -> ingest -> Article -> nlp -> Tags -> store -> alerts -> Alert

Records are plain dataclasses with JSON round-tripping (``to_dict`` / ``from_dict``), so a
stage can be run on JSON lines (``cityradar tag``) and a backend can store them as documents.
Datetimes are always timezone-aware UTC; a missing publication date stays ``None``
("date unknown") rather than being guessed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

MentionKind = Literal["place", "government"]
SentimentLabel = Literal["negative", "neutral", "positive"]
AlertKind = Literal["volume_surge", "negative_spike"]
AlertStatus = Literal["new", "acknowledged", "resolved"]
Voice = Literal["foreign", "own"]

ALERT_KINDS: tuple[str, ...] = ("volume_surge", "negative_spike")
ALERT_STATUSES: tuple[str, ...] = ("new", "acknowledged", "resolved")
SENTIMENT_LABELS: tuple[str, ...] = ("negative", "neutral", "positive")


def utc(value: datetime | str | None) -> datetime | None:
    """Coerce a datetime or ISO string to an aware UTC datetime; naive values are taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _iso(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def _day(value: date | str | None) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(value[:10])


@dataclass(slots=True)
class RawItem:
    """What a source yields, before normalization."""

    url: str
    title: str
    summary: str = ""
    body: str | None = None
    published_at: datetime | None = None
    outlet: str = ""
    domain: str = ""
    country: str | None = None  # ISO 3166-1 alpha-2 of the outlet's country of origin
    source_id: str = ""
    language_hint: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)  # provider data, e.g. GDELT tone/themes


@dataclass(slots=True)
class CityMention:
    city: str  # city id from config/cities.yaml
    surface: str  # the text as written
    start: int  # character offsets into "title\n\nsummary" (see Tags.text_of)
    end: int
    kind: MentionKind = "place"


@dataclass(slots=True)
class Tags:
    language: str = "und"
    language_confidence: float = 0.0
    mentions: list[CityMention] = field(default_factory=list)
    cities: dict[str, float] = field(default_factory=dict)  # city id -> relevance in [0, 1]
    topics: dict[str, float] = field(default_factory=dict)  # topic id -> score in [0, 1]
    sentiment: float = 0.0  # article tone in [-1, 1]
    sentiment_label: SentimentLabel = "neutral"
    city_sentiment: dict[str, float] = field(default_factory=dict)  # city id -> tone in [-1, 1]
    tagger_version: str = ""

    @staticmethod
    def text_of(title: str, summary: str) -> str:
        """The text that mention offsets refer to."""
        return f"{title}\n\n{summary}" if summary else title

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tags:
        data = dict(data)
        data["mentions"] = [CityMention(**m) for m in data.get("mentions", [])]
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(slots=True)
class Article:
    """A normalized, deduplicated report; ``tags`` is filled by the nlp stage."""

    id: str  # stable: hash of the canonical URL
    url: str  # canonical URL
    title: str
    summary: str = ""
    body: str | None = None
    published_at: datetime | None = None  # UTC; None = date unknown
    fetched_at: datetime | None = None  # UTC
    outlet: str = ""
    domain: str = ""
    country: str | None = None
    source_id: str = ""
    language_hint: str | None = None
    voice: Voice = "foreign"  # "own" for a city's or China's own foreign-language channels
    dup_of: str | None = None  # id of the first-seen copy of a syndicated story
    cluster_id: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    tags: Tags | None = None

    @property
    def day(self) -> date | None:
        return self.published_at.date() if self.published_at else None

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["published_at"] = _iso(self.published_at)
        data["fetched_at"] = _iso(self.fetched_at)
        data["tags"] = self.tags.to_dict() if self.tags else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["published_at"] = utc(values.get("published_at"))
        values["fetched_at"] = utc(values.get("fetched_at"))
        tags = values.get("tags")
        values["tags"] = Tags.from_dict(tags) if isinstance(tags, dict) else tags
        values.setdefault("extras", {})
        return cls(**values)


@dataclass(slots=True)
class AlertUpdate:
    at: datetime
    what: str  # e.g. "opened", "grew", "status: acknowledged"
    note: str = ""
    by: str = ""


@dataclass(slots=True)
class Alert:
    """An alert episode: one surge is one alert that grows, not one alert per day."""

    id: str  # stable: city + kind + start (+ language group)
    city: str
    kind: AlertKind
    start: date
    peak: date
    end: date
    observed: float  # count (or negative count) on the peak day
    expected: float  # baseline expectation for the peak day
    severity: float  # detector score; higher = more severe
    language_group: str = "all"  # "all", "en", "other"
    evidence: dict[str, Any] = field(default_factory=dict)  # stories, terms, topics, languages…
    status: AlertStatus = "new"
    notes: list[str] = field(default_factory=list)
    history: list[AlertUpdate] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for key in ("start", "peak", "end", "created_at", "updated_at"):
            data[key] = _iso(getattr(self, key))
        data["history"] = [
            {**dataclasses.asdict(h), "at": _iso(h.at)} for h in self.history
        ]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("start", "peak", "end"):
            values[key] = _day(values[key])
        for key in ("created_at", "updated_at"):
            values[key] = utc(values.get(key))
        values["history"] = [
            AlertUpdate(**{**h, "at": utc(h["at"])}) for h in values.get("history", [])
        ]
        return cls(**values)


@dataclass(slots=True)
class SourceHealth:
    """Per-source ingest health, shown to operators."""

    source_id: str
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    items_seen: int = 0  # items in the last successful fetch
    items_new: int = 0  # new articles stored from the last successful fetch
    total_items: int = 0  # new articles stored from this source, ever
    consecutive_failures: int = 0
    last_warning: str | None = None  # e.g. items stored as "date unknown" on the last fetch


@dataclass(slots=True)
class FetchState:
    """HTTP validators remembered per URL for conditional GET."""

    url: str
    etag: str | None = None
    last_modified: str | None = None
    fetched_at: datetime | None = None
    content_hash: str | None = None
