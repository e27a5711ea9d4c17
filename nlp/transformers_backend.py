"""Sentiment from any Hugging Face text-classification model (``sentiment.backend: transformers``).

The model (a hub name fetched by ``cityradar models fetch``, or a local directory) gives label
probabilities per text; the score is their expected value over a value per label in [-1, 1]:
``sentiment.label_map`` when configured, otherwise read from the model's ``id2label``
(negative/neutral/positive and their short forms, "1 star" .. "5 stars", or LABEL_0 .. LABEL_n
taken as ordered from most negative to most positive). Texts are truncated to ``max_length``
tokens and scored in batches (sorted by length, so little padding is computed) on CPU or GPU.

torch and transformers are imported only when this backend is built: the default lexicon
pipeline runs without them (``pip install 'cityradar[transformers]'`` adds them).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cityradar.config import ConfigError, validate
from nlp.config_schema import SentimentSection, nlp_section
from nlp.models import DEFAULT_SENTIMENT_MODEL, resolve_model
from nlp.sentiment import LanguageRules, language_rules

log = logging.getLogger(__name__)

_NAMED_VALUES = {
    "negative": -1.0, "neg": -1.0, "very negative": -1.0,
    "neutral": 0.0, "neu": 0.0, "mixed": 0.0,
    "positive": 1.0, "pos": 1.0, "very positive": 1.0,
}
_STARS = re.compile(r"^([1-5])\s*stars?$")
_GENERIC = re.compile(r"^label_(\d+)$")


def label_values(id2label: Mapping[int, str], label_map: Mapping[str, float] | None = None,
                 where: str = "sentiment.label_map") -> list[float]:
    """The value in [-1, 1] of each class id, in id order.

    ``label_map`` keys are label names (case-insensitive) or class ids; every label must be
    covered. Without it, names are read as in the module docstring.
    """
    count = len(id2label)
    if count < 2 or sorted(id2label) != list(range(count)):
        raise ConfigError(f"{where}: the model must have class ids 0..n-1, got {dict(id2label)}")
    names = [str(id2label[i]).strip().lower() for i in range(count)]
    if label_map:
        mapping = {str(k).strip().lower(): v for k, v in label_map.items()}
        values: list[float] = []
        for index, name in enumerate(names):
            raw = mapping.get(name, mapping.get(str(index)))
            if raw is None:
                raise ConfigError(f"{where}: no value for model label {name!r} (id {index}); "
                                  f"the model's labels are {names}")
            value = float(raw)
            if not -1.0 <= value <= 1.0:
                raise ConfigError(f"{where}.{name}: {value} is outside [-1, 1]")
            values.append(value)
        return values
    if all(name in _NAMED_VALUES for name in names):
        return [_NAMED_VALUES[name] for name in names]
    stars = [_STARS.match(name) for name in names]
    if all(stars):
        return [(int(m.group(1)) - 3) / 2 for m in stars if m]
    if all(_GENERIC.match(name) for name in names):
        log.warning("model labels %s carry no meaning; taking them as ordered from negative to "
                    "positive (set sentiment.label_map to be explicit)", names)
        return [-1.0 + 2.0 * i / (count - 1) for i in range(count)]
    raise ConfigError(f"{where}: cannot tell the tone of model labels {names}; map each label "
                      "to a value in [-1, 1] in config/nlp.yaml sentiment.label_map")


@dataclass(frozen=True, slots=True)
class TransformersSettings:
    model: str = DEFAULT_SENTIMENT_MODEL
    device: str = "auto"
    batch_size: int = 32
    max_length: int = 256
    label_map: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any],
                     where: str = "sentiment") -> TransformersSettings:
        """nlp.yaml's ``sentiment`` section (``where`` names it in errors), validated."""
        section = validate(SentimentSection, data, where).model_dump(exclude_none=True)
        fields = {name: section[name] for name in cls.__dataclass_fields__ if name in section}
        return cls(**{**fields, "model": section.get("model") or DEFAULT_SENTIMENT_MODEL})


def _import_torch_stack() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise ConfigError(
            f"sentiment.backend 'transformers' needs torch and transformers ({exc.name} is "
            "missing): pip install 'cityradar[transformers]'"
        ) from exc
    return torch, transformers


class TransformersSentimentScorer:
    """A ``SentimentScorer`` over a sequence-classification model; see the module docstring."""

    def __init__(self, model: Any, tokenizer: Any, values: Sequence[float], device: str,
                 batch_size: int = 32, max_length: int = 256,
                 rules: Mapping[str, LanguageRules] | None = None) -> None:
        torch, _transformers = _import_torch_stack()
        self._torch = torch
        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.device = device
        self.batch_size = max(1, batch_size)
        # Tokenizers without a known limit report a huge sentinel as model_max_length.
        model_limit = getattr(tokenizer, "model_max_length", None)
        if isinstance(model_limit, int) and model_limit < 10**6:
            max_length = min(max_length, model_limit)
        self.max_length = max_length
        self.values = torch.tensor(list(values), dtype=torch.float32, device=device)
        # Clause rules for per-city tone (ClauseSplitter): the same windows as the lexicon.
        self.rules: dict[str, LanguageRules] = dict(rules or {})

    @classmethod
    def from_settings(
        cls, settings: TransformersSettings, rules: Mapping[str, LanguageRules] | None = None
    ) -> TransformersSentimentScorer:
        torch, transformers = _import_torch_stack()
        transformers.utils.logging.disable_progress_bar()  # keeps stderr for real messages
        path = resolve_model(settings.model)
        device = settings.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        elif device == "cuda" and not torch.cuda.is_available():
            raise ConfigError("sentiment.device is 'cuda' but torch sees no CUDA GPU; "
                              "use 'cpu' or 'auto'")
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = transformers.AutoModelForSequenceClassification.from_pretrained(
                path, local_files_only=True
            )
        except (OSError, ValueError, KeyError) as exc:
            reason = " ".join(str(exc).split())[:300]
            raise ConfigError(f"cannot load sentiment model from {path}: {reason}") from exc
        id2label = {int(k): v for k, v in (model.config.id2label or {}).items()}
        values = label_values(id2label, settings.label_map)
        log.info("sentiment model %s on %s, label values %s", path, device,
                 dict(zip(id2label.values(), values, strict=True)))
        return cls(model, tokenizer, values, device, settings.batch_size, settings.max_length,
                   rules)

    @classmethod
    def from_config(cls, config_dir: Path) -> TransformersSentimentScorer:
        path = Path(config_dir) / "nlp.yaml"
        data = nlp_section(config_dir, "sentiment")
        settings = TransformersSettings.from_mapping(data, where=f"{path}: sentiment")
        rules = language_rules(data, path)
        return cls.from_settings(settings, rules)

    def probabilities(self, texts: Sequence[str]) -> list[list[float]]:
        """Label probabilities per text (rows in input order, columns in class-id order)."""
        return [row.tolist() for row in self._infer(list(texts))]

    def score_batch(self, texts: Sequence[str], languages: Sequence[str]) -> list[float]:
        """Tone in [-1, 1] per text; blank texts, and texts the model fails on, score 0."""
        if len(texts) != len(languages):
            raise ValueError(f"{len(texts)} texts but {len(languages)} languages")
        scores = [0.0] * len(texts)
        wanted = [i for i, text in enumerate(texts) if text and text.strip()]
        rows = self._infer([texts[i] for i in wanted])
        for index, row in zip(wanted, rows, strict=True):
            if row is not None:
                scores[index] = round(float(row @ self.values), 4)
        return scores

    def _infer(self, texts: list[str]) -> list[Any]:
        """Probability tensors per text, None where inference failed (logged)."""
        results: list[Any] = [None] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            try:
                probabilities = self._forward([texts[i] for i in chunk])
            except Exception:  # one bad text must not cost the batch: retry one by one
                log.exception("sentiment batch of %d texts failed; scoring them one by one",
                              len(chunk))
                for index in chunk:
                    try:
                        results[index] = self._forward([texts[index]])[0]
                    except Exception:
                        log.exception("sentiment failed for text %r; scored 0",
                                      texts[index][:80])
                continue
            for index, row in zip(chunk, probabilities, strict=True):
                results[index] = row
        return results

    def _forward(self, texts: list[str]) -> Any:
        torch = self._torch
        encoded = self.tokenizer(texts, padding=True, truncation=True,
                                 max_length=self.max_length, return_tensors="pt")
        encoded = {key: value.to(self.device) for key, value in encoded.items()}
        with torch.inference_mode():
            logits = self.model(**encoded).logits
        return torch.softmax(logits.float(), dim=-1)
