"""The trainer of the default tone model (scripts/train_tone_model.py): NBSVM heads folded into
the one linear map the tagger loads."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from nlp.e5_model import PieceVocabulary, piece_weights, weighted_piece_means
from nlp.tone_model import (
    CLASSES,
    LEXICON_COLUMNS,
    N_FEATURES,
    PieceTone,
    ToneModel,
    features,
)

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
    with_pieces = sparse.hstack([matrix, np.ones((len(texts), 4))], format="csr")
    assert np.all(trainer.log_count_ratios(with_pieces, labels, np.ones(len(texts)))[
        2 * N_FEATURES:] == 1.0)  # lexicon and piece columns are scores, not counts
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


def tiny_vocabulary() -> PieceVocabulary:
    words = sorted({word for label in CLASSES for text in TONED[label] for word in text.split()})
    pieces = ["<s>", "<pad>", "</s>", "<unk>", *(f"▁{word}" for word in words),
              *"abcdefghijklmnopqrstuvwxyz"]
    scores = np.array([0.0] * 4 + [-8.0] * len(words) + [-12.0] * 26, dtype=np.float32)
    return PieceVocabulary(pieces, scores, {}, bos=0, eos=2, pad=1, unk=3)


def test_weighted_piece_means_weigh_each_piece_and_leave_an_empty_text_at_zero() -> None:
    table = np.array([[1.0, 0.0], [0.0, 1.0], [4.0, 4.0]], dtype=np.float32)
    weights = np.array([1.0, 3.0, 0.5], dtype=np.float32)
    means = weighted_piece_means([[0, 1], [], [2, 2, 0]], table, weights)
    np.testing.assert_allclose(means, [[0.25, 0.75], [0.0, 0.0], [2.5, 2.0]])


def test_the_folded_piece_term_gives_what_the_trainers_piece_columns_give(trainer) -> None:  # type: ignore[no-untyped-def]
    texts, labels = rows()
    vocabulary = tiny_vocabulary()
    vectors = np.random.default_rng(0).normal(size=(len(vocabulary.pieces), 8)).astype(
        np.float32)
    pieces = PieceTone(vocabulary, np.zeros((len(vectors), 3), dtype=np.float32))
    weights = piece_weights(vocabulary.scores)

    def matrix_of(batch: list[str]):  # type: ignore[no-untyped-def]
        pooled = weighted_piece_means(pieces.piece_ids(batch), vectors, weights)
        return sparse.hstack([features(batch, [0.0] * len(batch), [True] * len(batch)),
                              trainer.piece_columns(pooled, mean, spread)], format="csr")

    pooled = weighted_piece_means(pieces.piece_ids(texts), vectors, weights)
    mean, spread = pooled.mean(axis=0), pooled.std(axis=0) + 1e-6
    fitted = trainer.fit(matrix_of(texts), labels, np.ones(len(texts)), alpha=1e-4)
    n_sparse = 2 * N_FEATURES + LEXICON_COLUMNS
    pieces.logits, shift = trainer.fold_piece_head(fitted.coef[n_sparse:], vectors, mean,
                                                   spread)
    model = ToneModel(columns=np.arange(n_sparse), weights=fitted.coef[:n_sparse],
                      intercept=fitted.intercept - shift, pieces=pieces)
    unseen = ["deadly smog and layoffs", "record award for the museum", "qzx"]
    np.testing.assert_allclose(
        model.raw_scores(features(unseen, [0.0] * 3, [True] * 3), unseen),
        trainer.softmax_scores(fitted, matrix_of(unseen)), atol=1e-5)
    with pytest.raises(ValueError, match="needs the texts"):
        model.raw_scores(features(unseen, [0.0] * 3, [True] * 3))
