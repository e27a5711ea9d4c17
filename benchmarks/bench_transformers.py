"""Throughput of the transformers sentiment backend against the default lexicon pipeline.

Builds a tiny BERT sentiment model on the fly (tests/tiny_models.py: hidden 32, 2 layers), so
the figures measure the backend's own overhead (tokenizing, batching, moving tensors, per-city
clause scoring), not a real model's cost: a base-size XLM-R model is ~100x more compute per
token. Prints articles/s for sentiment alone and for the whole tagging pipeline, on the
device ``auto`` picks (a CUDA GPU when torch sees one). Needs the ``transformers`` extra.
Run: .venv/bin/python benchmarks/bench_transformers.py [N]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import yaml  # noqa: E402
from bench_tagging import build_articles  # noqa: E402

from cityradar.records import Article, Tags  # noqa: E402
from nlp.pipeline import Tagger  # noqa: E402


def _config_with_model(directory: Path, model: Path) -> Path:
    config = directory / "config"
    config.mkdir()
    source = REPO_ROOT / "config"
    for entry in source.iterdir():
        if entry.name != "nlp.yaml":
            (config / entry.name).symlink_to(entry)
    data = yaml.safe_load((source / "nlp.yaml").read_text(encoding="utf-8"))
    data["sentiment"].update({"backend": "transformers", "model": str(model), "device": "auto"})
    (config / "nlp.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return config


def _rate(tagger: Tagger, articles: list[Article]) -> tuple[float, float]:
    """(sentiment-only articles/s, whole pipeline articles/s)."""
    texts = [Tags.text_of(a.title or "", a.summary or "") for a in articles]
    languages = [a.language_hint or "en" for a in articles]
    tagger.scorer.score_batch(texts[:64], languages[:64])  # warm-up
    started = time.perf_counter()
    tagger.scorer.score_batch(texts, languages)
    sentiment_rate = len(texts) / (time.perf_counter() - started)
    tagger.tag(articles[:50])
    started = time.perf_counter()
    tagger.tag(articles)
    return sentiment_rate, len(articles) / (time.perf_counter() - started)


def main() -> None:
    try:
        import torch

        from tests.tiny_models import build_tiny_classifier
    except ImportError as exc:
        print(f"transformers: skipped ({exc.name} not installed: pip install "
              "'cityradar[transformers]')")
        return
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    articles = build_articles(count)
    with tempfile.TemporaryDirectory(prefix="bench-transformers-") as tmp:
        started = time.perf_counter()
        model = build_tiny_classifier(Path(tmp) / "tiny-model")
        built = time.perf_counter() - started
        started = time.perf_counter()
        transformers_tagger = Tagger.from_config(_config_with_model(Path(tmp), model))
        loaded = time.perf_counter() - started
        device = transformers_tagger.scorer.device  # type: ignore[attr-defined]
        lexicon_tagger = Tagger.from_config(REPO_ROOT / "config")
        t_sentiment, t_pipeline = _rate(transformers_tagger, articles)
        l_sentiment, l_pipeline = _rate(lexicon_tagger, articles)
    print(f"transformers: tiny BERT (hidden 32, 2 layers) built in {built:.1f} s, tagger loaded "
          f"in {loaded:.1f} s; device {device}, torch threads {torch.get_num_threads()}, "
          f"{count} articles")
    print(f"transformers: sentiment alone {t_sentiment:.0f} articles/s "
          f"(lexicon {l_sentiment:.0f} articles/s)")
    print(f"transformers: whole tagging pipeline {t_pipeline:.0f} articles/s "
          f"(default lexicon pipeline {l_pipeline:.0f} articles/s)")


if __name__ == "__main__":
    main()
