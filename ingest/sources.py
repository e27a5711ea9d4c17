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
from typing import Any, Literal, Protocol
from urllib.parse import quote_plus, urlsplit

from cityradar.config import ConfigError, load_yaml, require

log = logging.getLogger(__name__)

SourceKind = Literal["feed", "news_search"]
SOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
VOICES = ("foreign", "own")


class CityLike(Protocol):
    """What source expansion needs from ``nlp.gazetteer.City``."""

    id: str
    name: str
    names: Mapping[str, Sequence[str]]


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
    data = load_yaml(path)
    where = str(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping at the top level")
    fetch = _fetch_options(data.get("fetch") or {}, f"{where}: fetch")
    sources: list[Source] = []
    for index, entry in enumerate(data.get("feeds") or []):
        sources.append(_feed(entry, f"{where}: feeds[{index}]"))
    searches = data.get("news_search") or []
    if not isinstance(searches, list):
        raise ConfigError(f"{where}: news_search: expected a list")
    if searches:
        city_list = list(cities) if cities is not None else _default_cities(Path(config_dir))
        for index, entry in enumerate(searches):
            sources.extend(_news_search(entry, city_list, f"{where}: news_search[{index}]"))
    seen: set[str] = set()
    for source in sources:
        if source.id in seen:
            raise ConfigError(f"{where}: duplicate source id {source.id!r}")
        seen.add(source.id)
    return SourcesConfig(sources=sources, fetch=fetch)


def _default_cities(config_dir: Path) -> list[CityLike]:
    try:
        from nlp.gazetteer import load_cities
    except ImportError as exc:
        log.warning("news_search sources skipped: city gazetteer unavailable (%s)", exc)
        return []
    return list(load_cities(config_dir))


def _fetch_options(raw: Any, where: str) -> FetchOptions:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping")
    defaults = FetchOptions()
    values: dict[str, Any] = {}
    for name in FetchOptions.__dataclass_fields__:
        if name not in raw:
            continue
        default = getattr(defaults, name)
        value = raw[name]
        if isinstance(default, str):
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{where}.{name}: expected a non-empty string")
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"{where}.{name}: expected a number >= 0, got {value!r}")
        elif isinstance(default, int) and not isinstance(value, int):
            raise ConfigError(f"{where}.{name}: expected an integer, got {value!r}")
        values[name] = value
    unknown = set(raw) - set(FetchOptions.__dataclass_fields__)
    if unknown:
        raise ConfigError(f"{where}.{sorted(unknown)[0]}: unknown setting")
    options = FetchOptions(**values)
    if options.concurrency < 1 or options.per_host_concurrency < 1:
        raise ConfigError(f"{where}: concurrency and per_host_concurrency must be >= 1")
    return options


def _common(entry: Any, where: str) -> dict[str, Any]:
    source_id = require(entry, "id", str, where)
    if not SOURCE_ID.match(source_id):
        raise ConfigError(f"{where}.id: {source_id!r} must be lowercase letters, digits, . _ -")
    url = require(entry, "url", str, where)
    if urlsplit(url).scheme not in ("http", "https"):
        raise ConfigError(f"{where}.url: expected an http(s) URL, got {url!r}")
    outlet = require(entry, "outlet", str, where)
    domain = entry.get("domain") or (urlsplit(url).hostname or "")
    if not isinstance(domain, str):
        raise ConfigError(f"{where}.domain: expected str")
    country = entry.get("country")
    if country is not None and (not isinstance(country, str) or not COUNTRY.match(country)):
        raise ConfigError(f"{where}.country: expected ISO alpha-2 like 'GB', got {country!r}")
    voice = entry.get("voice", "foreign")
    if voice not in VOICES:
        raise ConfigError(f"{where}.voice: expected foreign or own, got {voice!r}")
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where}.enabled: expected true or false, got {enabled!r}")
    full_text = entry.get("full_text", False)
    if not isinstance(full_text, bool):
        raise ConfigError(f"{where}.full_text: expected true or false, got {full_text!r}")
    return {
        "id": source_id,
        "url": url,
        "outlet": outlet,
        "domain": domain.lower().removeprefix("www."),
        "country": country,
        "voice": voice,
        "enabled": enabled,
        "full_text": full_text,
    }


def _language(entry: dict[str, Any], where: str, required: bool = False) -> str | None:
    language = entry.get("language")
    if language is None and not required:
        return None
    if not isinstance(language, str) or not LANGUAGE.match(language):
        raise ConfigError(f"{where}.language: expected a language code like 'en', got {language!r}")
    return language


def _feed(entry: Any, where: str) -> Source:
    common = _common(entry, where)
    return Source(kind="feed", language=_language(entry, where), **common)


def _news_search(entry: Any, cities: list[CityLike], where: str) -> list[Source]:
    common = _common(entry, where)
    if "{query}" not in common["url"]:
        raise ConfigError(f"{where}.url: a news_search template needs a {{query}} placeholder")
    editions = require(entry, "editions", list, where)
    if not editions:
        raise ConfigError(f"{where}.editions: empty")
    sources = []
    for e_index, edition in enumerate(editions):
        e_where = f"{where}.editions[{e_index}]"
        if not isinstance(edition, dict):
            raise ConfigError(f"{e_where}: expected a mapping")
        language = _language(edition, e_where, required=True)
        assert language is not None
        gl = require(edition, "gl", str, e_where)
        placeholders = {k: str(v) for k, v in edition.items()}
        placeholders.setdefault("hl", language)
        placeholders.setdefault("lang", language)
        edition_key = f"{language}-{gl.upper()}"
        for city in cities:
            query = city_query(city, language)
            try:
                url = common["url"].format(query=quote_plus(query), **placeholders)
            except KeyError as exc:
                raise ConfigError(f"{e_where}: template placeholder {exc} has no value") from exc
            sources.append(
                Source(
                    **{**common, "id": f"{common['id']}:{city.id}:{edition_key}", "url": url},
                    kind="news_search",
                    language=language,
                    city_hint=city.id,
                    edition=edition_key,
                )
            )
    return sources


def city_query(city: CityLike, language: str) -> str:
    """A search query ORing the city's name variants in ``language`` (plus its English name)."""
    names: list[str] = []
    for name in [*city.names.get(language, []), city.name, *city.names.get("en", [])[:1]]:
        if name and name not in names:
            names.append(name)
    return " OR ".join(f'"{name}"' for name in names)
