"""The typed records that flow between stages (see design.md, "Records").

sources -> RawItem -> ingest -> Article -> nlp -> Tags -> store -> alerts -> Alert

Records are plain dataclasses that carry their own JSON round-tripping (``Record``:
``to_dict`` / ``from_dict``, ``to_json`` / ``from_json``), so a stage can be run on JSON lines
(``cityradar tag``) and every store backend keeps them as the same documents.
Datetimes are always timezone-aware UTC; a missing publication date stays ``None``
("date unknown") rather than being guessed.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Literal, Self

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


def _day(value: date | str | None) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(value[:10])


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _nested_dict(value: Record | list[Record] | None) -> dict[str, Any] | list | None:
    if value is None:
        return None
    if isinstance(value, list):
        return [item.to_dict() for item in value]
    return value.to_dict()


def _compile_to_dict(cls: type[Record]) -> Callable[[Record], dict[str, Any]]:
    """``cls.to_dict`` as one generated dict display (as ``dataclasses`` generates ``__init__``):
    ``to_dict`` runs for every article on every upsert, and a display of attribute reads is
    faster than a loop of ``getattr`` over the field names (about a fifth, for an Article)."""
    iso = set(cls._TIMES + cls._DAYS)
    items = []
    for name in _field_names(cls):
        value = f"self.{name}"
        if name in iso:
            value = f"(None if {value} is None else {value}.isoformat())"
        elif name in cls._NESTED:
            value = f"_nested_dict({value})"
        items.append(f"{name!r}: {value}")
    namespace: dict[str, Any] = {"_nested_dict": _nested_dict}
    exec(f"def to_dict(self):\n    return {{{', '.join(items)}}}\n", namespace)
    return namespace["to_dict"]


_TO_DICT: dict[type, Callable[[Record], dict[str, Any]]] = {}  # per record class, on first use


class Record:
    """``to_dict``/``from_dict``/``to_json``/``from_json`` for the records of this module.

    ``to_dict`` gives JSON-ready values: the fields named in ``_TIMES`` (datetimes) and
    ``_DAYS`` (dates) as ISO strings, nested records (``_NESTED``: field -> record class, for
    a record or a list of records) as dicts; other values are passed as they are (not copied).
    ``from_dict`` reverses it: unknown keys are ignored, missing ones take the defaults,
    datetimes come back as aware UTC. The one serialization every backend stores.
    """

    __slots__ = ()
    _TIMES: ClassVar[tuple[str, ...]] = ()
    _DAYS: ClassVar[tuple[str, ...]] = ()
    _NESTED: ClassVar[dict[str, type[Record]]] = {}

    def to_dict(self) -> dict[str, Any]:
        to_dict = _TO_DICT.get(type(self))
        if to_dict is None:
            to_dict = _TO_DICT[type(self)] = _compile_to_dict(type(self))
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        values = {name: data[name] for name in _field_names(cls) if name in data}
        for key in cls._TIMES:
            if key in values:
                values[key] = utc(values[key])
        for key in cls._DAYS:
            if key in values:
                values[key] = _day(values[key])
        for key, record in cls._NESTED.items():
            value = values.get(key)
            if isinstance(value, list):
                values[key] = [record.from_dict(v) if isinstance(v, dict) else v for v in value]
            elif isinstance(value, dict):
                values[key] = record.from_dict(value)
        return cls(**values)

    def to_json(self) -> str:
        """The stored form: compact, keys sorted, non-ASCII kept (stable for content hashes)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Self:
        return cls.from_dict(json.loads(text))


@dataclass(slots=True)
class RawItem(Record):
    """What a source yields, before normalization."""

    _TIMES = ("published_at",)

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
class CityMention(Record):
    city: str  # city id from config/cities.yaml
    surface: str  # the text as written
    start: int  # character offsets into "title\n\nsummary" (see Tags.text_of)
    end: int
    kind: MentionKind = "place"


@dataclass(slots=True)
class Tags(Record):
    _NESTED: ClassVar[dict[str, type[Record]]] = {"mentions": CityMention}

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

    def per_city(self) -> list[tuple[str, MentionKind, float, float]]:
        """(city, kind, relevance, tone) for every city the article is about or mentions.

        A city counts as a ``place`` when any mention of it is one (a government metonym
        otherwise); a mentioned city without a relevance score gets 0.0; the tone is the
        city's own, else the article's.
        """
        kinds: dict[str, MentionKind] = {}
        for mention in self.mentions:
            if mention.kind == "place" or mention.city not in kinds:
                kinds[mention.city] = mention.kind
        relevance = dict(self.cities)
        for city in kinds:
            relevance.setdefault(city, 0.0)
        return [
            (city, kinds.get(city, "place"), float(rel),
             self.city_sentiment.get(city, self.sentiment))
            for city, rel in relevance.items()
        ]


@dataclass(slots=True)
class Article(Record):
    """A normalized, deduplicated report; ``tags`` is filled by the nlp stage."""

    _TIMES = ("published_at", "fetched_at")
    _NESTED: ClassVar[dict[str, type[Record]]] = {"tags": Tags}

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



@dataclass(slots=True)
class AlertUpdate(Record):
    _TIMES = ("at",)

    at: datetime
    what: str  # e.g. "opened", "grew", "status: acknowledged"
    note: str = ""
    by: str = ""


@dataclass(slots=True)
class Alert(Record):
    """An alert episode: one surge is one alert that grows, not one alert per day."""

    _DAYS = ("start", "peak", "end")
    _TIMES = ("created_at", "updated_at")
    _NESTED: ClassVar[dict[str, type[Record]]] = {"history": AlertUpdate}

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


@dataclass(slots=True)
class SourceHealth(Record):
    """Per-source ingest health, shown to operators."""

    _TIMES = ("last_attempt", "last_success", "last_error_at")

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
class FetchState(Record):
    """HTTP validators remembered per URL for conditional GET."""

    _TIMES = ("fetched_at",)

    url: str
    etag: str | None = None
    last_modified: str | None = None
    fetched_at: datetime | None = None
    content_hash: str | None = None
