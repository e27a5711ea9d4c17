"""Sentiment (tone) of news text: an offline, weight-free lexicon + rules scorer.

Lexicons: config/lexicons/sentiment/<lang>.txt, ``term<TAB>weight`` (weights -3..3, ``*`` marks
a stem, ``#`` starts a comment). Rules per language in config/nlp.yaml (sentiment.rules):
negators flip and damp a nearby term (before it; after it for Japanese/Korean, where negation
follows the verb), intensifiers scale the next term, and in "X but Y" the part after the
contrast word outweighs the part before. The summed weight ``s`` is normalised to [-1, 1] as
``s / sqrt(s^2 + alpha)`` (VADER's normalisation).

Languages without a lexicon score 0 and are labelled "neutral": the tool says nothing rather
than guess. ``SentimentScorer`` is the seam for the ``transformers`` backend (issue 5).

Per-city tone: ``city_sentiment`` scores the sentence around each mention of a city, cut at
punctuation or a clause/contrast word such as "while", "but" where that separates it from
another city's mention, widening to the sentence, then to the article's score, when a
narrower span carries no sentiment words.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cityradar.config import ConfigError
from cityradar.records import SentimentLabel
from nlp.config_schema import nlp_section
from nlp.language import UNSPACED_LANGUAGES, compile_indexed_terms, compile_terms

log = logging.getLogger(__name__)

LEXICON_DIR = Path("lexicons") / "sentiment"
_SENTENCE_END = re.compile(r"[.!?。！？\n]+")
_CLAUSE_PUNCT = r"[,;:，；：、()（）\"“”«»\u2014\u2013]|\s-\s"
_WORD = re.compile(r"\w+")
# Curly apostrophes to straight, one character for one so offsets keep their meaning.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


class SentimentScorer(Protocol):
    """Any backend: one tone in [-1, 1] per text (0 when it cannot tell)."""

    def score_batch(self, texts: Sequence[str], languages: Sequence[str]) -> list[float]: ...


@dataclass(frozen=True, slots=True)
class SentimentSettings:
    negative_threshold: float = -0.15
    positive_threshold: float = 0.15
    alpha: float = 6.0
    negation_scale: float = -0.6
    negation_window_tokens: int = 3
    negation_window_chars: int = 3
    contrast_before_weight: float = 0.5
    contrast_after_weight: float = 1.5
    backend: str = "lexicon"
    # language -> (negative, positive): thresholds calibrated per language (the trained model
    # brings them for the languages it has labelled training data in); others use the above.
    per_language: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SentimentSettings:
        thresholds = data.get("thresholds") or {}
        return cls(
            negative_threshold=float(thresholds.get("negative", -0.15)),
            positive_threshold=float(thresholds.get("positive", 0.15)),
            alpha=float(data.get("alpha", 6.0)),
            negation_scale=float(data.get("negation_scale", -0.6)),
            negation_window_tokens=int(data.get("negation_window_tokens", 3)),
            negation_window_chars=int(data.get("negation_window_chars", 3)),
            contrast_before_weight=float(data.get("contrast_before_weight", 0.5)),
            contrast_after_weight=float(data.get("contrast_after_weight", 1.5)),
            backend=str(data.get("backend", "lexicon")),
        )

    def label(self, score: float, language: str | None = None) -> SentimentLabel:
        """The label of a score, with the language's own thresholds when it has some (see
        nlp/tone_model.py: the labels mean the same share of tone in every language)."""
        negative, positive = self.negative_threshold, self.positive_threshold
        if language and self.per_language:
            negative, positive = self.per_language.get(
                language, self.per_language.get(language.split("-")[0], (negative, positive)))
        if score <= negative:
            return "negative"
        if score >= positive:
            return "positive"
        return "neutral"


def _word_list(rules: Mapping[str, Any], key: str, where: str) -> list[str]:
    return rules.get(key) or []  # a list of strings: nlp/config_schema.py validated it


@dataclass(slots=True)
class LanguageRules:
    language: str
    negators: re.Pattern[str]
    intensifiers: re.Pattern[str]
    intensifier_scale: dict[str, float]
    contrast: re.Pattern[str]
    clause_split: re.Pattern[str]
    negation_after: bool = False

    @classmethod
    def from_mapping(cls, language: str, rules: Mapping[str, Any], where: str) -> LanguageRules:
        intensifiers = rules.get("intensifiers") or {}
        contrast = _word_list(rules, "contrast", where)
        clause = _word_list(rules, "clause", where)
        splitters = compile_terms([*contrast, *clause], language, exact=True).pattern
        return cls(
            language=language,
            negators=compile_terms(_word_list(rules, "negators", where), language, exact=True),
            intensifiers=compile_terms(list(intensifiers), language, exact=True),
            intensifier_scale={str(k).lower(): float(v) for k, v in intensifiers.items()},
            contrast=compile_terms(contrast, language, exact=True),
            clause_split=re.compile(f"{_CLAUSE_PUNCT}|[.!?。！？\n]|{splitters}", re.IGNORECASE),
            negation_after=bool(rules.get("negation_after", False)),
        )


_PUNCT_ONLY = re.compile(f"{_CLAUSE_PUNCT}|[.!?。！？\n]", re.IGNORECASE)


@dataclass(slots=True)
class Lexicon:
    language: str
    scanner: re.Pattern[str]  # all terms, no groups: the fast scan
    resolver: re.Pattern[str]  # group i + 1 matches terms[i]: run on each hit only
    terms: list[str]
    weights: list[float]

    @classmethod
    def load(cls, path: Path, language: str) -> Lexicon:
        entries: dict[str, float] = {}
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            term, sep, weight = line.rpartition("\t")
            try:
                if not sep or not term.strip():
                    raise ValueError("expected term<TAB>weight")
                entries[term.strip().lower()] = float(weight)
            except ValueError as exc:
                raise ConfigError(f"{path}:{number}: {exc} (got {raw!r})") from exc
        terms = sorted(entries, key=len, reverse=True)  # longest first: phrases win
        return cls(language, compile_terms(terms, language), compile_indexed_terms(terms, language),
                   terms, [entries[t] for t in terms])


@dataclass(slots=True)
class TermHit:
    term: str
    start: int
    end: int
    weight: float  # after negation / intensifier / contrast


def language_rules(sentiment_config: dict[str, Any], path: Path) -> dict[str, LanguageRules]:
    """The per-language rule words (negators, intensifiers, contrast and clause words) of
    config/nlp.yaml's ``sentiment.rules``; every scorer uses them for per-city clauses."""
    rules: dict[str, LanguageRules] = {}
    for language, entry in (sentiment_config.get("rules") or {}).items():
        where = f"{path}: sentiment.rules.{language}"
        rules[str(language)] = LanguageRules.from_mapping(str(language), entry, where)
    return rules


@dataclass
class LexiconSentimentScorer:
    """Lexicon + rules; offline and deterministic. See the module docstring."""

    settings: SentimentSettings
    lexicons: dict[str, Lexicon]
    rules: dict[str, LanguageRules] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config_dir: Path) -> LexiconSentimentScorer:
        path = Path(config_dir) / "nlp.yaml"
        data = nlp_section(config_dir, "sentiment")
        settings = SentimentSettings.from_mapping(data)
        lexicons: dict[str, Lexicon] = {}
        for lexicon_path in sorted((Path(config_dir) / LEXICON_DIR).glob("*.txt")):
            lexicons[lexicon_path.stem] = Lexicon.load(lexicon_path, lexicon_path.stem)
        rules = language_rules(data, path)
        if not lexicons:
            log.warning("no sentiment lexicons under %s: every text scores neutral",
                        Path(config_dir) / LEXICON_DIR)
        return cls(settings, lexicons, rules)

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(self.lexicons)

    def hits(self, text: str, language: str) -> list[TermHit]:
        """The sentiment terms found, with their weights after the rules (for explanations)."""
        lexicon = self.lexicons.get(language)
        if lexicon is None:
            return []
        text = text.translate(_APOSTROPHES)
        rules = self.rules.get(language)
        unspaced = language in UNSPACED_LANGUAGES
        negators = [(m.start(), m.end()) for m in rules.negators.finditer(text)] if rules else []
        boosts = (
            [(m.start(), m.end(), m.group(0).lower()) for m in rules.intensifiers.finditer(text)]
            if rules
            else []
        )
        contrasts = [m.start() for m in rules.contrast.finditer(text)] if rules else []
        sentence_starts = [0] + [m.end() for m in _SENTENCE_END.finditer(text)]
        found: list[TermHit] = []
        for match in lexicon.scanner.finditer(text):
            resolved = lexicon.resolver.fullmatch(match.group(0))
            if resolved is None:  # cannot happen: both patterns hold the same terms
                continue
            index = (resolved.lastindex or 1) - 1
            start, end = match.span()
            weight = lexicon.weights[index]
            if rules is not None:
                negator = self._negator_of(text, start, end, negators, unspaced,
                                           rules.negation_after)
                if negator is not None:
                    # A negator governs the one sentiment term nearest to it, not the rest.
                    negators.remove(negator)
                    weight *= self.settings.negation_scale
                for _b_start, b_end, word in boosts:
                    if self._near(text, b_end, start, unspaced, max_words=0, max_chars=1):
                        weight *= rules.intensifier_scale.get(word, 1.0)
                sentence_start = max(s for s in sentence_starts if s <= start)
                next_end = min((s for s in sentence_starts if s > start), default=len(text))
                if any(sentence_start <= c < start for c in contrasts):
                    weight *= self.settings.contrast_after_weight
                elif any(end <= c < next_end for c in contrasts):
                    weight *= self.settings.contrast_before_weight
            found.append(TermHit(lexicon.terms[index], start, end, weight))
        return found

    def _near(self, text: str, left_end: int, right_start: int, unspaced: bool,
              max_words: int, max_chars: int) -> bool:
        """Whether two spans are within reach: same clause, few enough words/chars between."""
        if left_end > right_start:
            return False
        gap = text[left_end:right_start]
        if _PUNCT_ONLY.search(gap):
            return False
        if unspaced:
            return len(gap.strip()) <= max_chars
        return len(_WORD.findall(gap)) <= max_words

    def _negator_of(self, text: str, start: int, end: int, negators: list[tuple[int, int]],
                    unspaced: bool, after: bool) -> tuple[int, int] | None:
        words = self.settings.negation_window_tokens
        chars = self.settings.negation_window_chars
        for n_start, n_end in negators:
            if after:
                if n_start >= end and self._near(text, end, n_start, unspaced, words, chars):
                    return n_start, n_end
            elif n_end <= start and self._near(text, n_end, start, unspaced, words, chars):
                return n_start, n_end
        return None

    def score(self, text: str, language: str) -> float:
        total = sum(hit.weight for hit in self.hits(text, language))
        if total == 0.0:
            return 0.0
        return round(total / math.sqrt(total * total + self.settings.alpha), 4)

    def score_batch(self, texts: Sequence[str], languages: Sequence[str]) -> list[float]:
        return [self.score(text, lang) for text, lang in zip(texts, languages, strict=True)]


def settings_for(data: Mapping[str, Any], scorer: SentimentScorer) -> SentimentSettings:
    """nlp.yaml's sentiment settings; a scorer that brings its own label thresholds (the
    trained model chose them by cross-validation) overrides ``thresholds``."""
    settings = SentimentSettings.from_mapping(data)
    own = getattr(scorer, "thresholds", None)
    if own:
        per_language = {str(lang): (float(pair[0]), float(pair[1]))
                        for lang, pair in (own.get("per_language") or {}).items()}
        settings = dataclasses.replace(settings, negative_threshold=float(own["negative"]),
                                       positive_threshold=float(own["positive"]),
                                       per_language=per_language)
    return settings


def _bounds(text: str, start: int, end: int, splitter: re.Pattern[str]) -> tuple[int, int]:
    """Where the stretch between the nearest splitter matches around [start, end) begins and
    ends."""
    left = 0
    right = len(text)
    for match in splitter.finditer(text):
        if match.end() <= start:
            left = match.end()
        elif match.start() >= end:
            right = match.start()
            break
    return left, right


class ClauseSplitter:
    """The part of a sentence that is about one city's mention, by language (clause rules in
    nlp.yaml)."""

    def __init__(self, rules: Mapping[str, LanguageRules]) -> None:
        self._rules = rules
        self._default = _PUNCT_ONLY

    def context(self, text: str, start: int, end: int, language: str,
                others: Sequence[tuple[int, int]] = ()) -> str:
        """The mention's sentence, cut at a clause boundary (punctuation, a clause or contrast
        word) only where the boundary stands between the mention and another city's mention
        (``others``): "While Wuhan mourns, Shanghai celebrates" gives each city its clause, but
        a sentence about one city is read whole, since a comma or an "and" inside it does not
        end what is said about that city (out-of-fold news macro-F1 0.699 with every clause
        boundary, 0.729 with these, on dev rounds 1-7)."""
        rules = self._rules.get(language)
        splitter = rules.clause_split if rules else self._default
        sentence_start, sentence_end = _bounds(text, start, end, _SENTENCE_END)
        left, right = sentence_start, sentence_end
        for match in splitter.finditer(text, sentence_start, sentence_end):
            if match.end() <= start:
                if any(sentence_start <= other_end <= match.start() for _, other_end in others):
                    left = match.end()
            elif match.start() >= end:
                if any(match.end() <= other_start < sentence_end for other_start, _ in others):
                    right = match.start()
                break
        return text[left:right]

    def sentence(self, text: str, start: int, end: int) -> str:
        left, right = _bounds(text, start, end, _SENTENCE_END)
        return text[left:right]

    def city_contexts(self, text: str, spans: Mapping[str, Sequence[tuple[int, int]]],
                      city: str, language: str) -> tuple[str, str]:
        """(context, sentences) of one city's mentions in ``text``, each joined with " . "."""
        others = [span for other, other_spans in spans.items() if other != city
                  for span in other_spans]
        contexts = dict.fromkeys(self.context(text, s, e, language, others)
                                 for s, e in spans[city])
        sentences = dict.fromkeys(self.sentence(text, s, e) for s, e in spans[city])
        return " . ".join(contexts), " . ".join(sentences)


def city_sentiment(
    scorer: SentimentScorer,
    splitter: ClauseSplitter,
    items: Sequence[tuple[str, str, Mapping[str, Sequence[tuple[int, int]]], float]],
    carries_tone: Callable[[float, str], bool] | None = None,
) -> list[dict[str, float]]:
    """Per-city tone for many texts at once.

    ``items``: (text, language, city -> mention spans, article score). For each city the
    contexts of its mentions (ClauseSplitter.context) are scored together; if they carry no
    tone, the sentences; if those carry none either, the article's score.
    ``carries_tone(score, language)``
    (default: score != 0, right for the lexicon, which scores 0 without a tone word; the
    tagger passes "its label is not neutral" for a model that never scores exactly 0). When
    nothing carries tone, the context's own score is kept.
    """
    tone = carries_tone or (lambda score, _language: score != 0.0)
    context_texts: list[str] = []
    sentence_texts: list[str] = []
    languages: list[str] = []
    keys: list[tuple[int, str]] = []
    for index, (text, language, spans, _article) in enumerate(items):
        masked = without_city_names(text, spans)
        for city in spans:
            context, sentences = splitter.city_contexts(masked, spans, city, language)
            context_texts.append(context)
            sentence_texts.append(sentences)
            languages.append(language)
            keys.append((index, city))
    def scores_with_content(texts: list[str], positions: Sequence[int]) -> dict[int, float]:
        """Scores of the texts at ``positions`` that have content (the rest: 0, unscored)."""
        scored = [i for i in positions if has_content(texts[i], languages[i])]
        if not scored:
            return {}
        values = scorer.score_batch([texts[i] for i in scored], [languages[i] for i in scored])
        return dict(zip(scored, values, strict=True))

    context_scores = scores_with_content(context_texts, range(len(keys)))
    need_sentence = [i for i in range(len(keys))
                     if not (i in context_scores and tone(context_scores[i], languages[i]))]
    # a city alone in its sentence was read whole already: its sentence would score the same
    sentence_scores = scores_with_content(
        sentence_texts, [i for i in need_sentence if sentence_texts[i] != context_texts[i]])
    need_sentence_set = set(need_sentence)
    results: list[dict[str, float]] = [{} for _ in items]
    for position, (index, city) in enumerate(keys):
        score = context_scores.get(position, 0.0)
        if position in need_sentence_set:
            language = languages[position]
            score = next((s for s in (sentence_scores.get(position, 0.0), items[index][3])
                          if tone(s, language)), score)
        results[index][city] = score
    return results


# Fewer word characters than this, once city names are blanked, and a clause says nothing about
# the city ("In Chengdu," or a bare dateline): its tone comes from the sentence (or article).
# In scripts written without spaces one character is about a syllable or a word.
MIN_CONTENT_CHARS = 6
MIN_CONTENT_CHARS_UNSPACED = 2


def without_city_names(text: str, spans: Mapping[str, Sequence[tuple[int, int]]]) -> str:
    """The text with every city mention blanked (same length, so spans stay valid): a model
    must not read tone from which city is named (tweets and news teach it that one city's
    name goes with bad news)."""
    chars = list(text)
    for city_spans in spans.values():
        for start, end in city_spans:
            chars[start:end] = " " * (end - start)
    return "".join(chars)


def has_content(text: str, language: str) -> bool:
    least = MIN_CONTENT_CHARS_UNSPACED if language in UNSPACED_LANGUAGES else MIN_CONTENT_CHARS
    return sum(len(word) for word in _WORD.findall(text)) >= least
