"""The tagging pipeline: language, cities, topics, tone (article and per city).

``Tagger.from_config(config_dir).tag(articles)`` returns copies of the articles with
``.tags`` filled. Text = ``Tags.text_of(title, summary)``; mention offsets refer to it. Work is
batched (nlp.yaml tagger.batch_size) so language detection runs in lingua's parallel batch API.
An article that fails to tag is logged, kept, and marked with ``extras["tag_error"]``: it
gets neutral "und" tags rather than stopping the batch.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path

from cityradar.records import Article, Tags
from nlp.backends import sentiment_scorer_from_config, topic_backend_from_config
from nlp.cities import CityLinker
from nlp.config_schema import nlp_section
from nlp.language import UNDETERMINED, LanguageIdentifier
from nlp.sentiment import (
    ClauseSplitter,
    LexiconSentimentScorer,
    SentimentScorer,
    SentimentSettings,
    city_sentiment,
    settings_for,
)
from nlp.topics import TopicBackend

log = logging.getLogger(__name__)

# Bump when tagging output changes (rules, lexicons, taxonomy, models), so stored articles
# can be re-tagged.
TAGGER_VERSION = "1.10.0"
DEFAULT_BATCH_SIZE = 256


def tagger_version(nlp_config: dict) -> str:
    """TAGGER_VERSION, plus the model backends when configured, e.g. ``1.0.0+sentiment=
    transformers:cardiffnlp/twitter-xlm-roberta-base-sentiment``: stored tags say what made them."""
    parts = []
    for stage, default in (("sentiment", "trained"), ("topics", "keywords")):
        section = nlp_config.get(stage) or {}
        backend = section.get("backend", default)
        if backend == "trained" and section.get("trained_model"):
            parts.append(f"{stage}=trained:{section['trained_model']}")
        elif backend == "lexicon":
            parts.append(f"{stage}=lexicon")
        elif backend == "e5":
            parts.append(f"{stage}=e5:{section.get('e5_head') or 'tone_head_e5.npz'}")
        elif backend not in (default, "trained"):
            parts.append(f"{stage}={backend}:{section.get('model', '')}")
    metonymy_model = (nlp_config.get("linking") or {}).get("metonymy_model")
    if metonymy_model:
        parts.append(f"linking=metonymy:{metonymy_model}")
    return TAGGER_VERSION + ("+" + ",".join(parts) if parts else "")


def _batches(items: Sequence[Article], size: int) -> Iterator[Sequence[Article]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Tagger:
    def __init__(
        self,
        identifier: LanguageIdentifier,
        linker: CityLinker,
        topics: TopicBackend,
        scorer: SentimentScorer,
        sentiment_settings: SentimentSettings,
        splitter: ClauseSplitter,
        batch_size: int = DEFAULT_BATCH_SIZE,
        version: str = TAGGER_VERSION,
    ) -> None:
        self.identifier = identifier
        self.linker = linker
        self.topics = topics
        self.scorer = scorer
        self.sentiment_settings = sentiment_settings
        self.splitter = splitter
        self.batch_size = max(1, batch_size)
        self.version = version

    @classmethod
    def from_config(cls, config_dir: Path) -> Tagger:
        config_dir = Path(config_dir)
        data = {name: nlp_section(config_dir, name)
                for name in ("tagger", "sentiment", "topics", "linking")}
        scorer = sentiment_scorer_from_config(config_dir)
        # Clause windows for per-city tone come with the scorer (any backend may carry them).
        rules = scorer.rules if isinstance(scorer, LexiconSentimentScorer) else getattr(
            scorer, "rules", {})
        return cls(
            identifier=LanguageIdentifier.from_config(config_dir),
            linker=CityLinker.from_config(config_dir),
            topics=topic_backend_from_config(config_dir),
            scorer=scorer,
            sentiment_settings=settings_for(data.get("sentiment") or {}, scorer),
            splitter=ClauseSplitter(rules),
            batch_size=int((data.get("tagger") or {}).get("batch_size", DEFAULT_BATCH_SIZE)),
            version=tagger_version(data),
        )

    def tag(self, articles: Sequence[Article]) -> list[Article]:
        """Copies of ``articles`` (same order) with ``tags`` filled."""
        tagged: list[Article] = []
        for batch in _batches(articles, self.batch_size):
            tagged.extend(self._tag_batch(batch))
        return tagged

    def _carries_tone(self, score: float, language: str) -> bool:
        return self.sentiment_settings.label(score, language) != "neutral"

    def _tag_batch(self, batch: Sequence[Article]) -> list[Article]:
        texts = [Tags.text_of(a.title or "", a.summary or "") for a in batch]
        languages = self.identifier.identify_batch(texts, [a.language_hint for a in batch])
        codes = [code for code, _confidence in languages]
        tags: list[Tags | None] = []
        errors: dict[int, str] = {}
        for index, (article, text, (code, confidence)) in enumerate(
            zip(batch, texts, languages, strict=True)
        ):
            try:
                mentions = self.linker.link(text, None if code == UNDETERMINED else code)
                tags.append(
                    Tags(
                        language=code,
                        language_confidence=confidence,
                        mentions=mentions,
                        cities=self.linker.relevance(mentions, text),
                        topics=self.topics.classify_batch([article.title or ""], [text],
                                                          [code])[0],
                        tagger_version=self.version,
                    )
                )
            except Exception as exc:  # one bad article must not stop the batch
                log.exception("tagging article %s failed", article.id)
                errors[index] = f"{type(exc).__name__}: {exc}"
                tags.append(None)
        scores = self.scorer.score_batch(texts, codes)
        per_city = city_sentiment(
            self.scorer,
            self.splitter,
            [
                (text, code, _spans_by_city(tag) if tag else {}, score)
                for text, code, tag, score in zip(texts, codes, tags, scores, strict=True)
            ],
            None if isinstance(self.scorer, LexiconSentimentScorer) else self._carries_tone,
        )
        result: list[Article] = []
        for index, article in enumerate(batch):
            tag = tags[index]
            if tag is None:
                extras = {**article.extras, "tag_error": errors[index]}
                result.append(dataclasses.replace(
                    article, extras=extras, tags=Tags(tagger_version=self.version)
                ))
                continue
            tag.sentiment = scores[index]
            tag.sentiment_label = self.sentiment_settings.label(scores[index], codes[index])
            tag.city_sentiment = per_city[index]
            result.append(dataclasses.replace(article, tags=tag))
        return result


def _spans_by_city(tags: Tags) -> dict[str, list[tuple[int, int]]]:
    spans: dict[str, list[tuple[int, int]]] = {}
    for mention in tags.mentions:
        spans.setdefault(mention.city, []).append((mention.start, mention.end))
    return spans
