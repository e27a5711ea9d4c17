"""Store contract for the planners' market matrix (``Store.market_aggregate``), on every backend.

Every expected value here is worked out by hand from the small corpus below, so the two
backends giving these answers means they give the same matrix.
"""

from __future__ import annotations

from datetime import date

import pytest

from cityradar.records import Article
from search.store import ArticleFilter, Store, StoreError
from tests.contract.factories import make_article


@pytest.fixture
def market_corpus(store: Store) -> list[Article]:
    articles = [
        # Chengdu in Japan: two food stories (one also culture), one negative crime story.
        make_article(title="Chengdu hot pot", published_at="2020-01-30", cities=["chengdu"],
                     topics=["food", "culture_heritage"], sentiment=0.6, country="JP",
                     language="ja", outlet="Asahi"),
        make_article(title="Chengdu noodles", published_at="2020-02-03", cities=["chengdu"],
                     topics=["food"], sentiment=0.4, country="JP", language="ja",
                     outlet="NHK"),
        make_article(title="Chengdu theft", published_at="2020-02-04", cities=["chengdu"],
                     topics=["crime_safety"], sentiment=-0.5, country="JP", language="en",
                     outlet="NHK World"),
        # A blog with no known country: counted as "unknown", never dropped.
        make_article(title="Chengdu pandas blog", published_at="2020-02-05",
                     cities=["chengdu"], topics=["pandas_wildlife"], sentiment=0.8,
                     country=None, language="en", outlet="Some blog"),
        # Two cities in one story: per-city tone; counted once for each city.
        make_article(title="Chengdu and Chongqing food", published_at="2020-02-06",
                     cities=["chengdu", "chongqing"], topics=["food"], sentiment=0.3,
                     city_sentiment={"chengdu": 0.9, "chongqing": -0.3}, country="JP",
                     language="ja", outlet="Asahi"),
        # The city's own voice: excluded by voice="foreign".
        make_article(title="Chengdu festival (own)", published_at="2020-02-06",
                     cities=["chengdu"], topics=["food"], sentiment=0.7, country="CN",
                     language="en", outlet="iChengdu", voice="own"),
        # Outside the period.
        make_article(title="Chengdu March", published_at="2020-03-10", cities=["chengdu"],
                     topics=["food"], sentiment=0.5, country="DE", language="de",
                     outlet="Die Zeit"),
    ]
    result = store.upsert_articles(articles)
    assert result.failed == []
    return articles


def cells(rows: list) -> dict[tuple[str, str, str, str], int]:
    return {(r.city, r.market, r.topic, r.tone): r.count for r in rows}


def test_market_matrix_by_country_counts_unknown_and_splits_tone(
    store: Store, market_corpus: list[Article]
) -> None:
    rows = store.market_aggregate(
        ArticleFilter(cities=["chengdu"], voice="foreign", date_from=date(2020, 1, 15),
                      date_to=date(2020, 2, 20)),
        by="country",
    )
    assert cells(rows) == {
        ("chengdu", "JP", "culture_heritage", "positive"): 1,
        ("chengdu", "JP", "crime_safety", "negative"): 1,
        ("chengdu", "JP", "food", "positive"): 3,
        ("chengdu", "unknown", "pandas_wildlife", "positive"): 1,
    }
    keys = [(r.city, r.market, r.topic, r.tone) for r in rows]
    assert keys == sorted(keys)
    food = next(r for r in rows if r.market == "JP" and r.topic == "food")
    assert food.mean_tone == pytest.approx((0.6 + 0.4 + 0.9) / 3)  # Chengdu's own tone: 0.9


def test_market_matrix_by_language_and_for_several_cities(
    store: Store, market_corpus: list[Article]
) -> None:
    rows = store.market_aggregate(
        ArticleFilter(cities=["chengdu", "chongqing"], voice="foreign",
                      date_from=date(2020, 2, 1), date_to=date(2020, 2, 29)),
        by="language",
    )
    assert cells(rows) == {
        ("chengdu", "en", "crime_safety", "negative"): 1,
        ("chengdu", "en", "pandas_wildlife", "positive"): 1,
        ("chengdu", "ja", "food", "positive"): 2,
        ("chongqing", "ja", "food", "positive"): 1,
    }
    chongqing = next(r for r in rows if r.city == "chongqing")
    assert chongqing.mean_tone == pytest.approx(-0.3)


def test_market_matrix_topic_filter_own_voice_and_open_period(
    store: Store, market_corpus: list[Article]
) -> None:
    everything = store.market_aggregate(ArticleFilter(cities=["chengdu"], topics=["food"]))
    assert cells(everything) == {
        ("chengdu", "CN", "food", "positive"): 1,
        ("chengdu", "DE", "food", "positive"): 1,
        ("chengdu", "JP", "food", "positive"): 3,
    }
    own = store.market_aggregate(ArticleFilter(cities=["chengdu"], voice="own"))
    assert cells(own) == {("chengdu", "CN", "food", "positive"): 1}


def test_market_matrix_rejects_an_unknown_market(
    store: Store, market_corpus: list[Article]
) -> None:
    with pytest.raises(StoreError, match="market"):
        store.market_aggregate(ArticleFilter(), by="outlet")  # type: ignore[arg-type]
