"""The configured sources (config/sources.yaml), validated on load.

Two kinds: ``feed`` (one RSS/Atom outlet) and ``news_search`` (a search-RSS URL template that
expands to one source per city x language edition, e.g. ``gnews:wuhan:fr-FR``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol
from urllib.parse import quote_plus, urlsplit

from pydantic import Field

from cityradar.config import (
    ConfigError,
    ConfigModel,
    NonEmptyStr,
    build,
    check,
    load_yaml,
    schema_for,
    validate,
)
from ingest.outlets import host_of

log = logging.getLogger(__name__)

SourceKind = Literal["feed", "news_search"]
SOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class CityLike(Protocol):
    """What source expansion needs from ``nlp.gazetteer.City``."""

    id: str
    name: str
    names: Mapping[str, Sequence[str]]
    ambiguous_forms: Sequence[str]


def search_forms(city: CityLike, forms: Iterable[str]) -> list[str]:
    """The forms a news search ORs for ``city``: each once (case-insensitively), without the
    ambiguous ones (Korean 상해 is also "injury", the Swiss Kanton), which the linker only counts
    with support in the text and which would pull unrelated stories into a search."""
    ambiguous = {form.casefold() for form in city.ambiguous_forms}
    chosen: dict[str, str] = {}
    for form in forms:
        cleaned = form.replace('"', "").strip()
        key = cleaned.casefold()
        if cleaned and key not in ambiguous and key not in chosen:
            chosen[key] = cleaned
    return list(chosen.values())


@dataclass(frozen=True, slots=True)
class FetchOptions:
    user_agent: str = "CityRadar/0.1 (overseas public-opinion monitor)"
    timeout_s: float = 20.0
    retries: int = 2
    backoff_s: float = 1.0
    max_bytes: int = 10_000_000
    per_host_delay_s: float = 1.0
    per_host_concurrency: int = 2
    concurrency: int = 32
    max_retry_after_s: float = 60.0
    # Overall wall-clock budget of one fetch (all attempts, reads and back-off together): a
    # host trickling bytes can hold a request this long at most (timeout_s bounds one read).
    deadline_s: float = 60.0


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    kind: SourceKind
    url: str
    outlet: str
    domain: str
    country: str | None = None
    language: str | None = None  # default language of the outlet / edition
    voice: str = "foreign"
    enabled: bool = True
    city_hint: str | None = None  # news_search: the city the query was built for
    edition: str | None = None  # news_search: e.g. "fr-FR"
    full_text: bool = False  # fetch each new article's page for its full text (ingest/fulltext.py)


@dataclass(slots=True)
class SourcesConfig:
    sources: list[Source] = field(default_factory=list)
    fetch: FetchOptions = field(default_factory=FetchOptions)

    def select(self, source_ids: Sequence[str] | None = None) -> list[Source]:
        """Enabled sources, or exactly the named ones (enabled or not); unknown ids raise."""
        if not source_ids:
            return [s for s in self.sources if s.enabled]
        by_id = {s.id: s for s in self.sources}
        unknown = [i for i in source_ids if i not in by_id]
        if unknown:
            raise ConfigError(f"unknown source id(s): {', '.join(unknown)}")
        return [by_id[i] for i in source_ids]


def load_sources(config_dir: Path | str, cities: Iterable[CityLike] | None = None) -> SourcesConfig:
    """Read and validate ``<config_dir>/sources.yaml``; expand news searches over ``cities``.

    ``cities`` defaults to ``nlp.gazetteer.load_cities(config_dir)``; when that is unavailable
    the news-search sources are left out (and logged), the feeds still load.
    """
    path = Path(config_dir) / "sources.yaml"
    where = str(path)
    data = validate(SourcesFile, load_yaml(path), where)
    sources = [_source(entry, "feed", entry.language) for entry in data.feeds]
    if data.news_search:
        city_list = list(cities) if cities is not None else _default_cities(Path(config_dir))
        for index, entry in enumerate(data.news_search):
            sources.extend(_news_search(entry, city_list, f"{where}: news_search[{index}]"))
    seen: set[str] = set()
    for source in sources:
        if source.id in seen:
            raise ConfigError(f"{where}: duplicate source id {source.id!r}")
        seen.add(source.id)
    return SourcesConfig(sources=sources, fetch=build(FetchOptions, data.fetch))


def _default_cities(config_dir: Path) -> list[CityLike]:
    try:
        from nlp.gazetteer import load_cities
    except ImportError as exc:
        log.warning("news_search sources skipped: city gazetteer unavailable (%s)", exc)
        return []
    return list(load_cities(config_dir))


# The schema of sources.yaml (cityradar.config.validate turns its errors into ConfigErrors).
PositiveInt = Annotated[int, Field(ge=1)]
Count = Annotated[int, Field(ge=0)]
Seconds = Annotated[float, Field(ge=0)]
LanguageCode = Annotated[str, check(
    lambda v: bool(LANGUAGE.match(v)), "expected a language code like 'en', got {value!r}")]
HttpUrl = Annotated[str, check(lambda v: urlsplit(v).scheme in ("http", "https"),
                               "expected an http(s) URL, got {value!r}")]
FetchSchema = schema_for(
    FetchOptions, user_agent=NonEmptyStr, timeout_s=Seconds, retries=Count, backoff_s=Seconds,
    max_bytes=Count, per_host_delay_s=Seconds, per_host_concurrency=PositiveInt,
    concurrency=PositiveInt, max_retry_after_s=Seconds, deadline_s=Seconds)


class SourceSchema(ConfigModel):
    id: Annotated[str, check(lambda v: bool(SOURCE_ID.match(v)),
                             "{value!r} must be lowercase letters, digits, . _ -")]
    url: HttpUrl
    outlet: str
    domain: str | None = None
    country: Annotated[str, check(lambda v: bool(COUNTRY.match(v)),
                                  "expected ISO alpha-2 like 'GB', got {value!r}")] | None = None
    voice: Literal["foreign", "own"] = "foreign"
    enabled: bool = True
    full_text: bool = False


class FeedSchema(SourceSchema):
    language: LanguageCode | None = None


class EditionSchema(ConfigModel):
    language: LanguageCode
    gl: str
    hl: str | None = None
    ceid: str | None = None
    lang: str | None = None


class NewsSearchSchema(SourceSchema):
    url: Annotated[HttpUrl, check(lambda v: "{query}" in v,
                                  "a news_search template needs a {{query}} placeholder")]
    editions: Annotated[list[EditionSchema], Field(min_length=1)]


class SourcesFile(ConfigModel):
    fetch: FetchSchema = Field(default_factory=FetchSchema)  # type: ignore[valid-type]
    feeds: list[FeedSchema] = Field(default_factory=list)
    news_search: list[NewsSearchSchema] = Field(default_factory=list)


def _source(entry: SourceSchema, kind: SourceKind, language: str | None, **extra: Any) -> Source:
    extra = {"id": entry.id, "url": entry.url, **extra}
    return Source(kind=kind, outlet=entry.outlet,
                  domain=host_of(entry.domain or entry.url), country=entry.country,
                  language=language, voice=entry.voice, enabled=entry.enabled,
                  full_text=entry.full_text, **extra)


def _news_search(entry: NewsSearchSchema, cities: list[CityLike], where: str) -> list[Source]:
    sources = []
    for e_index, edition in enumerate(entry.editions):
        e_where = f"{where}.editions[{e_index}]"
        placeholders = edition.model_dump(exclude_none=True)
        placeholders.setdefault("hl", edition.language)
        placeholders.setdefault("lang", edition.language)
        edition_key = f"{edition.language}-{edition.gl.upper()}"
        for city in cities:
            query = city_query(city, edition.language)
            try:
                url = entry.url.format(query=quote_plus(query), **placeholders)
            except KeyError as exc:
                raise ConfigError(f"{e_where}: template placeholder {exc} has no value") from exc
            sources.append(_source(
                entry, "news_search", edition.language, id=f"{entry.id}:{city.id}:{edition_key}",
                url=url, city_hint=city.id, edition=edition_key))
    return sources


def city_query(city: CityLike, language: str) -> str:
    """A search query ORing the city's name variants in ``language`` (plus its English name)."""
    names = search_forms(city, [*city.names.get(language, []), city.name,
                                *city.names.get("en", [])[:1]])
    return " OR ".join(f'"{name}"' for name in names)
