"""Export benchmark: rows/s and peak memory of `cityradar export` on a large SQLite store.

Builds (once; cached, the same file as bench_store.py) a store of N synthetic tagged articles
(default 1,000,000), then exports all of them as JSON lines, CSV and Parquet, and the alerts,
each in a fresh child process that reports its rows/s and peak RSS. The same export of 10,000
articles is run first for comparison: bounded memory means the 1,000,000-row peak stays close
to the 10,000-row one instead of growing with the row count.

    python benchmarks/bench_export.py [--articles N] [--formats jsonl,csv,parquet]
    (env CITYRADAR_BENCH_ARTICLES when run by run_all.py; CITYRADAR_BENCH_DB for the store)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def child(fmt: str, db: str, out: str, limit_to: str | None) -> None:
    """Run one export in this process and print its figures as JSON."""
    from search.export import export_articles
    from search.sqlite_store import SQLiteStore
    from search.store import ArticleFilter

    store = SQLiteStore(db)
    filters = ArticleFilter(date_to=date.fromisoformat(limit_to)) if limit_to else None
    started = time.perf_counter()
    with open(out, "wb") as handle:
        report = export_articles(store.iter_articles(filters), fmt, handle)
    elapsed = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": report.rows, "seconds": elapsed, "peak_mib": peak_kib / 1024,
                      "bytes": os.path.getsize(out)}))


def run_child(fmt: str, db: Path, out: Path, limit_to: str | None = None) -> dict:
    args = [sys.executable, __file__, "--child", fmt, str(db), str(out)]
    if limit_to:
        args.append(limit_to)
    done = subprocess.run(args, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def small_limit(db: Path, rows: int) -> str:
    """The day up to which about ``rows`` articles were published (for the small run)."""
    from search.sqlite_store import SQLiteStore

    store = SQLiteStore(db)
    for count, article in enumerate(store.iter_articles(batch_size=rows)):
        if count + 1 >= rows:
            day = article.published_at.date().isoformat()
            break
    store.close()
    return day


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5], sys.argv[5] if len(sys.argv) > 5 else None)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int,
                        default=int(os.environ.get("CITYRADAR_BENCH_ARTICLES", 1_000_000)))
    parser.add_argument("--formats", default="jsonl,csv,parquet")
    args = parser.parse_args()
    from benchmarks.bench_store import build_large

    db = Path(os.environ.get("CITYRADAR_BENCH_DB",
                             Path(tempfile.gettempdir()) / f"cityradar-bench-{args.articles}.db"))
    build_large(db, args.articles).close()
    limit = small_limit(db, 10_000)
    with tempfile.TemporaryDirectory() as directory:
        for fmt in args.formats.split(","):
            out = Path(directory) / f"articles.{fmt}"
            small = run_child(fmt, db, out, limit)
            full = run_child(fmt, db, out)
            print(f"export {fmt}: {full['rows']:,} articles in {full['seconds']:.1f} s = "
                  f"{full['rows'] / full['seconds']:,.0f} rows/s, peak RSS "
                  f"{full['peak_mib']:,.0f} MiB ({small['rows']:,} rows: peak "
                  f"{small['peak_mib']:,.0f} MiB), file {full['bytes'] / 2**20:,.0f} MiB",
                  flush=True)
            out.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
