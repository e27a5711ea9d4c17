"""The watched cities, loaded and validated from ``config/cities.yaml``.

Every error names the file and the field path in one line, e.g.
``config/cities.yaml: cities[3].admin: expected one of M, S, O, got 'X'``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from cityradar.config import ConfigError, ConfigModel, check, expect, load_yaml, validate

CITIES_FILE = "cities.yaml"
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
# Inflected forms of the Latin-script names of ``names[language]``, made by the grammar of the
# language rather than listed one by one:
# * de, nl, sv: genitive -s ("Chengdus neuer Flughafen", "Pekings optreden", "Shanghais
#   hamn"); de also the invariable place adjective -er ("Pekinger Führung", "Shanghaier
#   Börse"), nl the adjective -se ("de Pekingse regering"). Not after a final s, x, z.
# * pl, cs: masculine noun cases of a name ending in a consonant: genitive/dative/locative -u,
#   locative -ie (pl), -e (cs: the soft-stem locative, "v Šen-čene"; it also yields forms no
#   writer uses, such as "Pekinge", which cost nothing), instrumental -em / -iem after k, g
#   (pl), dative -owi (pl) ("Tiencinu", "w Tiencinie", "pod Chongqingiem", "Pekingem").
# A derived form shares its base form's flags: ambiguous, case-sensitive, unambiguous_in.
NAME_SUFFIXES: dict[str, tuple[str, ...]] = {
    "de": ("s", "er"),
    "nl": ("s", "se"),
    "pl": ("u", "ie", "em", "owi"),
    "cs": ("u", "e", "em"),
    "sv": ("s",),
}
_LATIN_WORD = re.compile(r"^[A-Za-z\u00c0-\u024f'\u2019-]*[A-Za-z\u00c0-\u024f]$")
_VOWELS = set("aeiouyáéíóúýàèìòùäëïöüąęěů")


# Spelling variants a native writer uses for the same transcription, derived rather than listed:
# * hi: the final -ou of "-zhou" written with short or long u (सुझोउ / सुझोऊ, झेंगझोउ /
#   झेंगझोऊ), and a consonant with or without the nukta dot (गुआंगज़ौ / गुआंगजौ).
# * he: "zh"/"j" written with gimel-geresh or zayin-geresh (בייג'ינג / בייז'ינג, שנג'ן / שנז'ן).
_NUKTA = "\u093c"
_NUKTA_LETTERS = {"\u0958": "\u0915", "\u0959": "\u0916", "\u095a": "\u0917", "\u095b": "\u091c",
                  "\u095c": "\u0921", "\u095d": "\u0922", "\u095e": "\u092b", "\u095f": "\u092f"}
_HEBREW_GERESH = ("ג'", "ז'")


def spelling_variants(language: str, form: str) -> list[str]:
    """The variants of ``form`` in ``language`` described above (the form itself excluded)."""
    variants: set[str] = set()
    if language == "hi":
        plain = form.replace(_NUKTA, "")
        for letter, base in _NUKTA_LETTERS.items():
            plain = plain.replace(letter, base)
        for base in {form, plain}:
            variants.add(base)
            if base.endswith("\u0909"):  # उ
                variants.add(base[:-1] + "\u090a")  # ऊ
            elif base.endswith("\u090a"):
                variants.add(base[:-1] + "\u0909")
    elif language == "he":
        gimel, zayin = _HEBREW_GERESH
        variants.update({form.replace(gimel, zayin), form.replace(zayin, gimel)})
    variants.discard(form)
    return sorted(variants)


def inflected_forms(language: str, form: str) -> list[str]:
    """The forms ``NAME_SUFFIXES`` derives from ``form`` in ``language`` (none for other
    scripts, other languages, multi-word names, or a form that already ends in one of the
    language's suffixes: "Wu-chanem" is itself a case form, not a base for more)."""
    suffixes = NAME_SUFFIXES.get(language)
    if not suffixes or not _LATIN_WORD.match(form) or form.endswith(suffixes):
        return []
    last = form[-1].lower()
    if language in ("de", "nl", "sv"):
        return [] if last in "sxzß" else [form + suffix for suffix in suffixes]
    if last in _VOWELS:
        return []  # Chengdu, Zhengzhou: indeclinable
    forms = [form + suffix for suffix in suffixes]
    if language == "pl" and last in "kg":
        forms.append(form + "iem")  # Chongqingiem
    return forms


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
    unambiguous_in: dict[str, list[str]] = field(default_factory=dict)  # language -> forms
    # NAME_SUFFIXES forms of ``names`` (language -> forms): matched by the linker, kept out of
    # ``names`` so that news-search queries and the demo corpus use the configured names only
    derived_names: dict[str, list[str]] = field(default_factory=dict)

    def all_names(self) -> set[str]:
        """Every surface form that names this city, in every language and script (adjective
        stems expanded with their language's endings)."""
        forms = {self.name, self.zh, self.zh_hant, *self.historical, *self.ambiguous_forms}
        for language_forms in [*self.names.values(), *self.derived_names.values()]:
            forms.update(language_forms)
        for language, stems in self.adjectives.items():
            for stem in stems:
                forms.update(stem + ending for ending in ADJECTIVE_ENDINGS[language])
        return forms


# The schema of cities.yaml (cityradar.config.validate turns its errors into ConfigErrors).
Form = Annotated[str, AfterValidator(str.strip), check(bool, "expected a non-empty string")]


def _nonempty(message: str) -> AfterValidator:
    return check(lambda value: len(value) > 0, message)


class HomonymSchema(ConfigModel):
    name: str
    where: str
    cues: Annotated[list[Form], _nonempty("expected at least one cue")] = Field(
        default_factory=list, validate_default=True)
    forms: list[Form] = Field(default_factory=list)


class CitySchema(ConfigModel):
    id: Annotated[str, check(lambda v: bool(_CITY_ID.match(v)),
                             "expected lowercase ascii like 'wuhan', got {value!r}")]
    name: str
    zh: str
    zh_hant: str
    admin: Literal["M", "S", "O"]
    region: str
    gawc: Annotated[str, expect("expected a string or null")] | None = None
    gdp_2019: Annotated[float, expect("expected int or float"), Field(ge=0)]
    province: str
    names: Annotated[
        dict[str, Annotated[list[Form], _nonempty("expected at least one surface form")]],
        _nonempty("expected at least one language")]
    historical: list[Form] = Field(default_factory=list)
    context: list[Form] = Field(default_factory=list)
    homonyms: list[HomonymSchema] = Field(default_factory=list)
    ambiguous_forms: list[Form] = Field(default_factory=list)
    case_sensitive: list[Form] = Field(default_factory=list)
    false_friends: list[Form] = Field(default_factory=list)
    metonym: bool = False
    adjectives: dict[Literal["ru", "uk", "pl", "cs"], list[Form]] = Field(default_factory=dict)
    unambiguous_in: dict[str, list[Form]] = Field(default_factory=dict)


class CitiesFile(ConfigModel):
    cities: Annotated[list[CitySchema], expect("expected a list of cities"),
                      _nonempty("expected at least one city")]


def _city(entry: CitySchema, where: str) -> City:
    fields = entry.model_dump(exclude={"homonyms"})
    city = City(**fields, homonyms=[
        Homonym(name=h.name, where=h.where, cues=tuple(h.cues), forms=tuple(h.forms))
        for h in entry.homonyms])
    listed = {city.name, city.zh, city.zh_hant, *city.historical}
    for language_forms in city.names.values():
        listed.update(language_forms)
    for key in ("ambiguous_forms", "case_sensitive"):
        for index, form in enumerate(getattr(city, key)):
            if form not in listed:
                raise ConfigError(
                    f"{where}.{key}[{index}]: {form!r} is not one of the city's names"
                )
    for language, forms in city.unambiguous_in.items():
        for index, form in enumerate(forms):
            if form not in city.ambiguous_forms:
                raise ConfigError(f"{where}.unambiguous_in.{language}[{index}]: {form!r} is "
                                  "not one of the city's ambiguous_forms")
    _add_inflected_forms(city)
    return city


def _add_inflected_forms(city: City) -> None:
    """Fill ``city.derived_names`` with NAME_SUFFIXES forms and spelling variants; derived
    forms share their base's flags."""
    for language, forms in city.names.items():
        derived: dict[str, str] = {}
        for form in forms:
            for new in inflected_forms(language, form) + spelling_variants(language, form):
                derived.setdefault(new, form)
        new_forms = [new for new in derived if new not in forms]
        if new_forms:
            city.derived_names[language] = new_forms
        for new, base in derived.items():
            if base in city.ambiguous_forms and new not in city.ambiguous_forms:
                city.ambiguous_forms.append(new)
            if base in city.case_sensitive and new not in city.case_sensitive:
                city.case_sensitive.append(new)
            for clear in city.unambiguous_in.values():
                if base in clear and new not in clear:
                    clear.append(new)


def parse_cities(data: Any, source: str) -> list[City]:
    """Validate the parsed YAML of a cities file; ``source`` names it in errors."""
    entries = validate(CitiesFile, data, source).cities
    cities: list[City] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        city = _city(entry, f"{source}: cities[{index}]")
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
