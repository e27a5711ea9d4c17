"""SQLite-specific behaviour: concurrent readers during writes, migrations, bad paths, read-only."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from pathlib import Path

import pytest

from search import open_store
from search.sqlite_schema import LATEST_VERSION, apply_migrations
from search.sqlite_store import SQLiteStore, cjk_bigrams, fts_query
from search.store import ArticleFilter, SearchQuery, StoreError
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
