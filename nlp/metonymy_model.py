"""The learned reading of a capital's name as the state, for mentions no metonymy rule decides.

The rules of ``config/lexicons/metonymy.yaml`` read "Beijing" as the Chinese state from the
words around it (a speech or state-action verb after it, "pressure from" before it), and
where one matches it decides. Written from the development rounds' sentences, they carry over
only partly to new phrasings ("Pechino stringe la morsa sulle terre rare", "Peking zieht die
Daumenschrauben an"), so a mention that no rule decides is read by this model instead (a name
with no word right next to it, as in a title or a dateline, stays the city).

It is one logistic regression over the context of the mention, in slots of SentencePiece
pieces (XLM-R's vocabulary, 250k pieces in 100 languages): the first 2 pieces after the name,
the next 6, the 8 after those, and the same three slots before it. The name itself is left
out: how it is spelled must not decide how it reads. Each slot is the
SIF-weighted mean of static multilingual-e5 vectors of its pieces (``piece_vectors``), so a
verb or noun that no training sentence used still lands near the words of the same meaning,
in any language. ``scripts/train_metonymy_model.py`` fits the regression on the dev split of
data/eval and folds it into one logit per piece and slot (a slot's mean of vectors times its
weights is the mean of the pieces' logits), so tagging needs neither torch nor the e5 image:
a mention's logit is the intercept plus, per slot, the weighted mean of its pieces' logits.
The mention is the state when its probability reaches ``threshold``, which the trainer
chooses on out-of-fold predictions (see its docstring).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nlp.e5_model import (
    E5Tokenizer,
    PieceVocabulary,
    piece_weights,
    shared_tokenizer,
    vocabulary_arrays,
    vocabulary_from_arrays,
    weighted_piece_means,
)
from nlp.model_files import read_model_file, require_settings, write_model_file

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "data" / "metonymy_model.npz"
TRAINER = "scripts/train_metonymy_model.py"
CONTEXT_CHARS = 120  # characters read on each side of the mention
# (side, first piece, end piece): "before" slots count back from the name
SLOTS: tuple[tuple[str, int, int], ...] = (
    ("after", 0, 2), ("after", 2, 8), ("after", 8, 16),
    ("before", 0, 2), ("before", 2, 8), ("before", 8, 16),
)
NEAREST_AFTER, NEAREST_BEFORE = SLOTS.index(("after", 0, 2)), SLOTS.index(("before", 0, 2))


@dataclass(frozen=True)
class Context:
    """The characters around a mention."""

    before: str
    after: str

    @classmethod
    def of(cls, text: str, start: int, end: int) -> Context:
        return cls(text[max(0, start - CONTEXT_CHARS):start], text[end:end + CONTEXT_CHARS])


def slot_pieces(tokenizer: E5Tokenizer, contexts: Sequence[Context]) -> list[list[list[int]]]:
    """Per context, the piece ids of each slot of ``SLOTS`` (the lone word-start piece "▁"
    left out)."""
    sides = {side: tokenizer.piece_ids([getattr(c, side) for c in contexts])
             for side in ("before", "after")}
    out: list[list[list[int]]] = []
    for index in range(len(contexts)):
        pieces = {side: [p for p in ids[index] if p != tokenizer.space]
                  for side, ids in sides.items()}
        # "before" slots count back from the name
        out.append([pieces[side][first:stop] if side == "after"
                    else pieces[side][::-1][first:stop][::-1] for side, first, stop in SLOTS])
    return out


def slot_means(slots: Sequence[Sequence[Sequence[int]]], table: np.ndarray,
               weights: np.ndarray) -> np.ndarray:
    """(contexts, slots, table columns): each slot's weighted mean of its pieces' rows."""
    return np.stack([weighted_piece_means([row[k] for row in slots], table, weights)
                     for k in range(len(SLOTS))], axis=1) if slots else \
        np.zeros((0, len(SLOTS), table.shape[1]), dtype=np.float32)


@dataclass
class MetonymyModel:
    """Per piece and slot, a logit (float32 (pieces, len(SLOTS))); see the module docstring.
    The linker asks it only about mentions in ``languages``."""

    vocabulary: PieceVocabulary
    logits: np.ndarray
    intercept: float
    threshold: float
    languages: frozenset[str]  # the languages it was trained on enough to be asked about
    meta: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.logits.shape != (len(self.vocabulary.pieces), len(SLOTS)):
            raise ValueError(f"expected logits of shape ({len(self.vocabulary.pieces)}, "
                             f"{len(SLOTS)}), got {self.logits.shape}")
        self._weights = piece_weights(self.vocabulary.scores)
        self.tokenizer = shared_tokenizer(self.vocabulary)

    def probabilities(self, contexts: Sequence[Context]) -> np.ndarray:
        """P(the name stands for the state) per context."""
        return self._probabilities(slot_pieces(self.tokenizer, contexts))

    def _probabilities(self, slots: list[list[list[int]]]) -> np.ndarray:
        if not slots:
            return np.zeros(0)
        means = slot_means(slots, self.logits, self._weights)
        # slot k's column of its own mean is that slot's contribution
        logit = self.intercept + np.einsum("nkk->n", means)
        return 1.0 / (1.0 + np.exp(-logit))

    def is_state(self, contexts: Sequence[Context]) -> list[bool]:
        """Whether each name reads as the state. A name with no words right next to it (a
        title, a photo caption, a dateline) is the city: the model would only give it the
        training data's share of state readings."""
        slots = slot_pieces(self.tokenizer, contexts)
        return [bool(p >= self.threshold) and bool(row[NEAREST_AFTER] or row[NEAREST_BEFORE])
                for row, p in zip(slots, self._probabilities(slots), strict=True)]

    # -- file ----------------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        specials, arrays = vocabulary_arrays(self.vocabulary)
        write_model_file(path, {
            "intercept": self.intercept, "threshold": self.threshold, "meta": self.meta,
            "languages": sorted(self.languages), "slots": [list(slot) for slot in SLOTS],
            "context_chars": CONTEXT_CHARS, "pieces": specials,
        }, {"logits": self.logits.astype(np.float16), **arrays})

    @classmethod
    def load(cls, path: Path) -> MetonymyModel:
        def build(info: dict, data: Mapping[str, np.ndarray]) -> MetonymyModel:
            require_settings(path, [tuple(slot) for slot in info["slots"]] == list(SLOTS)
                             and info["context_chars"] == CONTEXT_CHARS, TRAINER)
            return cls(vocabulary_from_arrays(info["pieces"], data),
                       data["logits"].astype(np.float32), float(info["intercept"]),
                       float(info["threshold"]), frozenset(info["languages"]), info["meta"])

        return read_model_file(path, "metonymy model", TRAINER, build)
