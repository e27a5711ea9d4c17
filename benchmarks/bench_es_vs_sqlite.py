"""SQLite vs Elasticsearch (osmem-server emulator): the same synthetic articles into both.

Prints, side by side, the bulk indexing rate and p50/p95 latency of the dashboard
aggregations, a filtered search and the alert-explanation term statistics. The Elasticsearch
figures come from the in-memory emulator on this machine: they show our request/bulk/
aggregation handling end to end, not what a real cluster would do (see docs/production.md).
Set CITYRADAR_TEST_ES_URL to measure a real cluster instead.

    python benchmarks/bench_es_vs_sqlite.py [--articles N] [--repeats N]
    (env CITYRADAR_BENCH_ES_ARTICLES when run by run_all.py; default 100,000)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_store import synthetic_articles, timed  # the SQLite benchmark's corpus

from search.es_store import ElasticsearchStore
from search.sqlite_store import SQLiteStore
from search.store import ArticleFilter, SearchQuery, Store
from tests.contract.es_backend import Emulator

BATCH = 5000


def load(store: Store, count: int) -> float:
    """Articles per second for upserting ``count`` fresh articles in batches."""
    articles = list(synthetic_articles(count, seed=7, prefix="cmp"))
    started = time.perf_counter()
    for start in range(0, count, BATCH):
        result = store.upsert_articles(articles[start:start + BATCH])
        if result.failed or result.spooled:
            raise SystemExit(f"load failed: {result.failed[:3]} spooled={result.spooled}")
    return count / (time.perf_counter() - started)


def queries(store: Store) -> dict[str, Callable[[], object]]:
    last_year = ArticleFilter(date_from=date(2020, 1, 1), date_to=date(2020, 12, 31))
    wuhan = ArticleFilter(cities=["wuhan"])
    return {
        "daily counts per city, one year": lambda: store.aggregate(
            last_year, interval="day", group_by=["city"]),
        "monthly by city x language": lambda: store.aggregate(
            interval="month", group_by=["city", "language"]),
        "topic mix for one city": lambda: store.aggregate(
            wuhan, interval="month", group_by=["topic"]),
        "top outlets for one city": lambda: store.aggregate(
            wuhan, interval=None, group_by=["outlet"], size=20),
        "search text+city+dates+language": lambda: store.search(SearchQuery(
            text="virus hospital", filters=ArticleFilter(
                cities=["wuhan"], languages=["en"], date_from=date(2020, 1, 1),
                date_to=date(2020, 6, 30)), limit=50)),
        "term stats: one city vs all": lambda: store.term_stats(wuhan, size=20),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int,
                        default=int(os.environ.get("CITYRADAR_BENCH_ES_ARTICLES", 100_000)))
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    emulator: Emulator | None = None
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = SQLiteStore(Path(tmp) / "bench.db")
        real = os.environ.get("CITYRADAR_TEST_ES_URL")
        if real:
            url, options = real, {}
        else:
            emulator = Emulator().start()
            url, options = emulator.url, {"plain_json": True}
        es = ElasticsearchStore(url, index_prefix=f"bench{uuid.uuid4().hex[:8]}",
                                spool_dir=Path(tmp) / "spool", chunk_size=1000, **options)
        try:
            target = "real cluster" if real else "osmem-server emulator"
            print(f"{args.articles:,} synthetic articles; Elasticsearch = {target} at {url}")
            rates = {"sqlite": load(sqlite, args.articles),
                     "elasticsearch": load(es, args.articles)}
            print(f"{'':<36}{'sqlite':>22}{'elasticsearch':>26}")
            print(f"{'bulk upsert (articles/s)':<36}{rates['sqlite']:>22,.0f}"
                  f"{rates['elasticsearch']:>26,.0f}")
            print(f"{'query latency, ms (p50 / p95)':<36}")
            es_queries = queries(es)
            for name, run in queries(sqlite).items():
                s50, s95 = timed(run, args.repeats)
                e50, e95 = timed(es_queries[name], args.repeats)
                print(f"  {name:<34}{s50:>9.1f} / {s95:>8.1f}{e50:>13.1f} / {e95:>8.1f}")
        finally:
            es.drop_indices()
            es.close()
            sqlite.close()
            if emulator:
                emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
