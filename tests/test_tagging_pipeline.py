"""The tagging pipeline end to end: real language model, city linker, taxonomy, lexicons."""

from __future__ import annotations

import pytest

from cityradar.records import Article
from nlp.pipeline import TAGGER_VERSION, Tagger, tagger_version
from tests.conftest import CONFIG_DIR


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.from_config(CONFIG_DIR)


def _article(n: int, title: str, summary: str = "", hint: str | None = None) -> Article:
    return Article(id=f"a{n}", url=f"https://news.test/{n}", title=title, summary=summary,
                   language_hint=hint)


def test_tags_every_field(tagger: Tagger) -> None:
    [article] = tagger.tag([_article(
        1, "Wuhan lockdown deepens crisis while Chengdu celebrates pandas",
        "Hospitals in Wuhan struggle with the coronavirus outbreak.")])
    tags = article.tags
    assert tags is not None
    assert tags.language == "en" and tags.language_confidence > 0
    assert {m.city for m in tags.mentions} == {"wuhan", "chengdu"}
    text = f"{article.title}\n\n{article.summary}"
    assert all(text[m.start:m.end] == m.surface for m in tags.mentions)
    assert set(tags.cities) == {"wuhan", "chengdu"}
    assert "public_health" in tags.topics and "pandas_wildlife" in tags.topics
    assert tags.sentiment < 0 and tags.sentiment_label == "negative"
    assert tags.city_sentiment["wuhan"] < 0 < tags.city_sentiment["chengdu"]
    assert tags.tagger_version == TAGGER_VERSION


def test_results_depend_on_the_text(tagger: Tagger) -> None:
    articles = [
        _article(1, "成都大熊猫基地吸引大批游客", "火锅美食很受欢迎"),
        _article(2, "Explosion meurtrière à Tianjin: des dizaines de morts"),
        _article(3, "Ok", hint="de"),
        _article(4, ""),
    ]
    zh, fr, short, empty = tagger.tag(articles)
    assert (zh.tags.language, fr.tags.language, short.tags.language) == ("zh", "fr", "de")
    assert zh.tags.cities.keys() == {"chengdu"} and zh.tags.sentiment_label == "positive"
    assert {"tourism", "food", "pandas_wildlife"} <= set(zh.tags.topics)
    assert "tianjin" in fr.tags.cities and fr.tags.sentiment_label == "negative"
    assert "environment_disasters" in fr.tags.topics
    assert empty.tags.language == "und" and empty.tags.cities == {}
    assert empty.tags.sentiment_label == "neutral"


def test_batches_keep_order_and_inputs_are_not_mutated(tagger: Tagger) -> None:
    tagger_small = Tagger(tagger.identifier, tagger.linker, tagger.topics, tagger.scorer,
                          tagger.sentiment_settings, tagger.splitter, batch_size=2)
    cities = ["Beijing", "Shanghai", "Guangzhou", "Shenzhen", "Wuhan"]
    articles = [_article(i, f"{city} news today") for i, city in enumerate(cities)]
    tagged = tagger_small.tag(articles)
    assert [a.id for a in tagged] == [a.id for a in articles]
    assert [next(iter(a.tags.cities)) for a in tagged] == [c.lower() for c in cities]
    assert all(a.tags is None for a in articles)


def test_one_failing_article_is_kept_and_marked(tagger: Tagger) -> None:
    class Exploding:
        def classify_batch(self, titles, texts, languages):
            if "boom" in texts[0]:
                raise RuntimeError("boom")
            return tagger.topics.classify_batch(titles, texts, languages)

    broken = Tagger(tagger.identifier, tagger.linker, Exploding(), tagger.scorer,
                    tagger.sentiment_settings, tagger.splitter)
    good, bad = broken.tag([_article(1, "Wuhan outbreak"), _article(2, "boom in Beijing")])
    assert good.tags.cities == {"wuhan": good.tags.cities["wuhan"]}
    assert "boom" in bad.extras["tag_error"] and bad.tags.tagger_version == TAGGER_VERSION


def test_tagger_version_names_the_model_backends_that_made_the_tags() -> None:
    assert tagger_version({}) == TAGGER_VERSION
    # the shipped tone model is the default since 1.3.0; the lexicon is now a named backend
    assert tagger_version({"sentiment": {"backend": "trained"}}) == TAGGER_VERSION
    lexicon = {"sentiment": {"backend": "lexicon"}}
    assert tagger_version(lexicon) == f"{TAGGER_VERSION}+sentiment=lexicon"
    assert tagger_version({"sentiment": {"backend": "trained", "trained_model": "mine.npz"}}) == (
        f"{TAGGER_VERSION}+sentiment=trained:mine.npz")
    # rules alone, or another metonymy model, make other tags too
    assert tagger_version({"linking": {"metonymy_model": "none"}}) == (
        f"{TAGGER_VERSION}+linking=metonymy:none")
    configured = {"sentiment": {"backend": "transformers", "model": "org/xlmr-sentiment"},
                  "topics": {"backend": "zero_shot", "model": "/models/nli"}}
    assert tagger_version(configured) == (
        f"{TAGGER_VERSION}+sentiment=transformers:org/xlmr-sentiment,topics=zero_shot:/models/nli"
    )
