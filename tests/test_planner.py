"""The planners' matrix, changes and pick-ups (reports/planner.py) on hand-made stores whose
answers are known, on both store backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from cityradar.records import Article
from reports.pickups import find_pickups, pickups_by_country
from reports.planner import (
    build_plan,
    change_test,
    headlines,
    market_summary,
    peer_rows,
    previous_period,
)
from search.sqlite_store import SQLiteStore
from search.store import Store
from tests.contract.factories import make_article

PERIOD = (date(2020, 3, 2), date(2020, 3, 29))  # 28 days
COMPARE = (date(2020, 2, 3), date(2020, 3, 1))  # the 28 days before


@pytest.fixture(params=["sqlite", "elasticsearch"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        sqlite_store = SQLiteStore(tmp_path / "store.db")
        yield sqlite_store
        sqlite_store.close()
        return
    es_backend = pytest.importorskip("tests.contract.es_backend")
    yield from es_backend.es_store(tmp_path, real=False)


def _spread(n: int, start: date, end: date, **fields: object) -> list[Article]:
    """``n`` articles spread evenly over the days of start..end."""
    days = (end - start).days + 1
    return [
        make_article(published_at=datetime.combine(start + timedelta(days=i * days // n),
                                                   datetime.min.time(), UTC)
                     + timedelta(hours=9), **fields)
        for i in range(n)
    ]


def _market_story(store: Store) -> None:
    chengdu = {"cities": ["chengdu"], "language": "en"}
    articles: list[Article] = []
    # Food doubles in Japan ...
    articles += _spread(30, *COMPARE, topics=["food"], sentiment=0.6, country="JP", **chengdu)
    articles += _spread(60, *PERIOD, topics=["food"], sentiment=0.6, country="JP", **chengdu)
    # ... but not in Germany.
    articles += _spread(30, *COMPARE, topics=["food"], sentiment=0.5, country="DE", **chengdu)
    articles += _spread(31, *PERIOD, topics=["food"], sentiment=0.5, country="DE", **chengdu)
    # A small random wobble in the US; crime news in the US too (risk).
    articles += _spread(30, *COMPARE, topics=["sport_events"], sentiment=0.4, country="US",
                        **chengdu)
    articles += _spread(36, *PERIOD, topics=["sport_events"], sentiment=0.4, country="US",
                        **chengdu)
    articles += _spread(10, *PERIOD, topics=["crime_safety"], sentiment=-0.6, country="US",
                        **chengdu)
    # Tourism coverage in Korea collapses.
    articles += _spread(30, *COMPARE, topics=["tourism"], sentiment=0.5, country="KR", **chengdu)
    articles += _spread(6, *PERIOD, topics=["tourism"], sentiment=0.5, country="KR", **chengdu)
    # An outlet of unknown country.
    articles += _spread(5, *PERIOD, topics=["food"], sentiment=0.3, country=None, **chengdu)
    # The city's own voice is not foreign coverage.
    articles += _spread(50, *PERIOD, topics=["food"], sentiment=0.8, country="CN",
                        voice="own", **chengdu)
    # A peer city: food in Japan.
    articles += _spread(12, *PERIOD, topics=["food"], sentiment=-0.3, country="JP",
                        cities=["chongqing"], language="ja")
    result = store.upsert_articles(articles)
    assert result.failed == []


def _cell(plan, city: str, market: str, topic: str):  # type: ignore[no-untyped-def]
    return next(c for c in plan.cells
                if (c.city, c.market, c.topic) == (city, market, topic))


def test_a_topic_that_doubles_in_one_market_is_rising_only_there(store: Store) -> None:
    _market_story(store)
    plan = build_plan(store, ["chengdu", "chongqing"], *PERIOD)
    assert (plan.compare_start, plan.compare_end) == COMPARE
    japan_food = _cell(plan, "chengdu", "JP", "food")
    assert (japan_food.count, japan_food.compare_count, japan_food.trend) == (60, 30, "rising")
    assert japan_food.rate_ratio == pytest.approx(2.0)
    german_food = _cell(plan, "chengdu", "DE", "food")
    assert (german_food.count, german_food.trend) == (31, "")
    wobble = _cell(plan, "chengdu", "US", "sport_events")
    assert (wobble.count, wobble.compare_count, wobble.trend) == (36, 30, "")
    assert _cell(plan, "chengdu", "KR", "tourism").trend == "falling"
    # Unknown outlet countries are counted, the own voice is not.
    assert _cell(plan, "chengdu", "unknown", "food").count == 5
    assert all(c.market != "CN" for c in plan.cells)
    # Markets by volume; opportunity topics and risk topics kept apart.
    assert plan.markets[:2] == ["JP", "US"]
    us = next(m for m in market_summary(plan, "chengdu") if m["market"] == "US")
    assert [r["topic"] for r in us["opportunity"]] == ["sport_events"]
    assert [r["topic"] for r in us["risk"]] == ["crime_safety"]
    assert us["risk"][0]["share_negative"] == 1.0
    # Peers: the same topic in the same market for the other city.
    peers = [r for r in peer_rows(plan) if (r["market"], r["topic"]) == ("JP", "food")]
    assert [(r["city"], r["count"]) for r in peers] == [("chengdu", 60), ("chongqing", 12)]
    assert peers[1]["mean_tone"] == pytest.approx(-0.3)


def test_the_two_backends_give_the_same_plan(tmp_path: Path) -> None:
    es_backend = pytest.importorskip("tests.contract.es_backend")
    sqlite_store = SQLiteStore(tmp_path / "store.db")
    _market_story(sqlite_store)
    es_gen = es_backend.es_store(tmp_path / "es", real=False)
    es_store = next(es_gen)
    try:
        es_store.upsert_articles(sqlite_store.iter_articles())
        for by in ("country", "language"):
            plans = [build_plan(s, ["chengdu", "chongqing"], *PERIOD, by=by)
                     for s in (sqlite_store, es_store)]
            rows = [[c.as_row() for c in p.cells] for p in plans]
            assert rows[0] == rows[1]
            assert len(rows[0]) >= 5
    finally:
        sqlite_store.close()
        with pytest.raises(StopIteration):
            next(es_gen)


def test_a_cells_headlines_are_its_reports(store: Store) -> None:
    _market_story(store)
    plan = build_plan(store, ["chengdu"], *PERIOD)
    rows = headlines(store, plan, "chengdu", "unknown", "food")
    assert len(rows) == 5
    assert {r["country"] for r in rows} == {"unknown"}
    assert [r["date"] for r in rows] == sorted((r["date"] for r in rows), reverse=True)
    japan = headlines(store, plan, "chengdu", "JP", "food", limit=200)
    assert len(japan) == 60 and {r["tone"] for r in japan} == {"positive"}


def test_change_test_and_previous_period() -> None:
    assert previous_period(date(2020, 3, 1), date(2020, 3, 31)) == (
        date(2020, 2, 1), date(2020, 2, 29))  # whole months: the month before
    assert previous_period(date(2020, 1, 1), date(2020, 12, 31)) == (
        date(2019, 1, 1), date(2019, 12, 31))
    assert previous_period(date(2020, 3, 2), date(2020, 3, 29)) == (
        date(2020, 2, 3), date(2020, 3, 1))  # else the same number of days
    assert change_test(0, 30, 0, 30) is None
    assert change_test(10, 30, 10, 30) == pytest.approx(1.0)
    assert change_test(60, 28, 30, 28) < 0.01
    assert change_test(36, 28, 30, 28) > 0.3
    # The same p-values as scipy's exact binomial test.
    from scipy.stats import binomtest

    for count, compare_count, days, compare_days in [(60, 30, 28, 28), (3, 9, 31, 30),
                                                     (0, 7, 91, 91), (250, 190, 30, 31)]:
        expected = binomtest(count, count + compare_count,
                             days / (days + compare_days)).pvalue
        assert change_test(count, days, compare_count, compare_days) == pytest.approx(expected)
    # Exposure matters: the same counts over a period twice as long are no change at all.
    assert change_test(60, 56, 30, 28) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="before it starts"):
        build_plan(SQLiteStore(":memory:"), ["chengdu"], date(2020, 3, 2), date(2020, 3, 1))


def test_picked_up_abroad_links_the_same_story_only(store: Store) -> None:
    own = make_article(
        title="Chengdu opens giant panda valley at Dujiangyan to visitors",
        summary="The new Dujiangyan panda valley lets visitors watch pandas in semi-wild "
                "enclosures from next week.",
        published_at="2020-03-03", cities=["chengdu"], topics=["pandas_wildlife"],
        sentiment=0.7, outlet="iChengdu", country="CN", voice="own",
    )
    rewrite = make_article(
        url="https://www3.nhk.or.jp/nhkworld/panda-valley",
        title="Dujiangyan panda valley in Chengdu opens to visitors",
        summary="Visitors can watch pandas in semi-wild enclosures at the Dujiangyan valley.",
        published_at="2020-03-06", cities=["chengdu"], topics=["pandas_wildlife"],
        sentiment=0.6, outlet="NHK World", country="JP",
    )
    copy = make_article(
        url="https://mirror.example.sg/panda", title=own.title, summary=own.summary,
        published_at="2020-03-04", cities=["chengdu"], topics=["pandas_wildlife"],
        sentiment=0.7, outlet="Straits Mirror", country="SG", dup_of=own.id,
    )
    other_panda = make_article(
        title="Chengdu research base says panda cub born to Ya Ya",
        summary="Keepers at the breeding base announced a healthy cub on Sunday.",
        published_at="2020-03-05", cities=["chengdu"], topics=["pandas_wildlife"],
        sentiment=0.6, outlet="Asahi", country="JP",
    )
    too_late = make_article(
        url="https://late.example.de/panda-valley", title=rewrite.title,
        summary=rewrite.summary, published_at="2020-04-20", cities=["chengdu"],
        topics=["pandas_wildlife"], sentiment=0.6, outlet="Die Zeit", country="DE",
    )
    store.upsert_articles([own, rewrite, copy, other_panda, too_late])
    found = find_pickups(store, "chengdu", date(2020, 3, 1), date(2020, 3, 31))
    assert [(p.outlet, p.country, p.lag_days, p.link) for p in found] == [
        ("Straits Mirror", "SG", 1, "syndicated copy"),
        ("NHK World", "JP", 3, "same story"),
    ]
    assert all(p.own_id == own.id for p in found)
    assert pickups_by_country(found) == [
        {"country": "JP", "reports": 1, "own_stories": 1, "median_lag_days": 3.0},
        {"country": "SG", "reports": 1, "own_stories": 1, "median_lag_days": 1.0},
    ]


def test_pickup_linking_precision_on_the_hand_labelled_set() -> None:
    """data/eval/pickups.jsonl: 12 own-voice stories, 43 foreign reports labelled by hand
    (same story or not). Thresholds were set on the demo corpus before the set was labelled."""
    from reports.pickups import evaluate_pickup_links

    result = evaluate_pickup_links()
    assert result.true_positive + result.false_negative == 22
    assert result.false_positive + result.true_negative == 21
    assert result.precision >= 0.85, result.mistakes
    assert result.recall >= 0.6, result.mistakes


def test_a_cells_headlines_carry_their_stored_translation(tmp_path: Path) -> None:
    """Issue 15: the machine translation beside the original headline, in the Planner too."""
    stored = {"title": "Chengdu hotpot street reopens", "model": "models/tiny-marian-ja-en",
              "target": "en", "source_language": "ja"}
    chengdu = {"cities": ["chengdu"], "topics": ["food"], "country": "JP", "sentiment": 0.5}
    with SQLiteStore(tmp_path / "store.db") as store:
        store.upsert_articles([
            make_article(title="成都の火鍋通りが再開", language="ja",
                         published_at="2020-03-10", extras={"translation": stored}, **chengdu),
            make_article(title="Chengdu food festival", language="en",
                         published_at="2020-03-09", **chengdu),
        ])
        plan = build_plan(store, ["chengdu"], *PERIOD)
        rows = headlines(store, plan, "chengdu", "JP", "food")
    assert [(r["headline"], r["translation"]) for r in rows] == [
        ("成都の火鍋通りが再開",
         "Chengdu hotpot street reopens (machine translation ja→en)"),
        ("Chengdu food festival", ""),
    ]
