"""GDELT raw files: Events 2.0 exports and GKG 2.1 records, streamed and filtered to our cities.

Public entry points (``cityradar import --format gdelt-events|gdelt-gkg`` and the backfill call
them)::

    iter_events(source, cities, *, config=None, stats=None) -> Iterator[Article]
    iter_gkg(source, cities, *, config=None, stats=None) -> Iterator[Article]

``source`` is a path (``.zip`` with one member, ``.csv``/``.CSV``/plain text) or a binary file
object; ``cities`` are ``nlp.gazetteer.City`` objects (or a prepared ``CityMatcher``). Lines
are read one at a time from the archive member (``zipfile`` + a buffered reader), never the
whole file. A cheap byte-substring check (GDELT's FIPS country code of China, ``CH``, in a
location field, or a configured feature id) drops most rows before they are decoded or split;
only China rows are decoded (UTF-8, bad bytes replaced), split and matched to cities.

Each Article has a stable id (hash of the canonical URL, via ``ingest.normalize``), the URL
slug as a provisional title (GDELT files carry no titles), and GDELT's own data under
``extras["gdelt"]``: ``cities`` (our city ids, from GDELT's geocoding), ``tone``, ``themes``
(GKG), ``event_ids``/``num_articles``/``sqldate`` (Events), ``locations`` (the matched names).
The same URL can be yielded more than once (Events: one row per event); ``merge_duplicates``
folds such copies into one. Broken rows are counted in ``stats`` and logged, never raised.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import unquote, urlsplit

from cityradar.records import Article, RawItem, Tags
from ingest.normalize import normalize_item
from ingest.outlets import host_of

log = logging.getLogger(__name__)

# GDELT 2.0 Event export: 61 tab-separated columns (GDELT-Event_Codebook-V2.0).
EVENT_COLUMNS = 61
EV_ID, EV_SQLDATE = 0, 1
EV_NUM_ARTICLES, EV_AVG_TONE = 33, 34
EV_ACTION_TYPE, EV_ACTION_FULLNAME, EV_ACTION_COUNTRY = 51, 52, 53
EV_ACTION_ADM1, EV_ACTION_FEATURE_ID = 54, 58
EV_DATEADDED, EV_SOURCEURL = 59, 60

# GDELT 2.1 GKG: 27 tab-separated columns (GDELT-Global_Knowledge_Graph_Codebook-V2.1).
GKG_COLUMNS = 27
GKG_RECORD_ID, GKG_DATE, GKG_COLLECTION = 0, 1, 2
GKG_SOURCE_NAME, GKG_DOCUMENT = 3, 4
GKG_V1_THEMES, GKG_V2_THEMES = 7, 8
GKG_V1_LOCATIONS, GKG_V2_LOCATIONS = 9, 10
GKG_TONE = 15
GKG_TRANSLATION = 25
READ_BUFFER = 1 << 20
GKG_WEB_COLLECTION = "1"  # DocumentIdentifier is a URL only for the WEB collection

CHINA_FIPS = "CH"
SOURCE_ID_EVENTS = "gdelt-events"
SOURCE_ID_GKG = "gdelt-gkg"
MAX_THEMES = 50


class CityLike(Protocol):
    id: str
    name: str
    province: str
    names: Mapping[str, Sequence[str]]
    historical: Sequence[str]


@dataclass(slots=True)
class ParseStats:
    rows: int = 0  # lines read
    candidates: int = 0  # lines that passed the substring pre-filter
    matched: int = 0  # rows about a configured city, yielded
    broken: int = 0  # rows with the wrong column count or unreadable fields
    skipped: int = 0  # rows about a city but without a usable URL
    errors: list[str] = field(default_factory=list)  # first few broken-row reasons

    def broken_row(self, where: str, reason: str) -> None:
        self.broken += 1
        if len(self.errors) < 20:
            self.errors.append(f"{where}: {reason}")
        log.warning("gdelt: skipping broken row %s: %s", where, reason)


def _fold(text: str) -> str:
    """Case-, accent- and apostrophe-insensitive key: "Xi’an" -> "xian"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return re.sub(r"[\W_]+", "", "".join(c for c in decomposed if not unicodedata.combining(c)))


class CityMatcher:
    """Maps a GDELT location (FullName "City, Province, China" + FeatureID) to a city id.

    A name only matches in China (FIPS CH) and, when GDELT names a province, only in the
    city's own province: "Suzhou, Anhui, China" is not Suzhou (Jiangsu). ``feature_ids``
    (GNS/GDELT feature ids per city id, from config/gdelt.yaml) win over names.
    """

    def __init__(self, cities: Iterable[CityLike],
                 feature_ids: Mapping[str, Sequence[str | int]] | None = None) -> None:
        self.by_name: dict[str, list[tuple[str, set[str]]]] = {}
        self.by_feature: dict[str, str] = {}
        for city in cities:
            forms = {city.name, *city.names.get("en", ()), *city.historical}
            provinces = {_fold(city.province), *(_fold(form) for form in forms)}
            for form in forms:
                key = _fold(form)
                if key:
                    self.by_name.setdefault(key, []).append((city.id, provinces))
            for feature in (feature_ids or {}).get(city.id, ()):
                self.by_feature[str(feature).strip()] = city.id

    def match(self, full_name: str, country: str, feature_id: str = "") -> str | None:
        if feature_id and feature_id in self.by_feature:
            return self.by_feature[feature_id]
        if country != CHINA_FIPS:
            return None
        parts = [part.strip() for part in full_name.split(",")]
        candidates = self.by_name.get(_fold(parts[0])) if parts else None
        if not candidates:
            return None
        province = _fold(parts[1]) if len(parts) >= 3 else None
        for city_id, provinces in candidates:
            if province is None or province in provinces:
                return city_id
        return None


def _open_lines(source: str | Path | IO[bytes], stack: ExitStack) -> Iterator[bytes]:
    """Byte lines of a GDELT file: a one-member zip, or plain text; streamed.

    Lines stay bytes until they pass the pre-filter: decoding every line would cost more than
    the whole filter (most GKG rows are several KB and not about China).
    """
    if isinstance(source, str | Path):
        binary: IO[bytes] = stack.enter_context(open(source, "rb"))  # noqa: SIM115
    else:
        binary = source
    if zipfile.is_zipfile(binary):
        binary.seek(0)
        archive = stack.enter_context(zipfile.ZipFile(binary))
        members = [info for info in archive.infolist() if not info.is_dir()]
        if not members:
            raise ValueError("zip archive is empty")
        member = stack.enter_context(archive.open(members[0]))
        return iter(io.BufferedReader(member, buffer_size=READ_BUFFER))  # type: ignore[arg-type]
    binary.seek(0)
    return iter(binary)


def _decode(line: bytes) -> str:
    # GDELT files are UTF-8; a stray bad byte must not lose the row or the rest of the file.
    return line.decode("utf-8", errors="replace").rstrip("\r\n")


def _parse_timestamp(value: str) -> datetime | None:
    """GDELT dates: YYYYMMDDHHMMSS or YYYYMMDD, UTC."""
    value = value.strip()
    try:
        if len(value) == 14:
            return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        if len(value) == 8:
            return datetime.strptime(value, "%Y%m%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return None


def title_from_url(url: str) -> str:
    """A readable provisional title from a URL slug ("…/wuhan-lockdown-lifted.html")."""
    path = unquote(urlsplit(url).path)
    for segment in reversed([s for s in path.split("/") if s]):
        stem = re.sub(r"\.(s?html?|php|aspx?|cms|jsp)$", "", segment, flags=re.IGNORECASE)
        words = [w for w in re.split(r"[-_+.\s]+", stem) if w and not w.isdigit()]
        if len(words) >= 2:
            return " ".join(words)
    return ""


def _float(value: str) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _to_article(url: str, published: datetime | None, outlet: str, source_id: str,
                language: str | None, gdelt: dict[str, Any]) -> Article | None:
    item = RawItem(
        url=url,
        title=title_from_url(url),
        published_at=published,
        outlet=outlet,
        domain=host_of(url),
        source_id=source_id,
        language_hint=language,
        extras={"gdelt": gdelt},
    )
    return normalize_item(item, fetched_at=datetime.now(UTC))


def _candidate_rows(source: str | Path | IO[bytes], separator: str, matcher: CityMatcher,
                    columns: int, stats: ParseStats) -> Iterator[tuple[int, list[str]]]:
    """(line number, tab-separated fields) of the rows that can be about a configured city.

    Rows are screened as raw bytes for China's FIPS code or a configured FeatureID between
    ``separator``s (tab in Events, "#" in GKG locations) and only those are decoded: this
    is what makes a GKG file parse at tens of thousands of rows per second. Rows with the
    wrong number of columns are counted as broken, with their line number.
    """
    needle = f"{separator}{CHINA_FIPS}{separator}".encode()
    features = tuple(f"{separator}{f}{separator}".encode() for f in matcher.by_feature)
    with ExitStack() as stack:
        for number, line in enumerate(_open_lines(source, stack), start=1):
            stats.rows += 1
            if needle not in line and not any(f in line for f in features):
                continue
            stats.candidates += 1
            fields = _decode(line).split("\t")
            if len(fields) != columns:
                stats.broken_row(f"line {number}", f"{len(fields)} columns, expected {columns}")
                continue
            yield number, fields


def iter_events(source: str | Path | IO[bytes], cities: Iterable[CityLike], *,
                feature_ids: Mapping[str, Sequence[str | int]] | None = None,
                stats: ParseStats | None = None) -> Iterator[Article]:
    """Articles from a GDELT 2.0 Events export whose ActionGeo is one of ``cities``.

    ``published_at`` is DATEADDED (when GDELT saw the article; SQLDATE is the date of the
    event itself, which can be weeks earlier, and is kept in extras as ``sqldate``).
    """
    matcher = cities if isinstance(cities, CityMatcher) else CityMatcher(cities, feature_ids)
    stats = stats if stats is not None else ParseStats()
    for _line, fields in _candidate_rows(source, "\t", matcher, EVENT_COLUMNS, stats):
        city = matcher.match(fields[EV_ACTION_FULLNAME], fields[EV_ACTION_COUNTRY],
                             fields[EV_ACTION_FEATURE_ID])
        if city is None:
            continue
        url = fields[EV_SOURCEURL].strip()
        if not url.startswith(("http://", "https://")):
            stats.skipped += 1
            continue
        published = _parse_timestamp(fields[EV_DATEADDED]) or _parse_timestamp(
            fields[EV_SQLDATE])
        gdelt = {
            "kind": "event",
            "cities": [city],
            "locations": [fields[EV_ACTION_FULLNAME]],
            "event_ids": [fields[EV_ID]],
            "sqldate": fields[EV_SQLDATE],
            "num_articles": int(fields[EV_NUM_ARTICLES] or 0)
            if fields[EV_NUM_ARTICLES].isdigit() else None,
            "tone": _float(fields[EV_AVG_TONE]),
        }
        article = _to_article(url, published, host_of(url), SOURCE_ID_EVENTS, None, gdelt)
        if article is not None:
            stats.matched += 1
            yield article


def _gkg_locations(field_v2: str, field_v1: str, matcher: CityMatcher
                   ) -> tuple[list[str], list[str]]:
    """(city ids, matched full names) from V2EnhancedLocations, else V1Locations."""
    found: dict[str, str] = {}
    if field_v2:
        # Type#FullName#CountryCode#ADM1#ADM2#Lat#Long#FeatureID#CharOffset
        for block in field_v2.split(";"):
            parts = block.split("#")
            if len(parts) >= 8:
                city = matcher.match(parts[1], parts[2], parts[7])
                if city and city not in found:
                    found[city] = parts[1]
    elif field_v1:
        # Type#FullName#CountryCode#ADM1#Lat#Long#FeatureID
        for block in field_v1.split(";"):
            parts = block.split("#")
            if len(parts) >= 7:
                city = matcher.match(parts[1], parts[2], parts[6])
                if city and city not in found:
                    found[city] = parts[1]
    return list(found), list(found.values())


def _themes(v2_field: str, v1_field: str) -> list[str]:
    """Distinct themes in order of first mention (V2 "THEME,offset;…", else V1 "THEME;…")."""
    seen: dict[str, None] = {}
    if v2_field:
        for block in v2_field.split(";"):
            theme = block.partition(",")[0]
            if theme:
                seen.setdefault(theme, None)
    else:
        for theme in v1_field.split(";"):
            if theme:
                seen.setdefault(theme, None)
    return list(seen)[:MAX_THEMES]


def source_language(translation_info: str) -> str | None:
    """ISO 639-1 code from GKG TranslationInfo ("srclc:fra;eng:…"); None = English original."""
    for part in translation_info.split(";"):
        key, _, value = part.partition(":")
        if key.strip() == "srclc" and value.strip():
            return _iso639_1(value.strip().lower())
    return None


_ISO_CACHE: dict[str, str] = {}


def _iso639_1(code3: str) -> str:
    if code3 not in _ISO_CACHE:
        from lingua import IsoCode639_3, Language

        try:
            language = Language.from_iso_code_639_3(IsoCode639_3.from_str(code3))
            _ISO_CACHE[code3] = language.iso_code_639_1.name.lower()
        except (ValueError, AttributeError):
            _ISO_CACHE[code3] = code3  # a language lingua does not know: keep GDELT's code
    return _ISO_CACHE[code3]


def iter_gkg(source: str | Path | IO[bytes], cities: Iterable[CityLike], *,
             feature_ids: Mapping[str, Sequence[str | int]] | None = None,
             stats: ParseStats | None = None) -> Iterator[Article]:
    """Articles from a GDELT 2.1 GKG file that GDELT locates in one of ``cities``.

    Language: TranslationInfo's ``srclc`` (GDELT Translingual), else English.
    """
    matcher = cities if isinstance(cities, CityMatcher) else CityMatcher(cities, feature_ids)
    stats = stats if stats is not None else ParseStats()
    for number, fields in _candidate_rows(source, "#", matcher, GKG_COLUMNS, stats):
        city_ids, names = _gkg_locations(fields[GKG_V2_LOCATIONS], fields[GKG_V1_LOCATIONS],
                                         matcher)
        if not city_ids:
            continue
        url = fields[GKG_DOCUMENT].strip()
        if fields[GKG_COLLECTION] != GKG_WEB_COLLECTION or not url.startswith(
            ("http://", "https://")
        ):
            stats.skipped += 1
            continue
        published = _parse_timestamp(fields[GKG_DATE])
        if published is None:
            stats.broken_row(f"line {number}", f"bad date {fields[GKG_DATE]!r}")
            continue
        gdelt = {
            "kind": "gkg",
            "record_id": fields[GKG_RECORD_ID],
            "cities": city_ids,
            "locations": names,
            "tone": _float(fields[GKG_TONE].partition(",")[0]),
            "themes": _themes(fields[GKG_V2_THEMES], fields[GKG_V1_THEMES]),
        }
        language = source_language(fields[GKG_TRANSLATION]) or "en"
        outlet = fields[GKG_SOURCE_NAME].strip() or host_of(url)
        article = _to_article(url, published, outlet, SOURCE_ID_GKG, language, gdelt)
        if article is not None:
            stats.matched += 1
            yield article


def merge_duplicates(articles: Iterable[Article]) -> list[Article]:
    """One Article per id; GDELT cities, locations and event ids of the copies are united."""
    merged: dict[str, Article] = {}
    for article in articles:
        first = merged.get(article.id)
        if first is None:
            merged[article.id] = article
            continue
        mine, theirs = first.extras.get("gdelt", {}), article.extras.get("gdelt", {})
        for key in ("cities", "locations", "event_ids", "themes"):
            if key in theirs:
                values = mine.setdefault(key, [])
                values.extend(v for v in theirs[key] if v not in values)
    return list(merged.values())


# GDELT tone is roughly -10..+10 (percent positive minus percent negative words).
TONE_SCALE = 10.0
TONE_LABEL_THRESHOLD = 0.15
GDELT_RELEVANCE = 0.5  # a city GDELT geocoded but our linker did not find in the text


def apply_gdelt_cities(articles: Iterable[Article]) -> list[Article]:
    """Make GDELT-geocoded cities count for the store's per-city queries.

    Tagged articles keep CityRadar's tags and gain the GDELT cities the text linker missed
    (the provisional title is a URL slug). Untagged ones get tags from GDELT alone: cities,
    and tone scaled to [-1, 1] (tagger_version "gdelt").
    """
    result = []
    for article in articles:
        gdelt = article.extras.get("gdelt") or {}
        cities = gdelt.get("cities") or []
        tone = gdelt.get("tone")
        if article.tags is None:
            score = max(-1.0, min(1.0, (tone or 0.0) / TONE_SCALE))
            label = ("negative" if score <= -TONE_LABEL_THRESHOLD
                     else "positive" if score >= TONE_LABEL_THRESHOLD else "neutral")
            article.tags = Tags(
                language=article.language_hint or "und",
                cities={city: GDELT_RELEVANCE for city in cities},
                sentiment=score,
                sentiment_label=label,
                city_sentiment={city: score for city in cities},
                tagger_version="gdelt",
            )
        else:
            for city in cities:
                if city not in article.tags.cities:
                    article.tags.cities[city] = GDELT_RELEVANCE
                    article.tags.city_sentiment.setdefault(city, article.tags.sentiment)
        result.append(article)
    return result
