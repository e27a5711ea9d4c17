"""The watched cities, loaded and validated from ``config/cities.yaml``.

Every error names the file and the field path in one line, e.g.
``config/cities.yaml: cities[3].admin: expected one of M, S, O, got 'X'``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cityradar.config import ConfigError, load_yaml, require

CITIES_FILE = "cities.yaml"
ADMIN_LEVELS = ("M", "S", "O")
_CITY_ID = re.compile(r"^[a-z][a-z0-9_]*$")
# Adjective endings (all genders, numbers, cases) for the ``adjectives`` stems of cities.yaml:
# шанхайск- -> шанхайский, шанхайская, шанхайского ...; pekińsk- -> pekiński, pekińskiej ...
ADJECTIVE_ENDINGS: dict[str, tuple[str, ...]] = {
    "ru": ("ий", "ая", "ое", "ие", "ого", "ой", "ому", "ом", "ую", "их", "им", "ими", "ые",
           "ый", "ых", "ым", "ыми", "ую"),
    "uk": ("ий", "а", "е", "і", "ого", "ої", "ому", "ій", "у", "их", "им", "ими"),
    "pl": ("i", "a", "ie", "ego", "iej", "iemu", "im", "ą", "ich", "imi"),
    "cs": ("ý", "á", "é", "í", "ého", "ém", "ému", "ou", "ých", "ým", "ými"),
}


@dataclass(frozen=True, slots=True)
class Homonym:
    """Another place sharing a surface form; any of ``cues`` in a text points to it.

    ``forms``: the city's surface forms this place shares. They count as the watched city
    by default (the famous Suzhou is the study city) and are dropped when a cue is present.
    Forms in ``ambiguous_forms`` are dropped by a cue as well (and also need support)."""

    name: str
    where: str
    cues: tuple[str, ...]
    forms: tuple[str, ...] = ()


@dataclass(slots=True)
class City:
    id: str
    name: str
    zh: str
    zh_hant: str
    admin: str
    region: str
    gawc: str | None
    gdp_2019: float
    province: str
    names: dict[str, list[str]] = field(default_factory=dict)  # language -> surface forms
    historical: list[str] = field(default_factory=list)
    context: list[str] = field(default_factory=list)
    homonyms: list[Homonym] = field(default_factory=list)
    ambiguous_forms: list[str] = field(default_factory=list)
    case_sensitive: list[str] = field(default_factory=list)
    false_friends: list[str] = field(default_factory=list)
    metonym: bool = False

    adjectives: dict[str, list[str]] = field(default_factory=dict)  # language -> stems

    def all_names(self) -> set[str]:
        """Every surface form that names this city, in every language and script (adjective
        stems expanded with their language's endings)."""
        forms = {self.name, self.zh, self.zh_hant, *self.historical, *self.ambiguous_forms}
        for language_forms in self.names.values():
            forms.update(language_forms)
        for language, stems in self.adjectives.items():
            for stem in stems:
                forms.update(stem + ending for ending in ADJECTIVE_ENDINGS[language])
        return forms


def _string_list(mapping: dict[str, Any], key: str, where: str) -> list[str]:
    values = mapping.get(key)
    if values is None:
        return []
    if not isinstance(values, list):
        raise ConfigError(f"{where}.{key}: expected a list, got {type(values).__name__}")
    for index, value in enumerate(values):
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}.{key}[{index}]: expected a non-empty string, got {value!r}")
    return [value.strip() for value in values]


def _parse_names(entry: dict[str, Any], where: str) -> dict[str, list[str]]:
    names = require(entry, "names", dict, where)
    if not names:
        raise ConfigError(f"{where}.names: expected at least one language")
    parsed: dict[str, list[str]] = {}
    for language in names:
        if not isinstance(language, str) or not language:
            raise ConfigError(f"{where}.names: language code must be a string, got {language!r}")
        forms = _string_list(names, language, f"{where}.names")
        if not forms:
            raise ConfigError(f"{where}.names.{language}: expected at least one surface form")
        parsed[language] = forms
    return parsed


def _parse_homonyms(entry: dict[str, Any], where: str) -> list[Homonym]:
    raw = entry.get("homonyms")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError(f"{where}.homonyms: expected a list, got {type(raw).__name__}")
    homonyms = []
    for index, item in enumerate(raw):
        item_where = f"{where}.homonyms[{index}]"
        name = require(item, "name", str, item_where)
        where_text = require(item, "where", str, item_where)
        cues = _string_list(item, "cues", item_where)
        if not cues:
            raise ConfigError(f"{item_where}.cues: expected at least one cue")
        forms = _string_list(item, "forms", item_where) if "forms" in item else []
        homonyms.append(Homonym(name=name, where=where_text, cues=tuple(cues),
                                forms=tuple(forms)))
    return homonyms


def _parse_adjectives(entry: dict[str, Any], where: str) -> dict[str, list[str]]:
    raw = entry.get("adjectives") or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}.adjectives: expected a mapping language -> stems")
    for language in raw:
        if language not in ADJECTIVE_ENDINGS:
            raise ConfigError(f"{where}.adjectives: no endings known for language "
                              f"{language!r} (use one of {', '.join(ADJECTIVE_ENDINGS)})")
    return {language: _string_list(raw, language, f"{where}.adjectives") for language in raw}


def _parse_city(entry: Any, where: str) -> City:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(entry).__name__}")
    city_id = require(entry, "id", str, where)
    if not _CITY_ID.match(city_id):
        raise ConfigError(f"{where}.id: expected lowercase ascii like 'wuhan', got {city_id!r}")
    admin = require(entry, "admin", str, where)
    if admin not in ADMIN_LEVELS:
        raise ConfigError(f"{where}.admin: expected one of M, S, O, got {admin!r}")
    gawc = entry.get("gawc")
    if gawc is not None and not isinstance(gawc, str):
        raise ConfigError(f"{where}.gawc: expected a string or null, got {type(gawc).__name__}")
    gdp = require(entry, "gdp_2019", (int, float), where)
    if isinstance(gdp, bool) or gdp < 0:
        raise ConfigError(f"{where}.gdp_2019: expected a non-negative number, got {gdp!r}")
    metonym = entry.get("metonym", False)
    if not isinstance(metonym, bool):
        raise ConfigError(f"{where}.metonym: expected true or false, got {metonym!r}")
    city = City(
        id=city_id,
        name=require(entry, "name", str, where),
        zh=require(entry, "zh", str, where),
        zh_hant=require(entry, "zh_hant", str, where),
        admin=admin,
        region=require(entry, "region", str, where),
        gawc=gawc,
        gdp_2019=float(gdp),
        province=require(entry, "province", str, where),
        names=_parse_names(entry, where),
        historical=_string_list(entry, "historical", where),
        context=_string_list(entry, "context", where),
        homonyms=_parse_homonyms(entry, where),
        ambiguous_forms=_string_list(entry, "ambiguous_forms", where),
        case_sensitive=_string_list(entry, "case_sensitive", where),
        false_friends=_string_list(entry, "false_friends", where),
        metonym=metonym,
        adjectives=_parse_adjectives(entry, where),
    )
    listed = {city.name, city.zh, city.zh_hant, *city.historical}
    for language_forms in city.names.values():
        listed.update(language_forms)
    for key in ("ambiguous_forms", "case_sensitive"):
        for index, form in enumerate(getattr(city, key)):
            if form not in listed:
                raise ConfigError(
                    f"{where}.{key}[{index}]: {form!r} is not one of the city's names"
                )
    return city


def parse_cities(data: Any, source: str) -> list[City]:
    """Validate the parsed YAML of a cities file; ``source`` names it in errors."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with a 'cities' list")
    entries = data.get("cities")
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: cities: expected a list of cities, got {entries!r:.40}")
    if not entries:
        raise ConfigError(f"{source}: cities: expected at least one city")
    cities: list[City] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        city = _parse_city(entry, f"{source}: cities[{index}]")
        if city.id in seen:
            raise ConfigError(
                f"{source}: cities[{index}].id: duplicate id {city.id!r} "
                f"(already cities[{seen[city.id]}])"
            )
        seen[city.id] = index
        cities.append(city)
    return cities


_cache: dict[Path, tuple[int, list[City]]] = {}


def load_cities(config_dir: Path) -> list[City]:
    """The cities of ``config_dir/cities.yaml``, validated; cached until the file changes."""
    path = Path(config_dir) / CITIES_FILE
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    cached = _cache.get(path)
    if cached is not None and cached[0] == mtime:
        return list(cached[1])
    cities = parse_cities(load_yaml(path), str(path))
    _cache[path] = (mtime, cities)
    return list(cities)


def cities_by_id(cities: list[City]) -> dict[str, City]:
    return {city.id: city for city in cities}
