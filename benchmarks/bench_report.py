"""Monthly report benchmark: the leadership report for the 15 watched cities on a large SQLite
store (target <= 10 s for HTML at 1,000,000 articles).

Prints the time to read the month's figures from the store (ranking, 13-month trend, tone,
topics, countries, stories, alerts), to draw the charts, to render the HTML, and (with --pdf)
to lay out the PDF; also the ranking alone (what the Overview page reads). The store is the
one benchmarks/bench_store.py builds and caches at $CITYRADAR_BENCH_DB (default
/tmp/cityradar-bench-<N>.db); it is reused read-only when it already holds N articles.

    python benchmarks/bench_report.py [--articles N] [--month YYYY-MM] [--repeats N] [--pdf]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_store import _load, build_large  # the SQLite benchmark's store

from cityradar.config import default_config_dir
from nlp.gazetteer import load_cities
from reports.monthly import build_charts, build_report, render_html
from reports.ranking import month_figures, parse_month
from search.sqlite_store import SQLiteStore


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int,
                        default=int(os.environ.get("CITYRADAR_BENCH_ARTICLES", 1_000_000)))
    parser.add_argument("--month", default="2020-02", help="a month inside the store (2019-2020)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pdf", action="store_true", help="also time the PDF layout")
    args = parser.parse_args()
    default = Path(tempfile.gettempdir()) / f"cityradar-bench-{args.articles}.db"
    path = Path(os.environ.get("CITYRADAR_BENCH_DB", default))
    if path.exists():
        store = SQLiteStore(path, readonly=True)
        if store.count() < args.articles:
            store.close()
            store = build_large(path, args.articles)
    else:
        store = build_large(path, args.articles)
    month = parse_month(args.month)
    cities = load_cities(default_config_dir())
    print(f"report: {store.count():,} articles in {path}; {len(cities)} cities; "
          f"month {args.month}; {_load()}")

    ranking, totals, figures_t, charts_t, html_t, cpu = [], [], [], [], [], []
    html = ""
    for _ in range(args.repeats):
        cpu_started = time.process_time()
        started = time.perf_counter()
        month_figures(store, month, cities, with_details=False)
        ranking.append(time.perf_counter() - started)

        started = time.perf_counter()
        report = build_report(store, default_config_dir(), month, charts=False)
        figures_done = time.perf_counter()
        report.charts = build_charts(report.figures)
        charts_done = time.perf_counter()
        html = render_html(report)
        done = time.perf_counter()
        figures_t.append(figures_done - started)
        charts_t.append(charts_done - figures_done)
        html_t.append(done - charts_done)
        totals.append(done - started)
        cpu.append(time.process_time() - cpu_started)
    best = min(totals)
    print(f"report: ranking only (Overview page) median {statistics.median(ranking):.2f} s")
    print(f"report: HTML median {statistics.median(totals):.2f} s, best {best:.2f} s "
          f"(figures from the store {statistics.median(figures_t):.2f} s, charts "
          f"{statistics.median(charts_t):.2f} s, render {statistics.median(html_t):.2f} s; "
          f"{len(html) / 1e6:.1f} MB; {statistics.median(cpu):.2f} CPU-s per ranking + report, "
          f"{_load()}) (target <= 10 s) "
          f"{'OK' if statistics.median(totals) <= 10 else 'ABOVE TARGET'}")
    if args.pdf:
        from reports.pdf import render_pdf

        started = time.perf_counter()
        pdf = render_pdf(report)
        print(f"report: PDF layout {time.perf_counter() - started:.2f} s "
              f"({len(pdf) / 1e6:.1f} MB)")
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
