"""The backend registry (nlp/backends.py): the pipeline gets its sentiment scorer and topic
backend by the name nlp.yaml gives; an unknown name is a one-line error naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from cityradar.config import ConfigError
from nlp import backends
from nlp.sentiment import LexiconSentimentScorer
from nlp.topics import KeywordTopicClassifier
from tests.conftest import CONFIG_DIR


def _config(tmp_path: Path, nlp_yaml: str) -> Path:
    for name in ("cities.yaml", "topics.yaml", "lexicons"):
        (tmp_path / name).symlink_to(CONFIG_DIR / name)
    (tmp_path / "nlp.yaml").write_text(nlp_yaml, encoding="utf-8")
    return tmp_path


def test_backends_are_found_by_name(tmp_path: Path, monkeypatch) -> None:
    config = _config(tmp_path, "sentiment:\n  backend: fixed\n  trained_model: custom.npz\n"
                               "topics:\n  backend: keywords\n")
    built: list[tuple[Path, dict]] = []

    class Fixed:
        def score_batch(self, texts, languages):
            return [0.5] * len(texts)

    def fixed(config_dir: Path, settings) -> Fixed:
        built.append((config_dir, dict(settings)))
        return Fixed()

    monkeypatch.setitem(backends.SENTIMENT_BACKENDS, "fixed", fixed)
    assert isinstance(backends.sentiment_scorer_from_config(config), Fixed)
    # the factory gets its own section of nlp.yaml
    assert built == [(config, {"backend": "fixed", "trained_model": "custom.npz"})]
    assert isinstance(backends.topic_backend_from_config(config), KeywordTopicClassifier)


def test_the_defaults_and_unknown_names(tmp_path: Path) -> None:
    config = _config(tmp_path, "sentiment: {}\n")
    assert isinstance(backends.sentiment_scorer_from_config(config), LexiconSentimentScorer)
    assert isinstance(backends.topic_backend_from_config(config), KeywordTopicClassifier)
    (config / "nlp.yaml").write_text("sentiment:\n  backend: [lexicon]\n", encoding="utf-8")
    # the nlp.yaml schema refuses a value that is not a name, naming file and field ...
    with pytest.raises(ConfigError, match=r"nlp\.yaml: sentiment\.backend: expected a string"):
        backends.sentiment_scorer_from_config(config)
    # ... and the registry a name it does not hold, naming the ones it does
    (config / "nlp.yaml").write_text("sentiment:\n  backend: lexicn\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"nlp\.yaml: sentiment\.backend 'lexicn' is "
                                          r"unknown; use 'trained', 'lexicon'"):
        backends.sentiment_scorer_from_config(config)
