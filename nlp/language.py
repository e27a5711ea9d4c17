"""Language identification (lingua) and per-script keyword matching rules.

``LanguageIdentifier.identify_batch(texts, hints)`` returns one ``(iso639_1, confidence)`` per
text. The article's ``language_hint`` is a prior: it wins when the text is too short to trust
the detector or the detector is unsure and still gives the hint some support, and it is the
fallback when the detector finds nothing. Unknown is ``("und", 0.0)``.

``keyword_pattern(term, language)`` turns a lexicon/taxonomy term into a regex fragment that
works for the language's script: substrings for unspaced scripts (Chinese, Japanese, Thai),
stems for agglutinative Korean, clitic prefixes for Arabic, word boundaries elsewhere, and a
trailing ``*`` for explicit stems ("protest*" matches protests, protesters).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lingua import (
    ConfidenceValue,
    IsoCode639_1,
    Language,
    LanguageDetector,
    LanguageDetectorBuilder,
)

from cityradar.config import ConfigError, validate
from nlp.config_schema import LanguageSection, nlp_file

log = logging.getLogger(__name__)

UNDETERMINED = "und"
# Codes the project reports that lingua spells differently (Norwegian: Bokmål + Nynorsk).
_EXPANDED_CODES: dict[str, tuple[str, ...]] = {"no": ("nb", "nn")}
_REPORTED_CODE: dict[str, str] = {"nb": "no", "nn": "no"}
# Hints arrive as BCP 47 tags from feeds: zh-Hant, zh-TW, pt-BR, en_US, nb-NO...
_HINT_ALIASES: dict[str, str] = {"nb": "no", "nn": "no", "iw": "he", "in": "id", "fil": "tl"}

UNSPACED_LANGUAGES = frozenset({"zh", "ja", "th"})
STEMMED_LANGUAGES = frozenset({"ko"})  # words are stems + attached endings/particles
CLITIC_LANGUAGES = frozenset({"ar", "fa", "ur"})  # attached conjunction/preposition/article
_ARABIC_CLITICS = "(?:[وفبلك]?(?:ال)?)"
_LETTER = re.compile(r"[^\W\d_]")
_WORD_TOKEN = re.compile(r"[^\W\d_]+")
_LATIN = r"A-Za-z\u00C0-\u024F\u1E00-\u1EFF"  # Basic Latin, Latin-1, Extended, Vietnamese
_LATIN_LETTER = re.compile(f"[{_LATIN}]")
_LATIN_WORD = re.compile(f"[{_LATIN}0-9'’-]*[{_LATIN}][{_LATIN}0-9'’-]*")


def normalize_code(code: str | None) -> str | None:
    """'zh-Hant' -> 'zh', 'pt_BR' -> 'pt', 'nb-NO' -> 'no'; None or empty stays None."""
    if not code:
        return None
    base = re.split(r"[-_]", code.strip().lower(), maxsplit=1)[0]
    if not base:
        return None
    return _HINT_ALIASES.get(base, base)


def _term_body(term: str, language: str, exact: bool = False) -> str:
    stem = term.endswith("*")
    body = term[:-1] if stem else term
    escaped = r"\s+".join(re.escape(part) for part in body.split())
    if language in UNSPACED_LANGUAGES:
        return escaped
    if (language in STEMMED_LANGUAGES or language in CLITIC_LANGUAGES) and not exact:
        return rf"{escaped}\w*"
    return rf"{escaped}\w*" if stem else rf"{escaped}(?!\w)"


def _left_boundary(language: str, exact: bool = False) -> str:
    if language in UNSPACED_LANGUAGES:
        return ""
    if language in CLITIC_LANGUAGES and not exact:
        return rf"(?<!\w){_ARABIC_CLITICS}"
    return r"(?<!\w)"


def keyword_pattern(term: str, language: str, exact: bool = False) -> str:
    """A regex fragment matching ``term`` as a word of ``language`` (see module docstring).

    ``exact`` keeps Korean/Arabic terms whole words unless they end in ``*`` (for short
    function words such as negators, where an implicit stem would over-match).
    """
    return _left_boundary(language, exact) + _term_body(term, language, exact)


def compile_terms(terms: Sequence[str], language: str, exact: bool = False) -> re.Pattern[str]:
    """One case-insensitive regex for all ``terms``, longest first so phrases win.

    The word-boundary check is factored out of the alternation: that makes the scan several
    times faster than one lookbehind per alternative.
    """
    ordered = sorted({t.lower() for t in terms if t}, key=len, reverse=True)
    if not ordered:
        return re.compile(r"(?!x)x")  # matches nothing
    bodies = "|".join(_term_body(term, language, exact) for term in ordered)
    return re.compile(f"{_left_boundary(language, exact)}(?:{bodies})", re.IGNORECASE)


def compile_indexed_terms(
    terms: Sequence[str], language: str, exact: bool = False
) -> re.Pattern[str]:
    """Like compile_terms for distinct, already ordered ``terms``, each in its own group:
    ``match.lastindex - 1`` is the index of the term that matched."""
    if not terms:
        return re.compile(r"(?!x)x")
    bodies = "|".join(f"({_term_body(term.lower(), language, exact)})" for term in terms)
    return re.compile(f"{_left_boundary(language, exact)}(?:{bodies})", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class LanguageSettings:
    languages: tuple[str, ...]
    preload_models: bool = True
    short_text_letters: int = 25
    min_confidence: float = 0.5
    hint_top_candidates: int = 3
    low_accuracy_min_chars: int = 120
    # Mixed-script text (a site's Latin-script name or navigation around Urdu, Arabic, Russian,
    # Chinese... content): when at least this share of the letters are non-Latin, the Latin
    # words are left out of detection. 1.0 turns this off.
    non_latin_share: float = 0.3
    # Close pairs lingua confuses (Malay/Indonesian): language -> spelling markers of its own.
    marker_words: tuple[tuple[str, frozenset[str]], ...] = ()

    @classmethod
    def from_mapping(cls, data: Any, where: str) -> LanguageSettings:
        """nlp.yaml's ``language`` section (``where`` names it in errors), validated."""
        data = validate(LanguageSection, data, where).model_dump(exclude_none=True)
        return cls(
            languages=tuple(data["languages"]),
            preload_models=data.get("preload_models", True),
            short_text_letters=data.get("short_text_letters", 25),
            min_confidence=data.get("min_confidence", 0.5),
            hint_top_candidates=data.get("hint_top_candidates", 3),
            low_accuracy_min_chars=data.get("low_accuracy_min_chars", 120),
            non_latin_share=data.get("non_latin_share", 0.3),
            marker_words=tuple((code, frozenset(w.lower() for w in words))
                               for code, words in (data.get("marker_words") or {}).items()),
        )


def _lingua_languages(codes: Sequence[str], where: str) -> list[Language]:
    languages: list[Language] = []
    for code in codes:
        for lingua_code in _EXPANDED_CODES.get(code, (code,)):
            try:
                iso = IsoCode639_1.from_str(lingua_code)
            except ValueError as exc:
                raise ConfigError(f"{where}: unsupported language code {code!r}") from exc
            languages.append(Language.from_iso_code_639_1(iso))
    return languages


def _code_of(language: Language) -> str:
    code = language.iso_code_639_1.name.lower()
    return _REPORTED_CODE.get(code, code)


class LanguageIdentifier:
    """Picks one of the configured languages per text; models are loaded once, at build."""

    def __init__(self, settings: LanguageSettings, where: str = "language") -> None:
        self.settings = settings
        languages = _lingua_languages(settings.languages, f"{where}.languages")
        self.supported = frozenset(_code_of(language) for language in languages)
        self._markers = {
            code: words for code, words in settings.marker_words if code in self.supported
        }
        accurate = LanguageDetectorBuilder.from_languages(*languages)
        fast = LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode()
        if settings.preload_models:
            accurate = accurate.with_preloaded_language_models()
            fast = fast.with_preloaded_language_models()
        self._detector: LanguageDetector = accurate.build()
        # Trigram-only mode: about 4x faster and as good once a text is long enough.
        self._fast_detector: LanguageDetector = fast.build()

    @classmethod
    def from_config(cls, config_dir: Path) -> LanguageIdentifier:
        path, data = nlp_file(config_dir)
        where = f"{path}: language"
        return cls(LanguageSettings.from_mapping(data.language and data.language.model_dump(),
                                                 where), where)

    def identify(self, text: str, hint: str | None = None) -> tuple[str, float]:
        return self.identify_batch([text], [hint])[0]

    def identify_batch(
        self, texts: Sequence[str], hints: Sequence[str | None] | None = None
    ) -> list[tuple[str, float]]:
        """One (code, confidence) per text, in order; hints may be None or shorter lists."""
        hints = list(hints or [])
        hints += [None] * (len(texts) - len(hints))
        long_enough = self.settings.low_accuracy_min_chars
        detected = [self._detection_text(text) for text in texts]
        candidates: list[list[ConfidenceValue]] = [[] for _ in texts]
        for detector, indices in (
            (self._detector, [i for i, t in enumerate(detected) if len(t) < long_enough]),
            (self._fast_detector, [i for i, t in enumerate(detected) if len(t) >= long_enough]),
        ):
            if indices:
                values = detector.compute_language_confidence_values_in_parallel(
                    [detected[i] for i in indices]
                )
                for i, ranked in zip(indices, values, strict=True):
                    candidates[i] = ranked
        return [
            self._decide(text, ranked, normalize_code(hint))
            for text, ranked, hint in zip(texts, candidates, hints, strict=True)
        ]

    def _detection_text(self, text: str) -> str:
        """The text without its Latin-script words when the text is mostly another script
        (see ``non_latin_share``); otherwise the text itself."""
        letters = len(_LETTER.findall(text))
        if not letters:
            return text
        latin = len(_LATIN_LETTER.findall(text))
        if latin == 0 or latin == letters:
            return text
        if (letters - latin) / letters < self.settings.non_latin_share:
            return text
        return _LATIN_WORD.sub(" ", text)

    def _break_close_tie(
        self, text: str, ranked_codes: list[tuple[str, float]]
    ) -> list[tuple[str, float]]:
        """When the top two are a marker pair (Malay/Indonesian), the side whose spelling
        markers occur more often (kerana/karena, wang/uang...) goes first."""
        if len(ranked_codes) < 2 or not self._markers:
            return ranked_codes
        (first, first_conf), (second, second_conf) = ranked_codes[:2]
        if first not in self._markers or second not in self._markers:
            return ranked_codes
        words = _WORD_TOKEN.findall(text.lower())
        first_count = sum(word in self._markers[first] for word in words)
        second_count = sum(word in self._markers[second] for word in words)
        if second_count <= first_count:
            return ranked_codes
        return [(second, second_conf), (first, first_conf), *ranked_codes[2:]]

    def _decide(
        self, text: str, ranked: list[ConfidenceValue], hint: str | None
    ) -> tuple[str, float]:
        hint = hint if hint in self.supported else None
        ranked_codes: list[tuple[str, float]] = []
        for value in ranked:
            code = _code_of(value.language)
            if ranked_codes and ranked_codes[-1][0] == code:  # Bokmål then Nynorsk: merge
                ranked_codes[-1] = (code, ranked_codes[-1][1] + value.value)
            else:
                ranked_codes.append((code, value.value))
        ranked_codes = [(code, conf) for code, conf in ranked_codes if conf > 0.0]
        if not ranked_codes:
            return (hint, 0.5) if hint else (UNDETERMINED, 0.0)
        ranked_codes = self._break_close_tie(text, ranked_codes)
        top_code, top_conf = ranked_codes[0]
        if hint is None or hint == top_code:
            return top_code, round(top_conf, 4)
        support = dict(ranked_codes).get(hint, 0.0)
        if hint in self._markers and top_code in self._markers and support > 0.0:
            # Malay vs Indonesian cannot be told apart reliably from one text: the feed knows.
            return hint, round(support, 4)
        if len(_LETTER.findall(text)) < self.settings.short_text_letters:
            # Too short for the detector: the feed's declared language is the better guess.
            return hint, round(max(support, 0.5 * top_conf), 4)
        top_n = [code for code, _conf in ranked_codes[: self.settings.hint_top_candidates]]
        if top_conf < self.settings.min_confidence and hint in top_n:
            # Ambiguous, and the hint is among the detector's own candidates: the prior wins.
            return hint, round(support, 4)
        return top_code, round(top_conf, 4)
