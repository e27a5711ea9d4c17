"""SQLite-specific behaviour: concurrent readers during writes, migrations, bad paths, read-only."""

from __future__ import annotations

import multiprocessing
import random
import sqlite3
import threading
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from cityradar.records import Article
from search import open_store
from search.sqlite_schema import LATEST_VERSION, ROLLUPS, apply_migrations
from search.sqlite_store import SQLiteStore, cjk_bigrams, fts_query, pick_rollup
from search.store import ArticleFilter, Interval, SearchQuery, StoreError, day_bucket
from tests.contract.factories import make_article


def _write_batches(path: str, batches: int, per_batch: int) -> None:
    store = SQLiteStore(path)
    for b in range(batches):
        store.upsert_articles(
            make_article(url=f"https://w.example.com/{b}/{i}", title=f"Wuhan report {b} {i}")
            for i in range(per_batch)
        )
    store.close()


def test_readers_in_other_threads_and_a_process_never_see_locked(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = SQLiteStore(path)
    store.upsert_articles([make_article(title="Wuhan seed")])
    writer = multiprocessing.get_context("spawn").Process(
        target=_write_batches, args=(str(path), 30, 200)
    )
    errors: list[BaseException] = []
    counts: list[int] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                counts.append(store.count(ArticleFilter(cities=["wuhan"])))
                store.search(SearchQuery(text="wuhan report", limit=5))
                store.aggregate(interval="day", group_by=["city"])
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    writer.start()
    for reader in readers:
        reader.start()
    writer.join(timeout=120)
    stop.set()
    for reader in readers:
        reader.join()

    assert writer.exitcode == 0
    assert errors == []
    assert len(set(counts)) > 1  # readers ran while the writer was committing
    assert store.count() == 1 + 30 * 200
    store.close()


def test_concurrent_writer_threads_share_one_store(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "store.db")

    def write(worker: int) -> None:
        for i in range(20):
            store.upsert_articles([make_article(url=f"https://t.example.com/{worker}/{i}")])
            store.put_meta(f"worker-{worker}", str(i))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.count() == 80
    assert [store.get_meta(f"worker-{w}") for w in range(4)] == ["19"] * 4
    store.close()


def test_a_long_running_reader_does_not_keep_connections_of_ended_threads(
    tmp_path: Path,
) -> None:
    """The UI serves every rerun on a new thread: its store must not grow without bound."""
    store = SQLiteStore(tmp_path / "store.db")
    store.upsert_articles([make_article()])
    counts: list[int] = []
    for _ in range(30):
        reader = threading.Thread(target=lambda: counts.append(store.count()))
        reader.start()
        reader.join()
    assert counts == [1] * 30
    assert len(store._connections) <= 2  # this thread's and at most the last reader's
    store.close()


def test_open_applies_missing_migrations(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    assert apply_migrations(conn, target=1) == 1
    conn.close()

    store = SQLiteStore(path)
    assert store.schema_version() == LATEST_VERSION
    store.upsert_articles([make_article(title="Migrated Wuhan")])
    assert store.search(SearchQuery(text="migrated")).total == 1
    store.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this CityRadar supports"):
        SQLiteStore(path)


def test_bad_paths_give_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        SQLiteStore(tmp_path)
    not_db = tmp_path / "notes.db"
    not_db.write_bytes(b"this is not a database, just text " * 200)
    with pytest.raises(StoreError, match="not a database"):
        SQLiteStore(not_db)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create directory"):
        SQLiteStore(blocker / "sub" / "store.db")
    with pytest.raises(StoreError, match="does not exist"):
        SQLiteStore(tmp_path / "missing.db", readonly=True)


def test_readonly_store_reads_but_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    writer = SQLiteStore(path)
    article = make_article(title="Wuhan readonly")
    writer.upsert_articles([article])

    reader = SQLiteStore(path, readonly=True)
    assert reader.get_article(article.id) == article
    assert reader.health()["ok"] is True
    with pytest.raises(StoreError, match="read-only"):
        reader.upsert_articles([make_article()])
    with pytest.raises(StoreError, match="read-only"):
        reader.put_meta("k", "v")
    writer.upsert_articles([make_article(title="Later")])
    assert reader.count() == 2  # sees the writer's commits
    reader.close()
    writer.close()


def test_health_never_raises_even_when_closed(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "store.db")
    store.close()
    info = store.health()
    assert info["ok"] is False
    assert "closed" in info["detail"]


def test_open_store_url_and_wal(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'x.db'}")
    assert isinstance(store, SQLiteStore)
    assert store.url == f"sqlite:///{tmp_path / 'x.db'}"
    assert store.health()["journal_mode"] == "wal"
    store.close()


def test_bad_article_is_reported_and_the_rest_stored(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "store.db")
    good = make_article(title="Good one")
    broken = make_article(title="Broken \ud800 surrogate")
    no_id = make_article(id="")
    result = store.upsert_articles([broken, good, no_id])
    assert result.inserted == 1
    assert {article_id for article_id, _ in result.failed} == {broken.id, ""}
    assert store.get_article(good.id) == good
    store.close()


def test_cjk_bigram_indexing_and_query() -> None:
    assert cjk_bigrams("武汉市 news 東京") == "武汉 汉市 市 東京 京"
    assert fts_query('武汉 "new outbreak" pand*') == (
        'cjk : "武汉" AND {title summary body} : "new outbreak" AND '
        '{title summary body} : "pand" *'
    )
    assert fts_query("!!! ???") is None


# -- rollup-backed aggregations ---------------------------------------------------------------

_CITIES = ["wuhan", "beijing", "chengdu", "shanghai"]
_TOPICS = ["health", "economy", "food", "sport"]


def _random_article(rng: random.Random, number: int, **overrides: Any) -> Article:
    cities = rng.sample(_CITIES, rng.choice((0, 1, 1, 2, 3)))
    government = [c for c in cities if rng.random() < 0.3]
    undated = rng.random() < 0.05
    day = date(2019, 12, 20) + timedelta(days=rng.randrange(80))
    values: dict[str, Any] = {
        "url": f"https://r.example.com/{number}",
        "published_at": None if undated else day.isoformat(),
        "cities": [c for c in cities if c not in government],
        "government": government,
        "topics": rng.sample(_TOPICS, rng.choice((0, 1, 1, 2))),
        "sentiment": round(rng.uniform(-1, 1), 3),
        "city_sentiment": {c: round(rng.uniform(-1, 1), 3) for c in cities if rng.random() < 0.5},
        "language": rng.choice(["en", "en", "fr", "ja"]),
        "outlet": rng.choice(["Daily Planet", "Le Quotidien", "Wire", ""]),
        "country": rng.choice(["US", "FR", None]),
        "voice": "own" if rng.random() < 0.15 else "foreign",
    }
    values.update(overrides)
    article = make_article(**values)
    if rng.random() < 0.1:
        article.dup_of = "some-earlier-copy"
    if rng.random() < 0.05:
        article.tags = None  # untagged: no cities, topics or tone
    return article


def _brute_force(
    articles: list[Article], filters: ArticleFilter, interval: Interval | None,
    group_by: Sequence[str], size: int = 1000,
) -> list[tuple]:
    """aggregate() computed in Python from the articles themselves."""
    groups: dict[tuple, list] = {}
    for article in articles:
        tags = article.tags
        kinds: dict[str, str] = {}
        if tags:
            for mention in tags.mentions:
                if mention.kind == "place" or mention.city not in kinds:
                    kinds[mention.city] = mention.kind
            for city in tags.cities:
                kinds.setdefault(city, "place")
        usable = {c for c, k in kinds.items() if filters.include_government or k == "place"}
        topics = set(tags.topics) if tags else set()
        values = {
            "language": tags.language if tags else "und", "outlet": article.outlet,
            "country": article.country or "", "voice": article.voice,
            "sentiment_label": tags.sentiment_label if tags else "",
        }
        day = article.day
        if filters.cities and not usable & set(filters.cities):
            continue
        if filters.topics and not topics & set(filters.topics):
            continue
        if any(
            wanted and values[name] not in wanted
            for name, wanted in (("language", filters.languages), ("outlet", filters.outlets),
                                 ("country", filters.countries),
                                 ("sentiment_label", filters.sentiment_labels))
        ):
            continue
        if filters.voice and article.voice != filters.voice:
            continue
        if (filters.date_from or filters.date_to) and day is None:
            continue
        if filters.date_from and day < filters.date_from:  # type: ignore[operator]
            continue
        if filters.date_to and day > filters.date_to:  # type: ignore[operator]
            continue
        if filters.unique_stories and article.dup_of is not None:
            continue
        if interval and day is None:
            continue
        bucket = day_bucket(day, interval) if interval and day else None
        tone = tags.sentiment if tags else None
        per_city: list[tuple[str | None, float | None]] = [(None, tone)]
        if "city" in group_by:
            per_city = [
                (c, tags.city_sentiment.get(c, tone))  # type: ignore[union-attr]
                for c in usable if not filters.cities or c in filters.cities
            ]
        per_topic: list[str | None] = [None]
        if "topic" in group_by:
            per_topic = [t for t in topics if not filters.topics or t in filters.topics]
        for city, city_tone in per_city:
            for topic in per_topic:
                key = tuple(
                    city if g == "city" else topic if g == "topic" else values[g]
                    for g in group_by
                )
                acc = groups.setdefault((bucket, key), [0, [], 0])
                acc[0] += 1
                if city_tone is not None:
                    acc[1].append(city_tone)
                acc[2] += tags is not None and tags.sentiment_label == "negative"
    ranked: list[tuple] = []
    for bucket in sorted({b for b, _ in groups}, key=lambda b: (b is not None, b)):
        keys = sorted((k for b, k in groups if b == bucket),
                      key=lambda k: (-groups[bucket, k][0], k))[:size]
        for key in sorted(keys):
            n, tones, negative = groups[bucket, key]
            mean = sum(tones) / len(tones) if tones else None
            ranked.append((bucket, key, n, mean, negative))
    return ranked


def _rows(store: SQLiteStore, filters: ArticleFilter, interval: Interval | None,
          group_by: Sequence[str], size: int = 1000) -> list[tuple]:
    return [
        (row.bucket, tuple(row.key[g] for g in group_by), row.count, row.mean_tone, row.negative)
        for row in store.aggregate(filters, interval, group_by, size)  # type: ignore[arg-type]
    ]


def _assert_same(actual: list[tuple], expected: list[tuple]) -> None:
    assert [r[:3] + r[4:] for r in actual] == [r[:3] + r[4:] for r in expected]
    for got, want in zip(actual, expected, strict=True):
        assert got[3] == pytest.approx(want[3], abs=1e-9)


# Dashboard queries and their awkward neighbours; every one must be answered from a rollup.
_ROLLUP_QUERIES: list[tuple[ArticleFilter, Interval | None, tuple[str, ...]]] = [
    (ArticleFilter(), "day", ()),
    (ArticleFilter(), None, ()),
    (ArticleFilter(date_from=date(2020, 1, 5), date_to=date(2020, 2, 10)), "day", ("city",)),
    (ArticleFilter(date_to=date(2020, 1, 31)), "month", ("city",)),
    (ArticleFilter(include_government=False), "week", ("city",)),
    (ArticleFilter(cities=["wuhan", "beijing"]), "week", ("city",)),
    (ArticleFilter(cities=["beijing"], include_government=False), "day", ()),
    (ArticleFilter(), "month", ("city", "language")),
    (ArticleFilter(sentiment_labels=["negative"], voice="foreign"), "month", ("city",)),
    (ArticleFilter(cities=["wuhan"]), "month", ("topic",)),
    (ArticleFilter(cities=["wuhan"], topics=["health"]), None, ()),
    (ArticleFilter(), None, ("city", "topic")),
    (ArticleFilter(cities=["chengdu"]), None, ("outlet",)),
    (ArticleFilter(), "month", ("outlet",)),
    (ArticleFilter(unique_stories=True), "week", ("topic",)),
    (ArticleFilter(cities=["wuhan"], languages=["en"], date_from=date(2020, 1, 1),
                   date_to=date(2020, 1, 31)), "month", ("sentiment_label",)),
    # The planners' market matrix (market_aggregate): whole months from the market rollup.
    (ArticleFilter(cities=["chengdu", "wuhan"], voice="foreign", date_from=date(2020, 1, 1),
                   date_to=date(2020, 2, 29)), None, ("city", "country", "topic",
                                                      "sentiment_label")),
    (ArticleFilter(cities=["wuhan"], include_government=False), None,
     ("city", "language", "topic", "sentiment_label")),
]
# Queries a rollup cannot answer exactly: several cities/topics without grouping by them.
_DETAILED_QUERIES: list[tuple[ArticleFilter, Interval | None, tuple[str, ...]]] = [
    (ArticleFilter(cities=["wuhan", "beijing"]), "month", ()),
    (ArticleFilter(topics=["health", "food"]), None, ("city",)),
    (ArticleFilter(cities=["wuhan"]), "day", ("outlet",)),
]


def _check_all(store: SQLiteStore, articles: list[Article]) -> None:
    for filters, interval, group_by in _ROLLUP_QUERIES:
        assert pick_rollup(filters, interval, group_by) is not None, (filters, group_by)
        _assert_same(_rows(store, filters, interval, group_by),
                     _brute_force(articles, filters, interval, group_by))
    for filters, interval, group_by in _DETAILED_QUERIES:
        assert pick_rollup(filters, interval, group_by) is None
        _assert_same(_rows(store, filters, interval, group_by),
                     _brute_force(articles, filters, interval, group_by))
    _assert_same(_rows(store, ArticleFilter(), "month", ("city",), size=2),
                 _brute_force(articles, ArticleFilter(), "month", ("city",), size=2))


def test_rollup_aggregations_equal_a_brute_force_count_through_re_upserts(
    tmp_path: Path,
) -> None:
    rng = random.Random(14)
    store = SQLiteStore(tmp_path / "store.db")
    current = {a.id: a for a in (_random_article(rng, n) for n in range(300))}
    store.upsert_articles(current.values())
    _check_all(store, list(current.values()))

    # Re-tagging moves articles between cities, topics, tones and days; some vanish from a
    # bucket entirely (its rollup rows must go, not linger as zero counts).
    changed = [
        _random_article(rng, int(a.url.rsplit("/", 1)[1]))
        for a in rng.sample(list(current.values()), 120)
    ]
    untouched = [a for a in current.values() if a.id not in {c.id for c in changed}]
    result = store.upsert_articles([*changed, *rng.sample(untouched, 30)])
    assert (result.inserted, result.failed) == (0, [])
    current.update((a.id, a) for a in changed)
    _check_all(store, list(current.values()))
    # Re-upserting the same articles again changes nothing.
    store.upsert_articles(list(current.values()))
    _check_all(store, list(current.values()))
    empty = [
        store._conn().execute(f"SELECT count(*) FROM {r.table} WHERE n = 0").fetchone()[0]
        for r in ROLLUPS
    ]
    assert empty == [0] * len(ROLLUPS)
    store.close()


def test_market_matrix_over_partial_months_equals_a_brute_force_count(tmp_path: Path) -> None:
    """market_aggregate splits a period into partial months (detailed tables) and whole
    months (market rollup); the sum must equal one count over the whole period."""
    rng = random.Random(21)
    store = SQLiteStore(tmp_path / "store.db")
    articles = [_random_article(rng, n) for n in range(400)]
    store.upsert_articles(articles)
    for by in ("country", "language"):
        filters = ArticleFilter(cities=["chengdu", "wuhan"], voice="foreign",
                                date_from=date(2019, 12, 24), date_to=date(2020, 2, 10))
        group_by = ("city", by, "topic", "sentiment_label")
        expected = _brute_force(articles, filters, None, group_by)
        got = store.market_aggregate(filters, by=by)  # type: ignore[arg-type]
        assert len(got) == len(expected) > 10
        for row, (_, key, n, mean, _neg) in zip(got, sorted(
            expected, key=lambda r: (r[1][0], r[1][1] or "unknown", r[1][2], r[1][3])
        ), strict=True):
            assert (row.city, row.market, row.topic, row.tone, row.count) == (
                key[0], key[1] or "unknown", key[2], key[3], n)
            if mean is None:
                assert row.mean_tone is None
            else:
                assert row.mean_tone == pytest.approx(mean, abs=1e-9)
    store.close()


def test_rollups_are_built_for_a_store_written_before_they_existed(tmp_path: Path) -> None:
    rng = random.Random(7)
    path = tmp_path / "old.db"
    store = SQLiteStore(path)
    articles = [_random_article(rng, n) for n in range(120)]
    store.upsert_articles(articles)
    store.close()
    conn = sqlite3.connect(path)
    for rollup in ROLLUPS:
        conn.execute(f"DROP TABLE {rollup.table}")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()

    store = SQLiteStore(path)
    assert store.schema_version() == LATEST_VERSION
    _check_all(store, articles)
    store.close()


def test_rollups_made_by_another_definition_are_rebuilt_or_bypassed(tmp_path: Path) -> None:
    rng = random.Random(21)
    path = tmp_path / "store.db"
    store = SQLiteStore(path)
    articles = [_random_article(rng, n) for n in range(120)]
    store.upsert_articles(articles)
    store.close()
    conn = sqlite3.connect(path)
    conn.execute(f"DELETE FROM {ROLLUPS[0].table}")  # as if built by an older definition
    conn.execute("UPDATE meta SET value = 'older' WHERE key = 'rollup_signature'")
    conn.commit()
    conn.close()

    reader = SQLiteStore(path, readonly=True)  # cannot rebuild: must not trust them
    _check_all(reader, articles)
    reader.close()
    store = SQLiteStore(path)
    _check_all(store, articles)
    store.close()
    assert SQLiteStore(path, readonly=True)._rollups_ok
