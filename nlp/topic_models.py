"""Model topic backends (``topics.backend: embedding | zero_shot`` in config/nlp.yaml).

``embedding``: the text and every topic are embedded with the same transformer encoder
(mean of the last hidden states over real tokens, L2-normalised). A topic's vector is the mean
of the embeddings of its descriptions: the label, and per language the label plus its keywords
(config/topics.yaml). Score = cosine similarity clipped to [0, 1]; a topic is kept at
``threshold`` or above.

``zero_shot``: the transformers zero-shot-classification pipeline over a (multilingual) NLI
model, the topic labels as candidate labels, ``hypothesis_template`` as the hypothesis,
multi-label; a topic is kept at ``threshold`` or above.

Both may be combined with the keyword classifier (``combine: max | weighted | none``): the
keywords stay precise on terms the taxonomy knows, the model adds recall where they miss.

torch and transformers are imported only when one of these backends is built; the default
keyword pipeline never imports them. ``model`` is a local directory or a name fetched once by
``cityradar models fetch`` (nlp/models.py); nothing is downloaded here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cityradar.config import ConfigError, validate
from nlp.config_schema import TopicsSection
from nlp.models import resolve_model
from nlp.topics import KeywordTopicClassifier, Topic, TopicBackend, load_topics

log = logging.getLogger(__name__)

MODEL_BACKENDS = ("embedding", "zero_shot")
DEFAULT_ZERO_SHOT_MODEL = "MoritzLaurer/mDeBERTa-v3-base-xnli-multilingual-nli-2mil7"
DEFAULT_EMBEDDING_MODEL = "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"


@dataclass(frozen=True, slots=True)
class TopicModelSettings:
    backend: str
    model: str
    device: str = "auto"
    batch_size: int = 32
    max_length: int = 256
    threshold: float = 0.5
    combine: str = "max"
    keyword_weight: float = 0.5  # share of the keyword score when combine is "weighted"
    hypothesis_template: str = "This text is about {}."

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str) -> TopicModelSettings:
        """nlp.yaml's ``topics`` section (``where`` names it in errors), validated."""
        section = validate(TopicsSection, data, where).model_dump(exclude_none=True)
        backend = section["backend"]
        if backend not in MODEL_BACKENDS:
            raise ConfigError(f"{where}.backend: expected one of {', '.join(MODEL_BACKENDS)}")
        default_model = DEFAULT_EMBEDDING_MODEL if backend == "embedding" else (
            DEFAULT_ZERO_SHOT_MODEL)
        fields = {name: section[name] for name in cls.__dataclass_fields__ if name in section}
        return cls(**{**fields, "model": section.get("model") or default_model})


def _import_torch_stack(backend: str) -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise ConfigError(
            f"topics.backend {backend!r} needs torch and transformers ({exc.name} is missing): "
            "pip install 'cityradar[transformers]'"
        ) from exc
    transformers.utils.logging.disable_progress_bar()
    return torch, transformers


def _device(torch: Any, wanted: str) -> str:
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if wanted == "cuda" and not torch.cuda.is_available():
        raise ConfigError("topics.device is 'cuda' but torch sees no CUDA GPU; use cpu or auto")
    return wanted


def _load(loader: Any, path: Path, what: str) -> Any:
    try:
        return loader.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        reason = " ".join(str(exc).split())[:300]
        raise ConfigError(f"cannot load topic {what} from {path}: {reason}") from exc


def topic_descriptions(topic: Topic) -> list[str]:
    """The label alone, then per language the label with its keywords (stems unstarred)."""
    descriptions = [topic.label]
    for terms in topic.keywords.values():
        words = ", ".join(term.rstrip("*") for term in terms)
        descriptions.append(f"{topic.label}: {words}")
    return descriptions


class EmbeddingTopicClassifier:
    """Cosine of mean-pooled encoder embeddings: text vs each topic's descriptions."""

    def __init__(self, topics: Sequence[Topic], model: Any, tokenizer: Any, device: str = "cpu",
                 threshold: float = 0.5, batch_size: int = 32, max_length: int = 256) -> None:
        torch, _transformers = _import_torch_stack("embedding")
        self._torch = torch
        self.topics = list(topics)
        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.device = device
        self.threshold = threshold
        self.batch_size = max(1, batch_size)
        model_limit = getattr(tokenizer, "model_max_length", None)
        if isinstance(model_limit, int) and model_limit < 10**6:
            max_length = min(max_length, model_limit)
        self.max_length = max_length
        vectors = []
        for topic in self.topics:
            mean = self.embed(topic_descriptions(topic)).mean(dim=0)
            vectors.append(torch.nn.functional.normalize(mean, dim=0))
        self.topic_matrix = torch.stack(vectors)  # topics x hidden

    @classmethod
    def from_settings(cls, topics: Sequence[Topic],
                      settings: TopicModelSettings) -> EmbeddingTopicClassifier:
        torch, transformers = _import_torch_stack("embedding")
        path = resolve_model(settings.model)
        tokenizer = _load(transformers.AutoTokenizer, path, "tokenizer")
        model = _load(transformers.AutoModel, path, "embedding model")
        log.info("topic embedding model %s", path)
        return cls(topics, model, tokenizer, _device(torch, settings.device), settings.threshold,
                   settings.batch_size, settings.max_length)

    def embed(self, texts: Sequence[str]) -> Any:
        """L2-normalised mean-pooled embeddings, one row per text."""
        torch = self._torch
        rows = []
        for start in range(0, len(texts), self.batch_size):
            chunk = list(texts[start : start + self.batch_size])
            encoded = self.tokenizer(chunk, padding=True, truncation=True,
                                     max_length=self.max_length, return_tensors="pt")
            encoded = {key: value.to(self.device) for key, value in encoded.items()}
            with torch.inference_mode():
                hidden = self.model(**encoded).last_hidden_state.float()
            mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
            rows.append(torch.nn.functional.normalize(pooled, dim=-1).cpu())
        return torch.cat(rows) if rows else torch.zeros((0, self.model.config.hidden_size))

    def similarities(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Topic id -> cosine in [-1, 1] for every topic, per text."""
        matrix = self.embed(texts) @ self.topic_matrix.cpu().T
        return [
            {topic.id: round(float(value), 4) for topic, value in zip(self.topics, row,
                                                                        strict=True)}
            for row in matrix
        ]

    def classify_batch(
        self, titles: Sequence[str], texts: Sequence[str], languages: Sequence[str]
    ) -> list[dict[str, float]]:
        results: list[dict[str, float]] = [{} for _ in texts]
        wanted = [i for i, text in enumerate(texts) if text and text.strip()]
        try:
            rows = self.similarities([texts[i] for i in wanted])
        except Exception:  # a model failure must not lose the articles: keyword-free empty tags
            log.exception("topic embedding failed for a batch of %d texts", len(wanted))
            return results
        for index, row in zip(wanted, rows, strict=True):
            kept = {topic: max(0.0, score) for topic, score in row.items()
                    if score >= self.threshold}
            results[index] = dict(sorted(kept.items(), key=lambda item: -item[1]))
        return results


class ZeroShotTopicClassifier:
    """The transformers zero-shot-classification pipeline over the topic labels."""

    def __init__(self, topics: Sequence[Topic], classifier: Any, threshold: float = 0.5,
                 hypothesis_template: str = "This text is about {}.",
                 batch_size: int = 8) -> None:
        self.topics = list(topics)
        self.classifier = classifier
        self.threshold = threshold
        self.hypothesis_template = hypothesis_template
        self.batch_size = max(1, batch_size)
        self._id_of_label = {topic.label: topic.id for topic in self.topics}

    @classmethod
    def from_settings(cls, topics: Sequence[Topic],
                      settings: TopicModelSettings) -> ZeroShotTopicClassifier:
        torch, transformers = _import_torch_stack("zero_shot")
        path = resolve_model(settings.model)
        tokenizer = _load(transformers.AutoTokenizer, path, "tokenizer")
        model = _load(transformers.AutoModelForSequenceClassification, path, "NLI model")
        labels = {str(name).lower() for name in (model.config.label2id or {})}
        if not any(name.startswith("entail") for name in labels):
            raise ConfigError(f"topic NLI model {path} has no 'entailment' label "
                              f"(labels: {sorted(labels)}); use an NLI model")
        device = _device(torch, settings.device)
        classifier = transformers.pipeline("zero-shot-classification", model=model,
                                           tokenizer=tokenizer, device=device)
        log.info("topic zero-shot model %s on %s", path, device)
        return cls(topics, classifier, settings.threshold, settings.hypothesis_template,
                   settings.batch_size)

    def scores(self, text: str) -> dict[str, float]:
        """Topic id -> entailment probability (each topic scored on its own), every topic."""
        output = self.classifier(text, [topic.label for topic in self.topics],
                                 hypothesis_template=self.hypothesis_template, multi_label=True)
        return {self._id_of_label[label]: round(float(score), 4)
                for label, score in zip(output["labels"], output["scores"], strict=True)}

    def classify_batch(
        self, titles: Sequence[str], texts: Sequence[str], languages: Sequence[str]
    ) -> list[dict[str, float]]:
        results: list[dict[str, float]] = []
        for text in texts:
            if not text or not text.strip():
                results.append({})
                continue
            try:
                row = self.scores(text)
            except Exception:  # one bad text must not cost the batch
                log.exception("zero-shot topics failed for text %r", text[:80])
                row = {}
            kept = {topic: score for topic, score in row.items() if score >= self.threshold}
            results.append(dict(sorted(kept.items(), key=lambda item: -item[1])))
        return results


class CombinedTopicClassifier:
    """Keyword scores merged with a model's: per topic the max, or a weighted mean."""

    def __init__(self, keywords: TopicBackend, model: TopicBackend, mode: str = "max",
                 keyword_weight: float = 0.5, min_score: float = 0.3) -> None:
        if mode not in ("max", "weighted"):
            raise ConfigError(f"topics.combine: expected max or weighted, got {mode!r}")
        self.keywords = keywords
        self.model = model
        self.mode = mode
        self.keyword_weight = keyword_weight
        self.min_score = min_score

    def classify_batch(
        self, titles: Sequence[str], texts: Sequence[str], languages: Sequence[str]
    ) -> list[dict[str, float]]:
        by_keywords = self.keywords.classify_batch(titles, texts, languages)
        by_model = self.model.classify_batch(titles, texts, languages)
        merged: list[dict[str, float]] = []
        for keyword_scores, model_scores in zip(by_keywords, by_model, strict=True):
            scores: dict[str, float] = {}
            for topic in set(keyword_scores) | set(model_scores):
                keyword, model = keyword_scores.get(topic, 0.0), model_scores.get(topic, 0.0)
                if self.mode == "max":
                    scores[topic] = max(keyword, model)
                else:
                    score = self.keyword_weight * keyword + (1 - self.keyword_weight) * model
                    if score >= self.min_score:
                        scores[topic] = round(score, 4)
            merged.append(dict(sorted(scores.items(), key=lambda item: -item[1])))
        return merged


def model_topic_backend(config_dir: Path, data: Mapping[str, Any]) -> TopicBackend:
    """The embedding / zero-shot backend of nlp.yaml ``topics``, combined as configured."""
    where = f"{Path(config_dir) / 'nlp.yaml'}: topics"
    settings = TopicModelSettings.from_mapping(data, where)
    topics = load_topics(config_dir)
    model: TopicBackend
    if settings.backend == "embedding":
        model = EmbeddingTopicClassifier.from_settings(topics, settings)
    else:
        model = ZeroShotTopicClassifier.from_settings(topics, settings)
    if settings.combine == "none":
        return model
    keywords = KeywordTopicClassifier.from_config(config_dir)
    return CombinedTopicClassifier(keywords, model, settings.combine, settings.keyword_weight,
                                   keywords.min_score)

