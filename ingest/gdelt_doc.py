"""GDELT DOC 2.0 API source: articles (ArtList) and daily volumes (TimelineVolRaw) per city.

Per city, the query is the city's name variants, quoted and OR-ed (short or ambiguous variants
left out, long lists split into several queries under GDELT's query length limit), optionally
restricted per configured source language / country (``sourcelang:`` / ``sourcecountry:``).

* ArtList (mode=ArtList, format=json, maxrecords=250) is paged by time window: a window that
  returns the 250-record cap is split in halves until it does not (or reaches the minimum
  window), so a busy day is not cut at 250 articles.
* Requests go through ``ingest.fetch.Fetcher`` with one request in flight to GDELT and at least
  ``min_interval_s`` between two; 429/5xx are retried with backoff (Retry-After honoured).
* Resume: after each completed window the city's resume point (UTC ISO datetime) is stored in
  the store's meta under ``gdelt_doc:resume:<city>``; the next run starts there.
* Timeline: TimelineVolRaw's daily ``value`` (matching articles) and ``norm`` (all articles
  GDELT monitored that day) are kept as JSON in meta under ``gdelt_doc:timeline:<city>``:
  ``{"YYYY-MM-DD": {"value": int, "norm": int}, ...}``; read with ``load_timeline``, so a
  city's volume can be shown as a share of all coverage.

Public: ``GdeltDocConfig.load(config_dir)``, ``build_queries(city, config)``,
``parse_artlist(payload, city_id)``, ``parse_timeline(payload)``, ``GdeltDocSource``
(``fetch_city``, ``fetch_cities``), ``load_timeline(store, city_id)``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Protocol
from urllib.parse import urlencode

from pydantic import Field

from cityradar.config import ConfigModel, build, load_yaml, schema_for, validate
from cityradar.records import Article, RawItem, SourceHealth
from ingest.fetch import Fetcher
from ingest.gdelt_files import apply_gdelt_cities
from ingest.normalize import drop_repeated_urls, normalize_item
from ingest.sources import FetchOptions, search_forms
from search.store import Store

log = logging.getLogger(__name__)

CONFIG_FILE = "gdelt.yaml"
DEFAULT_BASE_URL = "https://api.gdeltproject.org/api/v2/doc/doc"
MAX_RECORDS = 250
RESUME_KEY = "gdelt_doc:resume:{city}"
TIMELINE_KEY = "gdelt_doc:timeline:{city}"
GDELT_TIME = "%Y%m%d%H%M%S"
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")

Tagger = Callable[[list[Article]], list[Article]]


class GdeltError(RuntimeError):
    """GDELT answered with an error (HTTP failure or a plain-text message instead of JSON)."""


class CityLike(Protocol):
    id: str
    name: str
    names: Mapping[str, Sequence[str]]
    historical: Sequence[str]
    ambiguous_forms: Sequence[str]


@dataclass(slots=True)
class GdeltDocConfig:
    base_url: str = DEFAULT_BASE_URL
    min_interval_s: float = 5.0  # GDELT asks for at most one request every 5 seconds
    retries: int = 3
    backoff_s: float = 5.0
    timeout_s: float = 60.0
    max_query_chars: int = 400
    min_name_chars: int = 4  # shorter Latin/Cyrillic/… variants are too ambiguous to search
    min_cjk_name_chars: int = 2
    languages: list[str] = field(default_factory=list)  # sourcelang: values; one query each
    countries: list[str] = field(default_factory=list)  # sourcecountry: values; one query each
    exclude_countries: list[str] = field(default_factory=list)  # -sourcecountry: on every query
    max_records: int = MAX_RECORDS  # ArtList's cap per request (250 is GDELT's maximum)
    window_hours: float = 24.0  # first pagination window
    min_window_minutes: float = 15.0  # GDELT's time resolution; a capped window this small stays
    lookback_days: int = 7  # start of a city's first run (the API covers about 3 months)
    country_codes: dict[str, str] = field(default_factory=dict)  # GDELT country name -> ISO2

    @classmethod
    def load(cls, config_dir: Path | str) -> GdeltDocConfig:
        """The ``doc:`` section of config/gdelt.yaml (defaults when the file is absent)."""
        path = Path(config_dir) / CONFIG_FILE
        if not path.exists():
            return cls()
        data = validate(GdeltFile, load_yaml(path), path)
        config = build(cls, data.doc)
        config.country_codes = {k.lower(): v.upper() for k, v in data.country_codes.items()}
        return config


DocSchema = schema_for(GdeltDocConfig, exclude=("country_codes",),
                       min_interval_s=Annotated[float, Field(ge=0)],
                       window_hours=Annotated[float, Field(gt=0)])


class GdeltFile(ConfigModel):
    """gdelt.yaml; its ``files:`` section is validated by BackfillConfig (ingest/backfill.py,
    which validates this whole file first)."""

    doc: DocSchema = Field(default_factory=DocSchema)  # type: ignore[valid-type]
    files: dict[str, Any] | None = None
    country_codes: dict[str, str] = Field(default_factory=dict)


@dataclass(slots=True)
class TimelinePoint:
    day: date
    value: int  # matching articles that day
    norm: int  # all articles GDELT monitored that day

    @property
    def share(self) -> float:
        return self.value / self.norm if self.norm else 0.0


def _searchable(form: str, config: GdeltDocConfig) -> bool:
    if _CJK.search(form):
        return len(form) >= config.min_cjk_name_chars
    return len(form.replace(" ", "")) >= config.min_name_chars


def build_queries(city: CityLike, config: GdeltDocConfig) -> list[str]:
    """The city's name variants, quoted and OR-ed, in chunks under ``max_query_chars``.

    Ambiguous forms (config/cities.yaml ``ambiguous_forms``) and very short ones are left out.
    Each chunk is one query; GDELT only allows parentheses around OR-ed terms.
    """
    forms = [form for form in search_forms(
        city, [city.name, *city.historical, *(f for fs in city.names.values() for f in fs)])
        if _searchable(form, config)]
    suffix = "".join(f" -sourcecountry:{c}" for c in config.exclude_countries)
    budget = config.max_query_chars - len(suffix) - 2
    chunks: list[list[str]] = [[]]
    for form in forms:
        term = f'"{form}"'
        current = chunks[-1]
        if current and len(" OR ".join([*current, term])) > budget:
            chunks.append([])
        chunks[-1].append(term)
    queries = []
    for chunk in chunks:
        if chunk:
            body = chunk[0] if len(chunk) == 1 else "(" + " OR ".join(chunk) + ")"
            queries.append(body + suffix)
    return queries


def _filters(config: GdeltDocConfig) -> list[str]:
    filters = [f"sourcelang:{lang}" for lang in config.languages]
    filters += [f"sourcecountry:{country}" for country in config.countries]
    return filters or [""]


def _decode(content: bytes | None) -> Any:
    text = (content or b"").decode("utf-8", errors="replace").strip()
    if not text:
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        # GDELT answers bad queries and rate-limit breaches with a plain-text sentence.
        raise GdeltError(f"GDELT: {text.splitlines()[0][:200]}") from exc


def _parse_seendate(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def _language_code(name: str) -> str | None:
    from lingua import Language

    try:
        return Language.from_str(name).iso_code_639_1.name.lower()
    except (ValueError, AttributeError):
        return None


def parse_artlist(payload: Any, city_id: str, country_codes: Mapping[str, str] | None = None,
                  ) -> list[RawItem]:
    """RawItems from an ArtList result: the API's ``{"articles": [...]}`` or a saved list."""
    articles = payload.get("articles", []) if isinstance(payload, dict) else payload
    if not isinstance(articles, list):
        raise GdeltError("ArtList: expected a list of articles")
    codes = country_codes or {}
    items: list[RawItem] = []
    for entry in articles:
        if not isinstance(entry, dict) or not entry.get("url"):
            log.warning("gdelt doc: skipping article without url: %.100r", entry)
            continue
        language = str(entry.get("language") or "")
        country = str(entry.get("sourcecountry") or "")
        items.append(RawItem(
            url=str(entry["url"]),
            title=str(entry.get("title") or ""),
            published_at=_parse_seendate(str(entry.get("seendate") or "")),
            outlet=str(entry.get("domain") or ""),
            domain=str(entry.get("domain") or ""),
            country=codes.get(country.lower()),
            source_id=f"gdelt-doc:{city_id}",
            language_hint=_language_code(language) if language else None,
            extras={"gdelt": {
                "kind": "doc",
                "cities": [city_id],
                "language": language,
                "sourcecountry": country,
                "seendate": entry.get("seendate"),
                "socialimage": entry.get("socialimage") or None,
            }},
        ))
    return items


def parse_timeline(payload: Any) -> list[TimelinePoint]:
    """Daily points of a TimelineVolRaw result (the API's object, or one wrapped in
    ``{"results": [...]}`` as some tools save it); several series are summed by day."""
    if isinstance(payload, dict) and "results" in payload:
        results = payload["results"]
    else:
        results = [payload]
    by_day: dict[date, TimelinePoint] = {}
    for result in results:
        for series in (result or {}).get("timeline", []):
            for point in series.get("data", []):
                when = _parse_seendate(str(point.get("date")))
                if when is None:
                    raise GdeltError(f"TimelineVolRaw: bad date {point.get('date')!r}")
                day = when.date()
                value, norm = int(point.get("value") or 0), int(point.get("norm") or 0)
                if day in by_day:
                    by_day[day].value += value
                    by_day[day].norm = max(by_day[day].norm, norm)
                else:
                    by_day[day] = TimelinePoint(day, value, norm)
    return [by_day[d] for d in sorted(by_day)]


def load_timeline(store: Store, city_id: str) -> list[TimelinePoint]:
    """The stored daily volumes of a city, oldest first."""
    raw = store.get_meta(TIMELINE_KEY.format(city=city_id))
    data = json.loads(raw) if raw else {}
    return [TimelinePoint(date.fromisoformat(d), v["value"], v["norm"])
            for d, v in sorted(data.items())]


def _save_timeline(store: Store, city_id: str, points: Sequence[TimelinePoint]) -> None:
    key = TIMELINE_KEY.format(city=city_id)
    raw = store.get_meta(key)
    data: dict[str, dict[str, int]] = json.loads(raw) if raw else {}
    for point in points:
        data[point.day.isoformat()] = {"value": point.value, "norm": point.norm}
    store.put_meta(key, json.dumps(dict(sorted(data.items())), separators=(",", ":")))


@dataclass(slots=True)
class CityFetchReport:
    city: str
    requests: int = 0
    seen: int = 0
    new: int = 0
    windows: int = 0
    timeline_days: int = 0
    resumed_from: datetime | None = None
    until: datetime | None = None
    error: str | None = None


def _windows(start: datetime, end: datetime, hours: float) -> Iterator[tuple[datetime, datetime]]:
    step = timedelta(hours=hours)
    cursor = start
    while cursor < end:
        upper = min(cursor + step, end)
        yield cursor, upper
        cursor = upper


class GdeltDocSource:
    """Pulls ArtList and TimelineVolRaw from the DOC API into a store."""

    def __init__(self, config: GdeltDocConfig, store: Store, tagger: Tagger | None = None,
                 fetcher: Fetcher | None = None) -> None:
        self.config = config
        self.store = store
        self.tagger = tagger
        self._own_fetcher = fetcher is None
        self.fetcher = fetcher or Fetcher(FetchOptions(
            user_agent="CityRadar/0.1 (overseas public-opinion monitor; GDELT DOC API)",
            timeout_s=config.timeout_s,
            retries=config.retries,
            backoff_s=config.backoff_s,
            max_bytes=50_000_000,
            per_host_delay_s=config.min_interval_s,
            per_host_concurrency=1,
            concurrency=1,
        ))

    def close(self) -> None:
        if self._own_fetcher:
            self.fetcher.close()

    def __enter__(self) -> GdeltDocSource:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- requests ---------------------------------------------------------------------------
    def _get(self, params: dict[str, str | int], report: CityFetchReport) -> Any:
        url = f"{self.config.base_url}?{urlencode(params)}"
        report.requests += 1
        result = self.fetcher.fetch(url)
        if result.error:
            raise GdeltError(f"GDELT {params.get('mode')}: {result.error}")
        return _decode(result.content)

    def _artlist(self, query: str, start: datetime, end: datetime, city_id: str,
                 report: CityFetchReport) -> list[RawItem]:
        """Every article of [start, end): halves the window while GDELT returns its cap."""
        payload = self._get({
            "query": query, "mode": "ArtList", "format": "json",
            "maxrecords": self.config.max_records,
            "sort": "DateAsc", "startdatetime": start.strftime(GDELT_TIME),
            "enddatetime": end.strftime(GDELT_TIME),
        }, report)
        items = parse_artlist(payload, city_id, self.config.country_codes)
        span = end - start
        cap = self.config.max_records
        if len(items) >= cap and span > timedelta(minutes=self.config.min_window_minutes):
            middle = start + span / 2
            middle = middle.replace(microsecond=0)
            log.info("gdelt doc %s: %s..%s hit the %d cap, splitting", city_id, start, end, cap)
            return (self._artlist(query, start, middle, city_id, report)
                    + self._artlist(query, middle, end, city_id, report))
        if len(items) >= cap:
            log.warning("gdelt doc %s: %s..%s still capped at %d in the smallest window",
                        city_id, start, end, cap)
        return items

    def _timeline(self, query: str, start: datetime, end: datetime,
                  report: CityFetchReport) -> list[TimelinePoint]:
        payload = self._get({
            "query": query, "mode": "TimelineVolRaw", "format": "json",
            "startdatetime": start.strftime(GDELT_TIME), "enddatetime": end.strftime(GDELT_TIME),
        }, report)
        return parse_timeline(payload)

    # -- a city -------------------------------------------------------------------------------
    def fetch_city(self, city: CityLike, *, start: datetime | None = None,
                   end: datetime | None = None, timeline: bool = True) -> CityFetchReport:
        """Articles of ``city`` from its resume point (or ``start``) to ``end`` (default now)."""
        report = CityFetchReport(city.id)
        end = end or datetime.now(UTC).replace(microsecond=0)
        resume_key = RESUME_KEY.format(city=city.id)
        if start is None:
            stored = self.store.get_meta(resume_key)
            start = (datetime.fromisoformat(stored) if stored
                     else end - timedelta(days=self.config.lookback_days))
        report.resumed_from, report.until = start, end
        queries = [f"{q} {f}".strip() for q in build_queries(city, self.config)
                   for f in _filters(self.config)]
        if not queries:
            report.error = "no searchable name variant"
            return report
        try:
            for window_start, window_end in _windows(start, end, self.config.window_hours):
                items: list[RawItem] = []
                for query in queries:
                    items.extend(self._artlist(query, window_start, window_end, city.id, report))
                self._store_items(items, report)
                report.windows += 1
                self.store.put_meta(resume_key, window_end.isoformat())
            if timeline:
                points: list[TimelinePoint] = []
                for query in queries:
                    points.extend(self._timeline(query, start, end, report))
                merged = parse_timeline({"results": [{"timeline": [{"data": [
                    {"date": p.day.strftime("%Y%m%dT000000Z"), "value": p.value, "norm": p.norm}
                    for p in points]}]}]})
                _save_timeline(self.store, city.id, merged)
                report.timeline_days = len(merged)
        except GdeltError as exc:
            report.error = str(exc)
            log.warning("gdelt doc %s: %s (resume point kept)", city.id, exc)
        self._record_health(report)
        return report

    def fetch_cities(self, cities: Iterable[CityLike], **options: Any) -> list[CityFetchReport]:
        """Every city in turn; one failing city never stops the others."""
        reports = []
        for city in cities:
            try:
                reports.append(self.fetch_city(city, **options))
            except Exception as exc:
                log.exception("gdelt doc %s failed", city.id)
                reports.append(CityFetchReport(city.id, error=f"{type(exc).__name__}: {exc}"))
        return reports

    def _store_items(self, items: Sequence[RawItem], report: CityFetchReport) -> None:
        report.seen += len(items)
        now = datetime.now(UTC)
        articles = [a for item in items if (a := normalize_item(item, now)) is not None]
        fresh = drop_repeated_urls(articles, self.store)
        if not fresh:
            return
        if self.tagger is not None:
            fresh = self.tagger(fresh)
        stored = self.store.upsert_articles(apply_gdelt_cities(fresh))
        report.new += stored.inserted + stored.spooled
        if stored.failed:
            raise GdeltError(f"store rejected {len(stored.failed)}: {stored.failed[0][1]}")

    def _record_health(self, report: CityFetchReport) -> None:
        source_id = f"gdelt-doc:{report.city}"
        now = datetime.now(UTC)
        health = self.store.get_source_health(source_id) or SourceHealth(source_id)
        health.last_attempt = now
        if report.error:
            health.last_error, health.last_error_at = report.error, now
            health.consecutive_failures += 1
        else:
            health.last_success = now
            health.consecutive_failures = 0
            health.items_seen, health.items_new = report.seen, report.new
            health.total_items += report.new
        self.store.put_source_health(health)
