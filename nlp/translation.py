"""Machine translation of headlines (and, on demand, summaries) into the analyst's language.

Optional: ``translation.backend`` in config/nlp.yaml is ``none`` by default, and then nothing
is loaded, translated or shown. ``marian`` runs OPUS-MT models (Marian NMT) through
transformers (``MarianMTModel`` + ``MarianTokenizer``, needs sentencepiece), one model per
source language (``models``: language -> hub name or local directory; ``"*"`` for any other
language). Models are loaded only from disk (a local directory, or a name fetched once by
``cityradar models fetch --translation`` into the models dir, see ``nlp.models``): never from
the network.

Translations are stored with the article, in ``extras["translation"]``::

    {"model": <configured name>, "target": "en", "source_language": "ru",
     "title": <translated title>, "of": <hash of the title it translates>,
     "summary": <translated summary, only when asked>, "at": <ISO time>}

so a title is translated once per model: a stored translation is reused while its model and
the title are unchanged (``needs_translation``). ``translated_title(article)`` is the one
helper every view (UI pages, reports) calls to show the translation under the original.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cityradar.config import ConfigError
from cityradar.records import Article
from nlp.config_schema import nlp_section

log = logging.getLogger(__name__)

ANY_LANGUAGE = "*"


@dataclass(frozen=True, slots=True)
class Translation:
    title: str
    model: str
    target: str
    source_language: str
    summary: str | None = None


@dataclass(frozen=True, slots=True)
class TranslationSettings:
    backend: str = "none"
    target: str = "en"
    models: dict[str, str] = field(default_factory=dict)
    device: str = "cpu"
    batch_size: int = 16
    max_length: int = 128

    @property
    def enabled(self) -> bool:
        return self.backend != "none" and bool(self.models)

    @classmethod
    def from_config(cls, config_dir: Path | str) -> TranslationSettings:
        path = Path(config_dir) / "nlp.yaml"
        data = nlp_section(config_dir, "translation")
        backend, models = data["backend"], data.get("models") or {}
        if backend != "none" and not models:
            raise ConfigError(f"{path}: translation.models: backend {backend} needs at least "
                              "one model")
        return cls(backend=backend, target=data.get("target", "en"), models=models,
                   device=data.get("device", "cpu"), batch_size=data.get("batch_size", 16),
                   max_length=max(8, data.get("max_length", 128)))

    def model_for(self, language: str | None) -> str | None:
        if language and language == self.target:
            return None
        if language and language in self.models:
            return self.models[language]
        return self.models.get(ANY_LANGUAGE)


def translated_title(article: Article) -> Translation | None:
    """The stored machine translation of ``article``'s title, if any (for display)."""
    data = article.extras.get("translation") if article.extras else None
    if not isinstance(data, dict) or not data.get("title"):
        return None
    return Translation(title=str(data["title"]), model=str(data.get("model", "")),
                       target=str(data.get("target", "")),
                       source_language=str(data.get("source_language", "")),
                       summary=data.get("summary"))


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def article_language(article: Article) -> str | None:
    language = article.tags.language if article.tags else None
    if not language or language == "und":
        language = article.language_hint
    return language


class MarianTranslator:
    """OPUS-MT models through transformers, loaded lazily per model from local files only."""

    def __init__(self, settings: TranslationSettings, models_dir: Path | None = None) -> None:
        self.settings = settings
        self._models_dir = models_dir
        self._loaded: dict[str, tuple[Any, Any]] = {}
        self._lock = threading.Lock()

    def _load(self, name: str) -> tuple[Any, Any]:
        with self._lock:
            if name not in self._loaded:
                from nlp.models import resolve_model

                path = resolve_model(name, self._models_dir)
                try:
                    from transformers import MarianMTModel, MarianTokenizer
                except ImportError as exc:
                    raise ConfigError("translation.backend marian needs transformers, torch "
                                      "and sentencepiece: pip install "
                                      "'cityradar[transformers]' sentencepiece") from exc
                tokenizer = MarianTokenizer.from_pretrained(path, local_files_only=True)
                model = MarianMTModel.from_pretrained(path, local_files_only=True)
                device = self.settings.device
                if device == "auto":
                    import torch

                    device = "cuda" if torch.cuda.is_available() else "cpu"
                model.to(device).eval()
                self._loaded[name] = (tokenizer, model)
                log.info("translation model %s loaded from %s", name, path)
            return self._loaded[name]

    def translate(self, texts: Sequence[str], model_name: str) -> list[str]:
        """Translations of ``texts`` (same order) with the model ``model_name``."""
        import torch

        tokenizer, model = self._load(model_name)
        out: list[str] = []
        size = self.settings.batch_size
        for start in range(0, len(texts), size):
            batch = list(texts[start:start + size])
            encoded = tokenizer(batch, return_tensors="pt", padding=True, truncation=True,
                                max_length=self.settings.max_length).to(model.device)
            with torch.inference_mode():
                generated = model.generate(**encoded, num_beams=1,
                                           max_new_tokens=self.settings.max_length)
            out.extend(t.strip() for t in tokenizer.batch_decode(generated,
                                                                 skip_special_tokens=True))
        return out


_translators: dict[str, MarianTranslator] = {}


def translator_from_config(config_dir: Path | str) -> MarianTranslator | None:
    """The configured translator (models load on first use), or None when turned off."""
    settings = TranslationSettings.from_config(config_dir)
    if not settings.enabled:
        return None
    key = str(config_dir)
    cached = _translators.get(key)
    if cached is None or cached.settings != settings:
        cached = _translators[key] = MarianTranslator(settings)
    return cached


def needs_translation(article: Article, settings: TranslationSettings,
                      summaries: bool = False) -> str | None:
    """The model to translate ``article`` with, or None (target language, or cached)."""
    if not article.title.strip():
        return None
    model = settings.model_for(article_language(article))
    if model is None:
        return None
    stored = article.extras.get("translation") or {}
    if (stored.get("model") == model and stored.get("target") == settings.target
            and stored.get("of") == _digest(article.title)
            and (not summaries or not article.summary or stored.get("summary"))):
        return None
    return model


def translate_articles(articles: Iterable[Article], translator: MarianTranslator,
                       summaries: bool = False) -> list[Article]:
    """Copies of the articles that needed a translation, with ``extras["translation"]`` set
    (titles; summaries too when ``summaries``). Identical texts are translated once."""
    settings = translator.settings
    todo: dict[str, list[Article]] = {}
    for article in articles:
        model = needs_translation(article, settings, summaries)
        if model is not None:
            todo.setdefault(model, []).append(article)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    result: list[Article] = []
    for model, group in todo.items():
        texts = list(dict.fromkeys(a.title for a in group))
        if summaries:
            texts = list(dict.fromkeys([*texts, *(a.summary for a in group if a.summary)]))
        translated = dict(zip(texts, translator.translate(texts, model), strict=True))
        for article in group:
            data: dict[str, Any] = {
                "model": model, "target": settings.target,
                "source_language": article_language(article) or "und",
                "title": translated[article.title], "of": _digest(article.title), "at": now,
            }
            if summaries and article.summary:
                data["summary"] = translated[article.summary]
            result.append(dataclasses.replace(
                article, extras={**article.extras, "translation": data}))
    return result
