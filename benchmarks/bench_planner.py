"""Planner benchmark (SQLite): the topic x market matrix for one city over a year.

Prints p50/p95 latency of ``Store.market_aggregate`` and of the whole ``build_plan`` (matrix
for the period and the comparison period, change tests) for one city over one year on a large
store (target p95 <= 300 ms at 1,000,000 articles), plus the own-voice pick-up search for 90
days (no target; it reads the city's reports of the period).

The store is bench_store.py's synthetic one (same generator, seed and size, same cached file:
$CITYRADAR_BENCH_PLANNER_DB, else $CITYRADAR_BENCH_DB, else /tmp/cityradar-bench-<N>.db),
built once; opening a store built before the market rollup existed builds it first (that
time is printed).

    python benchmarks/bench_planner.py [--articles N] [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_store import _load, build_large, timed
from reports.pickups import find_pickups
from reports.planner import build_plan
from search.sqlite_store import pick_rollup
from search.store import ArticleFilter, market_group

CITY = "chengdu"
YEAR = (date(2020, 1, 1), date(2020, 12, 31))
ODD_YEAR = (date(2019, 7, 10), date(2020, 7, 9))  # partial months at both ends


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int,
                        default=int(os.environ.get("CITYRADAR_BENCH_ARTICLES", 1_000_000)))
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    default = Path(tempfile.gettempdir()) / f"cityradar-bench-{args.articles}.db"
    path = Path(os.environ.get("CITYRADAR_BENCH_PLANNER_DB")
                or os.environ.get("CITYRADAR_BENCH_DB") or default)
    started = time.perf_counter()
    store = build_large(path, args.articles)
    print(f"planner store ready in {time.perf_counter() - started:.0f} s "
          f"(includes building missing rollups)")
    city_year = ArticleFilter(cities=[CITY], voice="foreign", date_from=YEAR[0],
                              date_to=YEAR[1])
    rollup = pick_rollup(city_year, None, market_group("country"))
    print(f"matrix source for whole months: {rollup.table if rollup else 'detailed tables'}")
    found = store.market_aggregate(city_year, by="country")
    print(f"{CITY} {YEAR[0]}..{YEAR[1]}: {sum(r.count for r in found):,} city-topic reports "
          f"in {len(found)} cells")
    queries = {
        "market_aggregate, 1 city, 1 year (country)":
            lambda: store.market_aggregate(city_year, by="country"),
        "market_aggregate, 1 city, 1 year (language)":
            lambda: store.market_aggregate(city_year, by="language"),
        "market_aggregate, 1 city, year of partial months": lambda: store.market_aggregate(
            ArticleFilter(cities=[CITY], voice="foreign", date_from=ODD_YEAR[0],
                          date_to=ODD_YEAR[1]), by="country"),
        "build_plan: matrix + previous year + tests":
            lambda: build_plan(store, [CITY], *YEAR, by="country", topics={}),
        "build_plan with 2 peers":
            lambda: build_plan(store, [CITY, "chongqing", "xian"], *YEAR, by="country",
                               topics={}),
    }
    ok = True
    print(f"planner queries on {store.count():,} articles ({args.repeats} runs each; target "
          f"p95 <= 300 ms; {_load()}):")
    for name, run in queries.items():
        p50, p95 = timed(run, args.repeats)
        ok = ok and p95 <= 300
        print(f"  {name:<48} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms   "
              f"{'OK' if p95 <= 300 else 'ABOVE TARGET'}")
    started = time.perf_counter()
    pickups = find_pickups(store, CITY, date(2020, 4, 1), date(2020, 6, 30))
    print(f"  picked-up search, 1 city, 90 days: {time.perf_counter() - started:.2f} s "
          f"({len(pickups)} links; no target)")
    store.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
