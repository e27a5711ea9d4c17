"""Fault test: the Elasticsearch emulator dies mid-ingest; nothing is lost or duplicated.

The osmem-server process is killed between upserts of a stream, ingest goes on into the
local spool, the store reports itself degraded, the emulator is started again on the same
port and the spool drains in order. The emulator keeps data in memory only, so a restarted
one is empty: the articles indexed before the crash are fed again at the end (as a rebuilt
cluster would be re-fed) and the final store must hold every article of the run exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cityradar.records import Article
from search.es_store import ElasticsearchStore
from search.store import ArticleFilter, StoreError
from tests.contract.es_backend import Emulator
from tests.contract.factories import make_article

BATCHES = 12
BATCH_SIZE = 40
CRASH_AFTER = 4  # batches indexed before the emulator dies
RESTART_AFTER = 8  # batches upserted before it comes back


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    server = Emulator().start()
    try:
        yield server
    finally:
        server.stop()


def open_store(emulator: Emulator, spool_dir: Path) -> ElasticsearchStore:
    return ElasticsearchStore(
        emulator.url, index_prefix="fault", spool_dir=spool_dir, plain_json=True,
        reconnect_interval=0.2, request_timeout=2, chunk_size=25,
    )


def stored_ids(store: ElasticsearchStore) -> list[str]:
    return [a.id for a in store.iter_articles(batch_size=97)]


def test_emulator_crash_mid_ingest_spools_and_replays_exactly_once(
    emulator: Emulator, tmp_path: Path
) -> None:
    spool_dir = tmp_path / "spool"
    batches: list[list[Article]] = [
        [make_article(published_at=f"2020-01-{1 + (b * BATCH_SIZE + i) % 28:02d}",
                      title=f"Batch {b} story {i} about Wuhan")
         for i in range(BATCH_SIZE)]
        for b in range(BATCHES)
    ]
    store = open_store(emulator, spool_dir)
    spooled = indexed = 0
    for number, batch in enumerate(batches):
        if number == CRASH_AFTER:
            emulator.stop()
        if number == RESTART_AFTER:
            health = store.health()
            assert health["ok"] is False
            assert "unreachable" in health["detail"] and "spooled" in health["detail"]
            assert health["spooled"] == (RESTART_AFTER - CRASH_AFTER) * BATCH_SIZE
            with pytest.raises(StoreError, match="unreachable"):
                store.count()
            emulator.start()
            emulator.wait_until_answering()
            time.sleep(0.3)  # past the store's reconnect interval
        result = store.upsert_articles(batch)
        assert result.failed == []
        spooled += result.spooled
        indexed += result.inserted
        if CRASH_AFTER <= number < RESTART_AFTER:
            assert result.spooled == BATCH_SIZE and result.inserted == 0

    assert spooled == (RESTART_AFTER - CRASH_AFTER) * BATCH_SIZE
    assert store.flush_spool() == 0
    assert store.health()["ok"] is True

    after_crash = [a.id for batch in batches[CRASH_AFTER:] for a in batch]
    ids = stored_ids(store)
    assert sorted(ids) == sorted(after_crash)  # spooled + post-restart, each exactly once
    assert store.count() == len(after_crash)

    # The restarted emulator forgot what was indexed before the crash: feed it again.
    refeed = store.upsert_articles(a for batch in batches[:CRASH_AFTER] for a in batch)
    assert (refeed.inserted, refeed.spooled, refeed.failed) == (CRASH_AFTER * BATCH_SIZE, 0, [])
    every_id = [a.id for batch in batches for a in batch]
    ids = stored_ids(store)
    assert len(ids) == len(set(ids)) == len(every_id)
    assert set(ids) == set(every_id)
    assert store.count(ArticleFilter(cities=["wuhan"])) == len(every_id)
    store.drop_indices()
    store.close()


def test_spool_survives_a_process_restart(emulator: Emulator, tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    store = open_store(emulator, spool_dir)
    emulator.stop()
    articles = [make_article(title=f"Offline story {i}") for i in range(30)]
    assert store.upsert_articles(articles).spooled == 30
    store.close()  # the ingest process exits with articles still spooled

    emulator.start()
    emulator.wait_until_answering()
    reopened = open_store(emulator, spool_dir)  # a new process replays the spool on open
    try:
        assert reopened.health()["spooled"] == 0
        assert sorted(stored_ids(reopened)) == sorted(a.id for a in articles)
        assert reopened.get_articles([articles[0].id]) == [articles[0]]
    finally:
        reopened.drop_indices()
        reopened.close()


def test_unreachable_at_start_spools_and_queries_fail_clearly(tmp_path: Path) -> None:
    nobody = Emulator()  # a free port with nothing listening
    store = ElasticsearchStore(nobody.url, index_prefix="down", spool_dir=tmp_path / "spool",
                               plain_json=True, request_timeout=1)
    try:
        result = store.upsert_articles([make_article(), make_article()])
        assert (result.inserted, result.spooled) == (0, 2)
        health = store.health()
        assert health["ok"] is False and "2 articles spooled" in health["detail"]
        with pytest.raises(StoreError, match=r"unreachable .*2 articles spooled"):
            store.list_alerts()
    finally:
        store.close()
