"""The trainer of the default tone model (scripts/train_tone_model.py): NBSVM heads folded into
the one linear map the tagger loads."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from nlp.tone_model import CLASSES, LEXICON_COLUMNS, N_FEATURES, ToneModel, features

TRAINER = Path(__file__).resolve().parents[1] / "scripts" / "train_tone_model.py"


@pytest.fixture(scope="module")
def trainer():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("train_tone_model", TRAINER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["train_tone_model"] = module
    spec.loader.exec_module(module)
    return module


TONED = {
    "negative": ["deadly floods hit the city", "factory blast kills workers",
                 "protests over layoffs turn violent", "smog forces schools to close"],
    "neutral": ["the city publishes its budget report", "officials meet to discuss plans",
                "a census counts the residents", "the trade fair opens on monday"],
    "positive": ["record growth lifts exports", "new museum wins a design award",
                 "tourists praise the restored old town", "a successful launch delights fans"],
}


def rows() -> tuple[list[str], np.ndarray]:
    texts = [text for label in CLASSES for text in TONED[label]]
    labels = np.array([CLASSES.index(label) for label in CLASSES for _ in TONED[label]])
    return texts, labels


def test_the_lexicon_columns_are_not_rescaled_and_class_words_lean_their_way(trainer) -> None:  # type: ignore[no-untyped-def]
    texts, labels = rows()
    matrix = features(texts, [0.0] * len(texts), [True] * len(texts))
    ratios = trainer.log_count_ratios(matrix, labels, np.ones(len(texts)))
    assert ratios.shape == (matrix.shape[1], 3)
    assert np.all(ratios[-LEXICON_COLUMNS:] == 1.0)
    [deadly] = [column for column in features(["deadly"], [0.0], [True]).indices
                if N_FEATURES <= column < 2 * N_FEATURES]  # the word column of "deadly"
    negative, positive = CLASSES.index("negative"), CLASSES.index("positive")
    assert ratios[deadly, negative] > 0 > ratios[deadly, positive]


def test_a_trained_model_reads_unseen_sentences_with_the_training_words(trainer) -> None:  # type: ignore[no-untyped-def]
    texts, labels = rows()
    matrix = features(texts, [0.0] * len(texts), [True] * len(texts))
    fitted = trainer.fit(matrix, labels, np.ones(len(texts)), alpha=1e-4)
    model = ToneModel(columns=np.arange(matrix.shape[1]), weights=fitted.coef,
                      intercept=fitted.intercept)
    unseen = ["deadly smog and layoffs", "record award for the museum"]
    scores = model.raw_scores(features(unseen, [0.0, 0.0], [True, True]))
    assert scores[0] < 0 < scores[1]
    # the tagger's linear map gives what the trainer's heads give
    np.testing.assert_allclose(scores, trainer.softmax_scores(
        fitted, features(unseen, [0.0, 0.0], [True, True])), atol=1e-5)
