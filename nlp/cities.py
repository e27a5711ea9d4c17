"""City linking: find the watched cities in a text, in any language and script.

One Aho–Corasick automaton (pyahocorasick) holds every surface form, false friend, context word
and homonym cue of every city, keyed by its *folded* form (lower case, accents removed,
apostrophes unified). Texts are folded the same way, character for character, so offsets in the
folded text are offsets in the original. Each hit is then checked for word boundaries by script:

* Latin, Cyrillic, Greek, Devanagari, ...: the neighbours must not be letters, digits or marks, so
  "Wuhan" does not match inside "Wuhanese" and "Пекин" not inside "Пекинес"; inflected forms
  (Уханя, Пекине) match because they are listed in cities.yaml.
* Chinese, Japanese, Thai: no spaces between words, so forms match as substrings; false friends
  (长沙发 "long sofa", 江西安全 "Jiangxi safety") are listed per city and win when they overlap.
* Korean: particles attach to the noun (우한에서), so only the left side needs a boundary.
* Arabic and Hebrew: one-letter prefixes attach to the noun (وبكين "and Beijing", בווהאן).

Overlapping hits resolve leftmost-longest. "Canton" is case-sensitive (the Swiss or French
"canton" is not Guangzhou) and "canton of/de", "Canton, Ohio" are false friends.

A mention of a city with ``metonym: true`` (Beijing) is the city or the Chinese state: the rules
of lexicons/metonymy.yaml decide where one matches, and the metonymy model (nlp/metonymy_model.py)
reads the rest in the languages it was trained on.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

import ahocorasick
from pydantic import AfterValidator, BeforeValidator, Field

from cityradar.config import ConfigError, ConfigModel, load_yaml, validate
from cityradar.records import CityMention, MentionKind
from nlp.config_schema import nlp_section
from nlp.gazetteer import City, load_cities
from nlp.metonymy_model import DEFAULT_MODEL_PATH as DEFAULT_METONYMY_MODEL
from nlp.metonymy_model import Context, MetonymyModel

logger = logging.getLogger(__name__)

METONYMY_FILE = Path("lexicons") / "metonymy.yaml"
_RULE_ORDER: tuple[tuple[str, MentionKind, str], ...] = (
    ("government_before", "government", "before"),
    # checked before place_before: an impersonal plural speech or action verb after a locative
    # ("У Пекіні заявили", "בבייג'ינג הבהירו": "in Beijing they said" names the authorities)
    ("government_after_locative", "government", "after_locative"),
    ("place_before", "place", "before"),
    ("place_after", "place", "after"),
    ("government_after", "government", "after"),
)

# ---------------------------------------------------------------------------------------------
# Folding: a length-preserving map so that offsets stay valid in every script.

_APOSTROPHES = "\u2019\u2018\u02bc\u02bb`\u00b4\u2032\u05f3\uff07"
_SPECIAL_FOLDS = {"đ": "d", "Đ": "d", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "ı": "i", "ς": "σ"}
_FOLD_RANGES = ((0x00C0, 0x024F), (0x1E00, 0x1EFF), (0x0370, 0x03FF), (0x1F00, 0x1FFF),
                (0x0400, 0x052F))
_COMBINING = re.compile("[\u0300-\u036f]")


def _strip_accents(char: str) -> str:
    base = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
    return base if len(base) == 1 else char


def _build_tables() -> tuple[dict[int, str], dict[int, str]]:
    keep_case: dict[int, str] = {}
    lower: dict[int, str] = {}
    for low, high in _FOLD_RANGES:
        for code in range(low, high + 1):
            char = chr(code)
            stripped = _SPECIAL_FOLDS.get(char) or _strip_accents(char)
            if stripped != char:
                keep_case[code] = stripped
            lowered = stripped.lower()
            if len(lowered) == 1 and lowered != char:
                lower[code] = lowered
    for code in range(ord("A"), ord("Z") + 1):
        lower[code] = chr(code).lower()
    for char in _APOSTROPHES:
        keep_case[ord(char)] = "'"
        lower[ord(char)] = "'"
    for char in "\u2010\u2011":  # typographic hyphens
        keep_case[ord(char)] = "-"
        lower[ord(char)] = "-"
    keep_case[0xA0] = lower[0xA0] = " "
    for char, folded in _SPECIAL_FOLDS.items():
        keep_case[ord(char)] = folded if char.islower() else folded.upper()
        lower[ord(char)] = folded
    keep_case[ord("ς")] = lower[ord("ς")] = "σ"
    return lower, keep_case


_FOLD_TABLE, _STRIP_TABLE = _build_tables()


def fold(text: str) -> str:
    """Lower case, accents removed, apostrophes unified; same length as ``text``."""
    return text.translate(_FOLD_TABLE)


def _fold_with_offsets(text: str) -> tuple[str, list[int] | None]:
    """Fold ``text``; when it holds decomposed accents, drop them and return an offset map."""
    if not _COMBINING.search(text):
        return fold(text), None
    kept = [index for index, char in enumerate(text) if not ("\u0300" <= char <= "\u036f")]
    kept.append(len(text))
    return fold("".join(text[index] for index in kept[:-1])), kept


# ---------------------------------------------------------------------------------------------
# Scripts and word boundaries.

_UNSPACED_RANGES = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x2FDF), (0x3000, 0x30FF), (0x31F0, 0x31FF), (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xFF66, 0xFF9F), (0x20000, 0x2FA1F),
)
_HANGUL_RANGES = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7AF))
_ARABIC_RANGES = ((0x0600, 0x06FF), (0x0750, 0x077F), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))
_HEBREW_RANGES = ((0x0590, 0x05FF), (0xFB1D, 0xFB4F))
_CLITIC_PREFIXES = {"arabic": set("وفبلكسا"), "hebrew": set("בלומהשכ")}


def _in(ranges: tuple[tuple[int, int], ...], char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in ranges)


def _script(char: str) -> str:
    if char.isascii():
        return "spaced"
    if _in(_UNSPACED_RANGES, char):
        return "unspaced"
    if _in(_HANGUL_RANGES, char):
        return "hangul"
    if _in(_ARABIC_RANGES, char):
        return "arabic"
    if _in(_HEBREW_RANGES, char):
        return "hebrew"
    return "spaced"


def _is_word_char(char: str) -> bool:
    if char.isascii():
        return char.isalnum() or char == "_"
    if _in(_UNSPACED_RANGES, char):
        return False  # a Latin name right next to Chinese text still stands alone
    return char.isalnum() or unicodedata.category(char)[0] == "M"


# ---------------------------------------------------------------------------------------------
# The automaton's payload.


@dataclass(slots=True)
class _Key:
    length: int
    left: str  # script rule for the left boundary
    right: str
    city: str | None = None  # the city this form names
    ambiguous: bool = False
    cued: bool = False  # shared with another place: dropped when that place's cue is present
    clear_in: set[str] = field(default_factory=set)  # languages where an ambiguous form is clear
    case_forms: set[str] | None = None  # must appear with this capitalisation
    false_friend: bool = False
    context_for: set[str] = field(default_factory=set)
    cue_for: set[str] = field(default_factory=set)


@dataclass(slots=True)
class _Rules:
    by_kind: list[tuple[MentionKind, str, list[re.Pattern[str]]]]
    # what government_after_locative needs right before the name: "в/у", Hebrew ב
    locative_before: list[re.Pattern[str]] = field(default_factory=list)


# The schema of lexicons/metonymy.yaml: window, and per language the four rule lists of
# _RULE_ORDER, each regex compiled as it is validated.
def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern.translate(_STRIP_TABLE), re.I)
    except re.error as exc:
        raise ValueError(f"bad regex: {exc}") from None


def _rule_lists(rules: Any) -> Any:
    known = {name for name, _, _ in _RULE_ORDER} | {"locative_before"}
    unknown = set(rules) - known if isinstance(rules, dict) else ()
    if unknown:
        raise ValueError(f"unknown rule list {sorted(unknown)[0]!r}")
    return rules


class MetonymyFile(ConfigModel):
    window: Annotated[int, Field(gt=0)] = 80
    languages: dict[str, Annotated[
        dict[str, list[Annotated[str, AfterValidator(_regex)]] | None],
        BeforeValidator(_rule_lists)]]


def _compile_metonymy(data: Any, path: Path) -> tuple[int, dict[str, _Rules]]:
    rules_file = validate(MetonymyFile, data, path)
    compiled: dict[str, _Rules] = {
        language: _Rules([(kind, side, list(rules.get(name) or []))
                          for name, kind, side in _RULE_ORDER],
                         list(rules.get("locative_before") or []))
        for language, rules in rules_file.languages.items()}
    merged = _Rules([
        (kind, side, [p for rules in compiled.values() for p in rules.by_kind[i][2]])
        for i, (_, kind, side) in enumerate(_RULE_ORDER)
    ], [p for rules in compiled.values() for p in rules.locative_before])
    compiled["*"] = merged
    return rules_file.window, compiled


class CityLinker:
    """Finds mentions of the watched cities; see the module docstring for the rules."""

    def __init__(self, cities: Sequence[City], metonymy_rules_path: Path | None = None,
                 metonymy_model_path: Path | None = None) -> None:
        self.cities = list(cities)
        # read now, so that a damaged file stops the start, not every article
        self.metonymy_model = (MetonymyModel.load(metonymy_model_path)
                               if metonymy_model_path is not None else None)
        self._metonym_cities = {city.id for city in self.cities if city.metonym}
        self._keys: list[_Key] = []
        self._automaton = ahocorasick.Automaton()
        self._index: dict[str, int] = {}
        for city in self.cities:
            self._add_city(city)
        for key, index in self._index.items():
            self._automaton.add_word(key, index)
        if self._index:
            self._automaton.make_automaton()
        self._window = 80
        self._rules: dict[str, _Rules] = {}
        if metonymy_rules_path is not None:
            self._window, self._rules = _compile_metonymy(
                load_yaml(metonymy_rules_path), metonymy_rules_path
            )

    @classmethod
    def from_config(cls, config_dir: Path) -> CityLinker:
        """The cities, metonymy rules and metonymy model a config directory names (nlp.yaml
        ``linking.metonymy_model``: a file relative to the directory, or ``none``; the shipped
        model when unset)."""
        config_dir = Path(config_dir)
        rules = config_dir / METONYMY_FILE
        model = nlp_section(config_dir, "linking").get("metonymy_model") if (
            config_dir / "nlp.yaml").is_file() else None
        if model is None:
            model_path: Path | None = DEFAULT_METONYMY_MODEL
        elif model == "none":
            model_path = None
        else:
            model_path = config_dir / model
            if not model_path.is_file():
                raise ConfigError(f"nlp.yaml: linking.metonymy_model: no file {model_path}")
        if not rules.is_file():
            if model is not None and model != "none":
                raise ConfigError(f"nlp.yaml: linking.metonymy_model needs the rules it "
                                  f"completes, {rules}")
            return cls(load_cities(config_dir))
        return cls(load_cities(config_dir), rules, model_path)

    # -- building ------------------------------------------------------------------------------

    def _key(self, form: str) -> _Key | None:
        folded = fold(unicodedata.normalize("NFC", form).strip())
        if not folded:
            return None
        index = self._index.get(folded)
        if index is None:
            index = self._index[folded] = len(self._keys)
            self._keys.append(_Key(len(folded), _script(folded[0]), _script(folded[-1])))
        return self._keys[index]

    def _add_city(self, city: City) -> None:
        ambiguous = {fold(form) for form in city.ambiguous_forms}
        cued = ambiguous | {fold(form) for h in city.homonyms for form in h.forms}
        case_sensitive = {fold(form): form for form in city.case_sensitive}
        clear_in: dict[str, set[str]] = {}
        for language, forms in city.unambiguous_in.items():
            for form in forms:
                clear_in.setdefault(fold(form), set()).add(language)
        for form in sorted(city.all_names()):
            key = self._key(form)
            if key is None:
                continue
            if key.city is not None and key.city != city.id:
                raise ConfigError(
                    f"cities.yaml: city {city.id!r}: surface form {form!r} already names "
                    f"{key.city!r}; list it under one city and use context for the other"
                )
            key.city = city.id
            folded = fold(form)
            key.ambiguous = key.ambiguous or folded in ambiguous
            key.cued = key.cued or folded in cued
            key.clear_in |= clear_in.get(folded, set())
            if folded in case_sensitive:
                key.case_forms = (key.case_forms or set()) | {
                    case_sensitive[folded].translate(_STRIP_TABLE)
                }
        for form in city.false_friends:
            key = self._key(form)
            if key is not None:
                key.false_friend = True
        for form in city.context:
            key = self._key(form)
            if key is not None:
                key.context_for.add(city.id)
        for homonym in city.homonyms:
            for cue in homonym.cues:
                key = self._key(cue)
                if key is not None:
                    key.cue_for.add(city.id)

    # -- matching ------------------------------------------------------------------------------

    @staticmethod
    def _boundary_ok(folded: str, start: int, end: int, key: _Key) -> bool:
        if start > 0 and key.left != "unspaced" and _is_word_char(folded[start - 1]):
            prefixes = _CLITIC_PREFIXES.get(key.left)
            if prefixes is None:
                return False
            begin = start
            while begin > 0 and _is_word_char(folded[begin - 1]) and start - begin < 4:
                begin -= 1
            if begin > 0 and _is_word_char(folded[begin - 1]):
                return False
            if any(char not in prefixes for char in folded[begin:start]):
                return False
        if end < len(folded) and key.right in ("spaced", "arabic", "hebrew"):
            return not _is_word_char(folded[end])
        return True

    def link(self, text: str, language: str | None = None) -> list[CityMention]:
        """Mentions of watched cities in ``text``, in order, with offsets into ``text``."""
        mentions, undecided = self.rule_link(text, language)
        model = self.metonymy_model if undecided else None
        if model is not None and _base_language(language) in model.languages:
            contexts = [Context.of(text, mentions[i].start, mentions[i].end) for i in undecided]
            for index, state in zip(undecided, model.is_state(contexts), strict=True):
                if state:
                    mentions[index] = replace(mentions[index], kind="government")
        return mentions

    def rule_link(self, text: str, language: str | None = None
                  ) -> tuple[list[CityMention], list[int]]:
        """The mentions as the rules alone read them, and the indices of the metonym cities'
        mentions that no rule decides (read as places here; ``link`` asks the model)."""
        if not text or not self._index:
            return [], []
        folded, offsets = _fold_with_offsets(text)
        candidates: list[tuple[int, int, _Key]] = []
        context_present: set[str] = set()
        cues_present: set[str] = set()
        for end_index, key_index in self._automaton.iter(folded):
            key = self._keys[key_index]
            end = end_index + 1
            start = end - key.length
            if not self._boundary_ok(folded, start, end, key):
                continue
            context_present.update(key.context_for)
            cues_present.update(key.cue_for)
            if key.city is not None or key.false_friend:
                candidates.append((start, end, key))
        if not candidates:
            return [], []
        candidates.sort(key=lambda item: (item[0], -(item[1] - item[0])))
        chosen: list[tuple[int, int, _Key]] = []
        last_end = -1
        for start, end, key in candidates:
            if start < last_end:
                continue
            if key.city is not None and not key.false_friend and key.case_forms is not None:
                written = text[self._orig(start, offsets):self._orig(end, offsets)]
                if _COMBINING.sub("", written).translate(_STRIP_TABLE) not in key.case_forms:
                    continue
            chosen.append((start, end, key))
            last_end = end
        base_language = _base_language(language)
        named = [(start, end, key) for start, end, key in chosen
                 if key.city is not None and not key.false_friend]
        supported = context_present | {
            key.city for start, end, key in named
            if not key.ambiguous
            or (base_language in key.clear_in and not _sentence_start(folded, start))
            or _place_cue_after(folded, end, key)
            or self._reads_as_state(folded, start, end, key, language)
        }
        # A name coordinated with another watched city ("Shenyang and Changsha", "시안과
        # 선양에서") is a city too; runs twice so that a chain of ambiguous names resolves.
        for _ in range(2):
            supported |= {
                key.city for index, (start, end, key) in enumerate(named)
                if key.city not in supported and _coordinated(folded, named, index, supported)
            }
        named_at = {start: index for index, (start, _, _) in enumerate(named)}
        mentions: list[CityMention] = []
        undecided: list[int] = []  # mentions of metonym cities that no rule reads
        for start, end, key in chosen:
            if key.false_friend or key.city is None:
                continue
            if key.ambiguous and key.city not in supported:
                continue
            if key.cued and key.city in cues_present:
                continue
            kind: MentionKind = "place"
            original_start, original_end = self._orig(start, offsets), self._orig(end, offsets)
            # two watched cities acting together ("Beijing and Shanghai said", "北京与上海签署")
            # are cities, not the state
            if key.city in self._metonym_cities and self._rules and not _coordinated(
                    folded, named, named_at[start], None):
                reading = self._rule_reading(folded, start, end, language)
                if reading is None:
                    undecided.append(len(mentions))
                kind = reading or "place"
            mentions.append(
                CityMention(
                    city=key.city,
                    surface=text[original_start:original_end],
                    start=original_start,
                    end=original_end,
                    kind=kind,
                )
            )
        return mentions, undecided

    @staticmethod
    def _orig(position: int, offsets: list[int] | None) -> int:
        return position if offsets is None else offsets[position]

    def _rules_for(self, language: str | None) -> _Rules:
        return self._rules.get(_base_language(language)) or self._rules["*"]

    def _reads_as_state(self, folded: str, start: int, end: int, key: _Key,
                        language: str | None) -> bool:
        """Whether the metonymy rules read this name as the state ("le pouvoir pékinois", "el
        Gobierno pekinés"): an ambiguous form so read needs no other support, since a dog or a
        duck has no government."""
        return (key.city in self._metonym_cities and bool(self._rules)
                and self._rule_reading(folded, start, end, language) == "government")

    def _rule_reading(self, folded: str, start: int, end: int,
                      language: str | None) -> MentionKind | None:
        if _is_dateline(folded, start, end):
            return "place"
        before = folded[max(0, start - self._window):start]
        after = folded[end:end + self._window]
        rules = self._rules_for(language)
        for kind, side, patterns in rules.by_kind:
            if side == "after_locative" and not any(
                    pattern.search(before) for pattern in rules.locative_before):
                continue  # "У Пекіні заявили": only after a locative ("in Beijing they said")
            for pattern in patterns:
                if side == "before" and pattern.search(before):
                    return kind
                if side in ("after", "after_locative") and pattern.match(after):
                    return kind
        return None

    # -- relevance -----------------------------------------------------------------------------

    def relevance(self, mentions: list[CityMention], text: str) -> dict[str, float]:
        """Per-city relevance in [0, 1]: 0.4 if named in the lead, plus 0.6 · (1 − 0.5^n).

        The lead is the title (text before the first blank line) and the first sentence after
        it. n counts mentions, a government-metonym mention as half: "Beijing said" is about
        China's policy more than about the city.
        """
        lead_end = _lead_end(text)
        counts: dict[str, float] = {}
        in_lead: set[str] = set()
        for mention in mentions:
            weight = 0.5 if mention.kind == "government" else 1.0
            counts[mention.city] = counts.get(mention.city, 0.0) + weight
            if mention.start < lead_end:
                in_lead.add(mention.city)
        return {
            city: round(min(1.0, (0.4 if city in in_lead else 0.0) + 0.6 * (1 - 0.5**count)), 3)
            for city, count in counts.items()
        }


# Support for an ambiguous name from the words right after it, by script: a Korean name followed
# by a locative particle or by a place noun (선양에서, 시안서, 선전 도심, 선양 주재, 선전시,
# 남경대학, 시안 관광, 중경 임시정부) is the city, not the common noun it shares (선전
# "propaganda", 시안 "draft", 선양 "exaltation", 천진 "naive", 중경 in 중경상 "injuries").
_PLACE_CUES_AFTER: dict[str, re.Pattern[str]] = {
    "hangul": re.compile(
        r"(?:에서|서\b|시(?:는|가|의|에서|\b)|\s*(?:시내|시민|주민|도심|도시|시정부|공항|"
        r"지하철|공장|경제특구|특구|주재|일대|교외|외곽|시가지|병마용|고궁|항구|대학|증권거래소|거래소|"
        r"관광|방문객|공업지대|임시정부|현지|법인))"),
}
# Coordination between two city names, in the languages of the gazetteer (Hebrew ו "and" may
# carry the next name's preposition: "בצ'אנגשה ובשיאן").
_COORDINATION = re.compile(
    r"^\s*(?:,|、|·|/|&|and|und|et|y|e|i|a|и|і|та|va|en|ve|ile|och|или|or|ou|o|oder|of|"
    r"과|와|및|하고|与|與|和|及|跟|と|や|و|ו[בלמה]?)\s*$")


def _base_language(language: str | None) -> str:
    """The base language code: "en" for "en", "en-GB" or "EN_gb"; "" for none."""
    return re.split(r"[-_]", (language or "").strip().lower())[0]


# A dateline names where a report was filed, which is the city: "BEIJING (Reuters) -",
# "PÉKIN, 3 mars (AFP) -", "(베이징=연합뉴스)", "【北京共同】", "新华社北京3月3日电".
_DATELINE_AFTER = re.compile(
    r"\s*(?:,[^\n()]{0,30})?\([^()\n]{1,30}\)\s*[-–—:]|\s*[=＝]|\s*(?:共同|時事|時事通信)】"
    r"|\s*\d{1,2}\s*月\s*\d{1,2}\s*日\s*电")


def _is_dateline(folded: str, start: int, end: int) -> bool:
    line_start = start == 0 or folded[start - 1] in "\n([【（" or \
        folded[:start].endswith(("新华社", "新華社", "中新社", "新华网"))
    return line_start and _DATELINE_AFTER.match(folded, end) is not None


def _place_cue_after(folded: str, end: int, key: _Key) -> bool:
    pattern = _PLACE_CUES_AFTER.get(key.right)
    return pattern is not None and pattern.match(folded, end) is not None


def _sentence_start(folded: str, start: int) -> bool:
    """Whether a name opens the text or a sentence (where every word is capitalised)."""
    before = folded[:start].rstrip()
    return not before or before[-1] in ".!?:;\n。！？"


def _coordinated(folded: str, named: list[tuple[int, int, _Key]], index: int,
                 partners: set[str] | None) -> bool:
    """Whether mention ``index`` is coordinated with a neighbouring watched city (one of
    ``partners``, or any other city when None)."""
    start, end, key = named[index]
    for other in (index - 1, index + 1):
        if not 0 <= other < len(named):
            continue
        o_start, o_end, o_key = named[other]
        if o_key.city == key.city or (partners is not None and o_key.city not in partners):
            continue
        between = folded[o_end:start] if other < index else folded[end:o_start]
        if len(between) <= 6 and _COORDINATION.match(between):
            return True
    return False


_SENTENCE_END = re.compile(r"[.!?。！？](?:\s|$)|[。！？]")


def _lead_end(text: str) -> int:
    """End of the title plus the first sentence of the body."""
    title_end = text.find("\n\n")
    body_start = 0 if title_end < 0 else title_end + 2
    match = _SENTENCE_END.search(text, body_start)
    return match.end() if match else len(text)
