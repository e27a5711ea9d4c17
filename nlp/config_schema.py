"""The schema of ``config/nlp.yaml``: one file shared by five stages, so its sections live here.

Each stage reads its section through :func:`nlp_section` (language id, topics, sentiment,
translation, the tagger), which validates the whole file first: an unknown key anywhere, a
wrong type or a value out of range is a one-line ``ConfigError`` naming the file and the field
(``config/nlp.yaml: sentiment.rules.en.negators: expected a list, got str``).

Optional keys are ``None`` here: a key left out (or null) keeps the stage's own default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from cityradar.config import ConfigModel, check, expect, load_yaml, validate

NLP_FILE = "nlp.yaml"
Positive = Annotated[int, Field(ge=1)]
Share = Annotated[float, Field(ge=0, le=1)]
Number = float
Device = Literal["cpu", "cuda", "auto"]
Words = list[str]


class TaggerSection(ConfigModel):
    batch_size: Positive | None = None


class LanguageSection(ConfigModel):
    languages: Annotated[list[str], expect("expected a non-empty list of ISO 639-1 codes"),
                         check(bool, "expected a non-empty list of ISO 639-1 codes")]
    preload_models: bool | None = None
    short_text_letters: Annotated[int, Field(ge=0)] | None = None
    min_confidence: Share | None = None
    hint_top_candidates: Positive | None = None
    low_accuracy_min_chars: Annotated[int, Field(ge=0)] | None = None
    non_latin_share: Share | None = None
    marker_words: dict[str, Words] | None = None


# ``backend`` names are checked where the backends are chosen (one list of them, there).
class TopicsSection(ConfigModel):
    backend: str = "keywords"  # keywords | embedding | zero_shot
    min_score: Share | None = None
    saturation_rate: Annotated[float, Field(gt=0)] | None = None
    title_weight: Annotated[float, Field(ge=0)] | None = None
    # embedding / zero_shot (nlp/topic_models.py)
    model: str | None = None
    device: Device | None = None
    batch_size: Positive | None = None
    max_length: Positive | None = None
    threshold: Share | None = None
    combine: Literal["max", "weighted", "none"] | None = None
    keyword_weight: Share | None = None
    hypothesis_template: Annotated[
        str, check(lambda v: "{}" in v, "must contain {{}} for the label")] | None = None


class LanguageRulesSection(ConfigModel):
    negators: Annotated[Words, expect("expected a list of strings (quote yes/no/on/off)")] = (
        Field(default_factory=list))
    intensifiers: Annotated[dict[str, float], expect("expected a mapping word -> scale")] = (
        Field(default_factory=dict))
    contrast: Annotated[Words, expect("expected a list of strings (quote yes/no/on/off)")] = (
        Field(default_factory=list))
    clause: Annotated[Words, expect("expected a list of strings (quote yes/no/on/off)")] = (
        Field(default_factory=list))
    negation_after: bool = False


class ThresholdsSection(ConfigModel):
    negative: Number | None = None
    positive: Number | None = None


class SentimentSection(ConfigModel):
    backend: str = "lexicon"  # trained | lexicon | transformers | e5
    trained_model: str | None = None  # a tone model file relative to the config directory
    e5_head: str | None = None  # backend e5 (issue 13): its head file
    thresholds: ThresholdsSection | None = None
    alpha: Annotated[float, Field(gt=0)] | None = None
    negation_scale: Number | None = None
    negation_window_tokens: Annotated[int, Field(ge=0)] | None = None
    negation_window_chars: Annotated[int, Field(ge=0)] | None = None
    contrast_before_weight: Number | None = None
    contrast_after_weight: Number | None = None
    rules: dict[str, LanguageRulesSection] | None = None
    # backend: transformers (nlp/transformers_backend.py)
    model: str | None = None
    device: Device | None = None
    batch_size: Positive | None = None
    max_length: Positive | None = None
    label_map: dict[str, Annotated[float, Field(ge=-1, le=1)]] | None = None


class TranslationSection(ConfigModel):
    backend: Literal["none", "marian"] = "none"
    target: str | None = None
    models: dict[str, Annotated[str, check(lambda v: bool(v.strip()),
                                           "expected a model name or path")]] | None = None
    device: Device | None = None
    batch_size: Positive | None = None
    max_length: Positive | None = None


class LinkingSection(ConfigModel):
    # a metonymy model file relative to the config directory, or "none" (rules only)
    metonymy_model: str | None = None


class NlpFile(ConfigModel):
    tagger: TaggerSection | None = None
    linking: LinkingSection | None = None
    language: LanguageSection | None = None
    topics: TopicsSection | None = None
    sentiment: SentimentSection | None = None
    translation: TranslationSection | None = None


_cache: dict[Path, tuple[bytes, NlpFile]] = {}


def nlp_file(config_dir: Path | str) -> tuple[Path, NlpFile]:
    """``<config_dir>/nlp.yaml`` validated as a whole (every section, unknown keys refused);
    five stages read it, so it is parsed once for as long as its content stays the same."""
    path = Path(config_dir) / NLP_FILE
    try:
        content = path.read_bytes()
    except OSError:
        content = None  # load_yaml says why, in one line
    cached = _cache.get(path)
    if content is not None and cached is not None and cached[0] == content:
        return path, cached[1]
    data = validate(NlpFile, load_yaml(path), path)
    if content is not None:
        _cache[path] = (content, data)
    return path, data


def nlp_section(config_dir: Path | str, name: str) -> dict[str, Any]:
    """One section of the validated nlp.yaml as a plain mapping, keys left out (or null) absent,
    so ``.get(key, default)`` gives the stage's default; ``{}`` when the section is absent."""
    _path, data = nlp_file(config_dir)
    section = getattr(data, name)
    return {} if section is None else section.model_dump(exclude_none=True)
