"""Embedding and zero-shot topic backends on tiny models built here (no hub access).

The tiny models have random weights: these tests check loading, inference, thresholds and
combination with the keywords, not topic accuracy.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cityradar.config import ConfigError
from nlp.backends import topic_backend_from_config
from tests.conftest import CONFIG_DIR, REPO_ROOT

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

os.environ.setdefault("HF_HUB_OFFLINE", "1")

WORDS = ["food", "noodle", "noodles", "soup", "sport", "football", "match", "the", "city",
         "loves", "a", "in", "of", ":", ",", "."]
TOPICS_YAML = """\
topics:
  food:
    label: food
    kind: opportunity
    keywords: {}
  sport_events:
    label: sport
    kind: opportunity
    keywords: {en: [football, match]}
"""


def _tiny_tokenizer(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    vocab = directory / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    transformers.BertTokenizer(vocab_file=str(vocab)).save_pretrained(directory)


def _tiny_config(**extra: object) -> object:
    return transformers.BertConfig(vocab_size=len(WORDS) + 5, hidden_size=16,
                                   num_hidden_layers=1, num_attention_heads=2,
                                   intermediate_size=32, max_position_embeddings=64, **extra)


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("tiny-encoder")
    _tiny_tokenizer(directory)
    torch.manual_seed(0)
    transformers.BertModel(_tiny_config()).save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def nli_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("tiny-nli")
    _tiny_tokenizer(directory)
    torch.manual_seed(0)
    labels = {0: "entailment", 1: "neutral", 2: "contradiction"}
    config = _tiny_config(num_labels=3, id2label=labels,
                          label2id={name: index for index, name in labels.items()})
    transformers.BertForSequenceClassification(config).save_pretrained(directory)
    return directory


def _config_dir(tmp_path: Path, topics_settings: str) -> Path:
    (tmp_path / "topics.yaml").write_text(TOPICS_YAML)
    (tmp_path / "nlp.yaml").write_text(f"topics:\n{topics_settings}")
    return tmp_path


def test_embedding_backend_scores_a_text_identical_to_a_topic_description(
    tmp_path: Path, encoder_dir: Path
) -> None:
    # "food" has no keywords, so its only description is its label: the same text has
    # cosine 1 with the topic vector, whatever the (random) weights.
    config = _config_dir(tmp_path, f"  backend: embedding\n  model: {encoder_dir}\n"
                                   "  threshold: 0.9999\n  combine: none\n  device: cpu\n")
    backend = topic_backend_from_config(config)
    results = backend.classify_batch(["", "", ""], ["food", "   ", "noodle soup"],
                                     ["en", "en", "en"])
    assert results[0] == {"food": pytest.approx(1.0, abs=1e-3)}
    assert results[1] == {}  # blank text: no topics, no error
    assert "food" not in results[2]
    similarities = backend.similarities(["the city loves football"])[0]  # type: ignore[attr-defined]
    assert set(similarities) == {"food", "sport_events"}
    assert all(-1.0 <= value <= 1.0 for value in similarities.values())


def test_embedding_combined_with_keywords_keeps_keyword_topics(
    tmp_path: Path, encoder_dir: Path
) -> None:
    config = _config_dir(tmp_path, f"  backend: embedding\n  model: {encoder_dir}\n"
                                   "  threshold: 0.9999\n  combine: max\n  device: cpu\n")
    backend = topic_backend_from_config(config)
    [scores] = backend.classify_batch(["football"], ["football\n\nfood"], ["en"])
    assert "sport_events" in scores  # from the keyword "football"
    assert "food" not in scores  # "football\n\nfood" is not the bare label: cosine below 0.9999


def test_zero_shot_backend_runs_the_nli_pipeline(tmp_path: Path, nli_dir: Path) -> None:
    config = _config_dir(tmp_path, f"  backend: zero_shot\n  model: {nli_dir}\n"
                                   "  threshold: 0.0\n  combine: none\n  device: cpu\n")
    backend = topic_backend_from_config(config)
    results = backend.classify_batch(["", ""], ["the city loves noodle soup", ""], ["en", "en"])
    assert set(results[0]) == {"food", "sport_events"}
    assert all(0.0 <= score <= 1.0 for score in results[0].values())
    assert results[1] == {}

    strict = _config_dir(tmp_path, f"  backend: zero_shot\n  model: {nli_dir}\n"
                                   "  threshold: 1.0\n  combine: none\n  device: cpu\n")
    assert topic_backend_from_config(strict).classify_batch(
        [""], ["the city loves noodle soup"], ["en"]) == [{}]


def test_missing_model_is_a_one_line_error(tmp_path: Path) -> None:
    config = _config_dir(tmp_path, f"  backend: embedding\n  model: {tmp_path / 'no-model'}\n")
    with pytest.raises(ConfigError, match="not found") as caught:
        topic_backend_from_config(config)
    assert "\n" not in str(caught.value)


def test_a_model_without_an_entailment_label_is_refused_for_zero_shot(
    tmp_path: Path, encoder_dir: Path
) -> None:
    config = _config_dir(tmp_path, f"  backend: zero_shot\n  model: {encoder_dir}\n")
    with pytest.raises(ConfigError, match="entailment"):
        topic_backend_from_config(config)


@pytest.mark.parametrize(
    ("settings", "message"),
    [("  backend: clustering\n", "keywords, embedding or zero_shot"),
     ("  backend: embedding\n  combine: average\n", "combine"),
     ("  backend: embedding\n  threshold: 2\n", "threshold")],
)
def test_bad_topic_settings_are_clear_config_errors(
    tmp_path: Path, settings: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        topic_backend_from_config(_config_dir(tmp_path, settings))


def test_the_default_keyword_backend_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from nlp.backends import topic_backend_from_config\n"
        f"backend = topic_backend_from_config(__import__('pathlib').Path({str(CONFIG_DIR)!r}))\n"
        "backend.classify_batch(['t'], ['Wuhan outbreak'], ['en'])\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True)
