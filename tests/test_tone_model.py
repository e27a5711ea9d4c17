"""The trained tone model (default sentiment backend): shipped file, calibration, and tone
in languages it was never trained on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cityradar.records import Article
from nlp import eval_sets
from nlp import evaluation as ev
from nlp.pipeline import Tagger
from nlp.sentiment import SentimentSettings
from nlp.tone_model import DEFAULT_MODEL_PATH, ToneModel, TrainedSentimentScorer
from tests.conftest import CONFIG_DIR


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.from_config(CONFIG_DIR)


def test_the_model_ships_small_and_is_the_default(tagger: Tagger) -> None:
    # n-gram weights (~2.5 MB) and the 250k-piece vocabulary with its piece logits (~4 MB)
    assert DEFAULT_MODEL_PATH.stat().st_size < 8_000_000
    assert isinstance(tagger.scorer, TrainedSentimentScorer)
    meta = tagger.scorer.model.meta
    assert str(meta["trained_on"]).startswith("xlm-t train splits")
    # dev news in 23 languages; no Romanian training text at all (the test below relies on it)
    trained = set(meta["trained_languages"])  # type: ignore[arg-type]
    assert {"en", "nl", "vi", "ko", "ja", "ru", "zh", "cs", "sv", "hi"} <= trained
    assert "ro" not in trained
    assert not {"nl", "vi", "ro"} & set(meta["thresholds"]["per_language"])  # type: ignore[index]
    assert tagger.sentiment_settings.negative_threshold < 0 < (
        tagger.sentiment_settings.positive_threshold)


@pytest.mark.parametrize(
    ("text", "city", "sign"),
    [
        # Romanian: no training text at all. Character n-grams carry over to a language close
        # to trained ones (here the Romance languages); the piece term also to others (below).
        ("Inundații devastatoare în Wuhan: zeci de morți și mii de oameni fără adăpost",
         "wuhan", -1),
        ("Shanghai atrage turiștii cu un festival superb și un număr record de vizitatori",
         "shanghai", 1),
        ("Explozie puternică la o fabrică din Tianjin, numeroși morți și răniți", "tianjin", -1),
    ],
)
def test_a_city_in_an_untrained_language_close_to_trained_ones_gets_a_clear_tone(
    tagger: Tagger, text: str, city: str, sign: int
) -> None:
    [article] = tagger.tag([Article(id="t", url="t:1", title=text)])
    assert article.tags is not None and article.tags.language == "ro"
    tone = article.tags.city_sentiment[city]
    assert tone * sign > 0
    expected = "negative" if sign < 0 else "positive"
    assert tagger.sentiment_settings.label(tone, article.tags.language) == expected


def test_scale_applies_to_languages_without_training_text(tagger: Tagger) -> None:
    scorer = tagger.scorer
    assert isinstance(scorer, TrainedSentimentScorer)
    text = ["Explozie puternică la o fabrică de chimicale, mai mulți morți"]
    raw = scorer.raw_scores(text, ["ro"])[0]
    scaled = scorer.score_batch(text, ["ro"])[0]
    assert scaled == pytest.approx(float(np.clip(raw * scorer.model.scale_for("ro"), -1, 1)),
                                   abs=1e-4)
    # the 8 xlm-t languages carry their own thresholds and keep scale 1
    assert scorer.model.scale_for("fr") == 1.0
    assert set(scorer.thresholds["per_language"]) >= {"en", "fr", "de", "ar"}


def test_per_language_thresholds_change_the_label() -> None:
    settings = SentimentSettings(negative_threshold=-0.5, positive_threshold=0.5,
                                 per_language={"de": (-0.2, 0.6)})
    assert settings.label(-0.3, "de") == "negative"
    assert settings.label(-0.3, "en") == "neutral"
    assert settings.label(-0.3) == "neutral"
    assert settings.label(0.55, "de-AT") == "neutral"


@pytest.mark.parametrize(
    ("text", "language", "city", "sign"),
    [
        # no labelled text in any of these languages, and none close to a trained one for
        # Finnish and Hungarian
        ("Voldsomme oversvømmelser i Wuhan: snesevis af døde og tusindvis hjemløse", "da",
         "wuhan", -1),
        ("Kraftige oversvømmelser i Wuhan: dusinvis av døde og tusenvis hjemløse", "no",
         "wuhan", -1),
        ("Shanghai houkuttelee turisteja upealla festivaalilla ja ennätysmäärällä vierailijoita",
         "fi", "shanghai", 1),
        ("Sanghaj gyönyörű fesztivállal és rekordszámú látogatóval vonzza a turistákat", "hu",
         "shanghai", 1),
    ],
)
def test_a_city_in_an_untrained_language_far_from_trained_ones_gets_a_clear_tone(
    tagger: Tagger, text: str, language: str, city: str, sign: int
) -> None:
    assert language not in tagger.scorer.model.meta["trained_languages"]  # type: ignore[attr-defined,operator]
    [article] = tagger.tag([Article(id="t", url="t:1", title=text)])
    assert article.tags is not None and article.tags.language == language
    assert article.tags.city_sentiment[city] * sign > 0


def test_model_file_round_trips(tmp_path: Path) -> None:
    model = ToneModel.load(DEFAULT_MODEL_PATH)
    model.save(tmp_path / "copy.npz")
    copy = ToneModel.load(tmp_path / "copy.npz")
    assert np.array_equal(copy.columns, model.columns)
    assert copy.language_scale == model.language_scale and copy.meta == model.meta
    assert model.pieces is not None and copy.pieces is not None
    assert copy.pieces.vocabulary.pieces == model.pieces.vocabulary.pieces
    texts = ["Überschwemmungen in Wuhan", "北京烤鸭店排起长队", "Пекин ввёл пошлины"]
    assert copy.pieces.piece_ids(texts) == model.pieces.piece_ids(texts)
    np.testing.assert_array_equal(copy.pieces.term(texts), model.pieces.term(texts))


def test_a_damaged_model_file_is_one_clear_error(tmp_path: Path) -> None:
    from cityradar.config import ConfigError

    broken = tmp_path / "tone.npz"
    broken.write_bytes(b"not a model")
    with pytest.raises(ConfigError, match=r"tone\.npz: cannot read the tone model"):
        ToneModel.load(broken)


def _write_set(path: Path, split: str) -> None:
    rows = [{"id": f"x-{i}", "lang": "en", "split": split,
             "text": "Residents of Wuhan queue for tests", "mentions": [],
             "city_sentiment": {}} for i in range(2)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")


def test_misses_are_listed_for_the_dev_split_only(tmp_path: Path) -> None:
    for split in ("test", "dev"):
        path = tmp_path / f"{split}.jsonl"
        _write_set(path, split)  # Wuhan is found but not annotated: a spurious mention
        report = ev.run_annotated(CONFIG_DIR, path, split, topics=False)["cities"]
        assert report["overall"]["fp"] == 2
        assert bool(report["spurious"]) == (split == "dev")
    blind = tmp_path / "blind.jsonl"
    _write_set(blind, "blind")
    assert ev.run_annotated(CONFIG_DIR, blind, None, topics=False)["cities"]["spurious"] == []


def test_the_city_named_does_not_set_the_tone_toward_it(tagger: Tagger) -> None:
    """The same sentence about two cities gets the same tone toward each: the model must not
    read tone from the name (trained on tweets and news, it learns which names go with bad
    news), and a clause with nothing but the name ("In Wuhan,") defers to its sentence."""
    from nlp.sentiment import city_sentiment

    tones = {}
    for name in ("Wuhan", "Chengdu", "Beijing"):
        text = f"In {name}, the new museum opened to crowds of delighted visitors."
        start = text.index(name)
        [tone] = city_sentiment(tagger.scorer, tagger.splitter,
                                [(text, "en", {name: [(start, start + len(name))]}, 0.0)],
                                tagger._carries_tone)
        tones[name] = tone[name]
    assert tones["Wuhan"] == pytest.approx(tones["Chengdu"]) == pytest.approx(tones["Beijing"])
    assert tones["Wuhan"] > 0


def test_calibration_shows_the_dev_split_out_of_fold(tmp_path: Path) -> None:
    """The shipped model trains on every dev clause, so `cityradar eval calibration` labels
    the dev table in-sample and adds the trainer's out-of-fold shares per language."""
    from cityradar.commands.evaluation import format_calibration

    path = tmp_path / "dev.jsonl"
    row = {"id": "x-1", "lang": "en", "split": "dev", "text": "Floods hit Wuhan",
           "mentions": [{"city": "wuhan", "surface": "Wuhan", "start": 11, "end": 16,
                         "kind": "place"}], "city_sentiment": {"wuhan": "negative"}}
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    report = ev.run_calibration(CONFIG_DIR, path, "dev", lingua_dir=None)
    out_of_fold = report["dev_out_of_fold"]
    annotated = {s.lang for s in eval_sets.load_annotated(
        eval_sets.DEFAULT_EVAL_DIR / "cities.jsonl", "dev")}
    assert annotated <= set(out_of_fold) and out_of_fold["overall"]["n"] > 1000
    for language in annotated:
        block = out_of_fold[language]
        assert 0 < block["macro_f1"] < 1 and 0 <= block["negative"] <= 1
    assert out_of_fold == ToneModel.load(DEFAULT_MODEL_PATH).meta["dev_out_of_fold"]
    text = "\n".join(format_calibration(report))
    assert "in sample" in text and "dev split out of fold" in text
    nl = out_of_fold["nl"]
    assert (f"  {'nl':<10} {nl['n']:>4}  {nl['gold_negative']:>5.2f}/{nl['gold_positive']:<5.2f}  "
            f"{nl['negative']:>5.2f}/{nl['positive']:<5.2f}   {nl['macro_f1']:.3f}") in text
