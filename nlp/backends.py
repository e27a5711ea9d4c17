"""The backend registry: the tagging pipeline asks for its sentiment scorer and topic backend
by the name nlp.yaml gives (``sentiment.backend``, ``topics.backend``).

The stage modules (nlp/sentiment.py, nlp/topics.py) define the default backends and the
protocols; the model backends (nlp/tone_model.py, nlp/transformers_backend.py,
nlp/topic_models.py) build on them. Only this module knows them all, so imports run one way:
pipeline -> backends -> model backends -> stage modules, never back. A model backend is
imported only when it is chosen, so the default pipeline never imports torch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cityradar.config import ConfigError
from nlp.config_schema import nlp_section
from nlp.sentiment import LexiconSentimentScorer, SentimentScorer
from nlp.topics import KeywordTopicClassifier, TopicBackend

SentimentFactory = Callable[[Path, Mapping[str, Any]], SentimentScorer]
TopicFactory = Callable[[Path, Mapping[str, Any]], TopicBackend]


def _lexicon(config_dir: Path, _settings: Mapping[str, Any]) -> SentimentScorer:
    return LexiconSentimentScorer.from_config(config_dir)


def _trained(config_dir: Path, settings: Mapping[str, Any]) -> SentimentScorer:
    from nlp.tone_model import TrainedSentimentScorer

    model = settings.get("trained_model")
    return TrainedSentimentScorer.from_config(
        config_dir, (Path(config_dir) / model) if model else None)


def _e5(config_dir: Path, settings: Mapping[str, Any]) -> SentimentScorer:
    from nlp.tone_model import E5SentimentScorer  # optional: pip install 'cityradar[e5]'

    head = settings.get("e5_head")
    return E5SentimentScorer.from_config(config_dir, (Path(config_dir) / head) if head else None)


def _transformers(config_dir: Path, _settings: Mapping[str, Any]) -> SentimentScorer:
    from nlp.transformers_backend import TransformersSentimentScorer  # torch is optional

    return TransformersSentimentScorer.from_config(config_dir)


def _keywords(config_dir: Path, _settings: Mapping[str, Any]) -> TopicBackend:
    return KeywordTopicClassifier.from_config(config_dir)


def _topic_model(config_dir: Path, settings: Mapping[str, Any]) -> TopicBackend:
    from nlp.topic_models import model_topic_backend  # torch is optional

    return model_topic_backend(config_dir, settings)


SENTIMENT_BACKENDS: dict[str, SentimentFactory] = {
    "lexicon": _lexicon, "trained": _trained, "e5": _e5, "transformers": _transformers}
TOPIC_BACKENDS: dict[str, TopicFactory] = {
    "keywords": _keywords, "embedding": _topic_model, "zero_shot": _topic_model}


def _build(registry: Mapping[str, Callable[[Path, Mapping[str, Any]], Any]], config_dir: Path,
           stage: str, default: str, known: str) -> Any:
    """The backend of nlp.yaml ``<stage>.backend`` (``default`` when unset), built from its
    section; an unknown name is a one-line ConfigError naming the ``known`` ones."""
    path = Path(config_dir) / "nlp.yaml"
    settings = nlp_section(config_dir, stage)
    backend = settings.get("backend", default)
    factory = registry.get(backend) if isinstance(backend, str) else None
    if factory is None:
        raise ConfigError(f"{path}: {stage}.backend {backend!r} is unknown; use {known}")
    return factory(Path(config_dir), settings)


def sentiment_scorer_from_config(config_dir: Path) -> SentimentScorer:
    """The scorer named by nlp.yaml sentiment.backend (default: lexicon)."""
    return _build(SENTIMENT_BACKENDS, config_dir, "sentiment", "lexicon",
                  "'trained', 'lexicon', 'e5' or 'transformers'")


def topic_backend_from_config(config_dir: Path) -> TopicBackend:
    """The backend named by nlp.yaml topics.backend: keywords, embedding or zero_shot."""
    return _build(TOPIC_BACKENDS, config_dir, "topics", "keywords",
                  "keywords, embedding or zero_shot")
