"""Topic tagging from the multilingual keyword taxonomy in config/topics.yaml.

Each topic's keywords are compiled to one regex per language (rules in
``nlp.language.keyword_pattern``). An article is matched with the keywords of its own
language plus English (loanwords, mixed headlines); when the language is unknown, with every
language's. Score per topic: ``1 - exp(-rate * hits)`` where distinct keyword hits in the
title weigh ``title_weight``; topics below ``min_score`` are dropped. Several topics per text.

``TopicBackend`` is the seam for the embedding / zero-shot backends (nlp/topic_models.py):
the pipeline only calls ``classify_batch``.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Protocol

from cityradar.config import ConfigModel, check, load_yaml, validate
from nlp.config_schema import nlp_section
from nlp.language import UNDETERMINED, compile_terms

log = logging.getLogger(__name__)

TopicKind = Literal["opportunity", "risk", "neutral"]
# Languages whose keywords are tried on every article, whatever its language.
ALWAYS_TRIED = ("en",)
# Japanese text shares Han characters with Chinese: try zh keywords too (and vice versa).
RELATED_LANGUAGES: dict[str, tuple[str, ...]] = {"ja": ("zh",), "zh": ("ja",)}


@dataclass(frozen=True, slots=True)
class Topic:
    id: str
    label: str
    kind: TopicKind
    keywords: dict[str, tuple[str, ...]]  # language -> keywords

    @property
    def opportunity(self) -> bool:
        return self.kind == "opportunity"


class TopicSchema(ConfigModel):
    """One topic of topics.yaml (cityradar.config.validate turns its errors into ConfigErrors)."""

    label: str
    kind: TopicKind
    keywords: dict[str, list[Annotated[str, check(bool, "expected a non-empty string")]]]


class TopicsFile(ConfigModel):
    topics: dict[str, TopicSchema]


def load_topics(config_dir: Path) -> list[Topic]:
    """Read config/topics.yaml; errors name the file and the field."""
    path = Path(config_dir) / "topics.yaml"
    entries = validate(TopicsFile, load_yaml(path), path).topics
    return [Topic(topic_id, entry.label, entry.kind,
                  {language: tuple(terms) for language, terms in entry.keywords.items()})
            for topic_id, entry in entries.items()]


class TopicBackend(Protocol):
    def classify_batch(
        self, titles: Sequence[str], texts: Sequence[str], languages: Sequence[str]
    ) -> list[dict[str, float]]: ...


class KeywordTopicClassifier:
    """Regex keyword matcher over the taxonomy; fast and fully data-driven."""

    def __init__(
        self,
        topics: Sequence[Topic],
        min_score: float = 0.3,
        saturation_rate: float = 0.6,
        title_weight: float = 1.5,
    ) -> None:
        self.topics = list(topics)
        self.min_score = min_score
        self.saturation_rate = saturation_rate
        self.title_weight = title_weight
        self.languages = tuple(sorted({lang for topic in topics for lang in topic.keywords}))
        # One scan per language over all topics' keywords, then each hit is attributed to
        # every topic whose own keywords match it in full (a keyword may serve two topics).
        self._scanners: dict[str, re.Pattern[str]] = {}
        self._owners: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
        for language in self.languages:
            all_terms = [t for topic in self.topics for t in topic.keywords.get(language, ())]
            self._scanners[language] = compile_terms(all_terms, language)
            self._owners[language] = [
                (topic.id, compile_terms(topic.keywords[language], language))
                for topic in self.topics
                if topic.keywords.get(language)
            ]

    @classmethod
    def from_config(cls, config_dir: Path) -> KeywordTopicClassifier:
        settings = nlp_section(config_dir, "topics")
        return cls(
            load_topics(config_dir),
            min_score=settings.get("min_score", 0.3),
            saturation_rate=settings.get("saturation_rate", 0.6),
            title_weight=settings.get("title_weight", 1.5),
        )

    def _languages_for(self, language: str) -> tuple[str, ...]:
        if language == UNDETERMINED:
            return self.languages
        related = RELATED_LANGUAGES.get(language, ())
        tried = (language, *related, *ALWAYS_TRIED)
        return tuple(lang for lang in dict.fromkeys(tried) if lang in self._scanners)

    def hits(self, text: str, language: str) -> dict[str, dict[str, int]]:
        """Topic id -> {keyword as found (lower-cased): start offset of its first hit}."""
        found: dict[str, dict[str, int]] = {}
        for lang in self._languages_for(language):
            owners = self._owners[lang]
            for match in self._scanners[lang].finditer(text):
                hit = match.group(0).lower()
                for topic_id, own_terms in owners:
                    if own_terms.fullmatch(hit):
                        found.setdefault(topic_id, {}).setdefault(hit, match.start())
        return found

    def matches(self, text: str, language: str) -> dict[str, list[str]]:
        """Topic id -> the distinct keywords found (lower-cased), for explanations/tests."""
        return {topic: sorted(found) for topic, found in self.hits(text, language).items()}

    def classify(self, text: str, language: str, title_length: int = 0) -> dict[str, float]:
        """Topic id -> score in [0, 1] for topics at or above min_score, best first.

        ``title_length``: the text starts with a title of that many characters
        (Tags.text_of), whose keywords weigh ``title_weight``.
        """
        scores: dict[str, float] = {}
        for topic_id, found in self.hits(text, language).items():
            weight = sum(
                self.title_weight if start < title_length else 1.0 for start in found.values()
            )
            score = round(1.0 - math.exp(-self.saturation_rate * weight), 4)
            if score >= self.min_score:
                scores[topic_id] = score
        return dict(sorted(scores.items(), key=lambda item: -item[1]))

    def classify_batch(
        self, titles: Sequence[str], texts: Sequence[str], languages: Sequence[str]
    ) -> list[dict[str, float]]:
        return [
            self.classify(text, language, len(title))
            for title, text, language in zip(titles, texts, languages, strict=True)
        ]
