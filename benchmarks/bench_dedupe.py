"""Syndication dedupe benchmark: clustering throughput and peak memory.

Builds N synthetic articles (title + ~300-character summary, random vocabulary over a month)
of which a share are syndicated copies of earlier stories with small edits, clusters them
with ``SyndicationIndex.assign`` in ingest-sized batches, and prints articles/s (target
>= 5,000/s), peak resident memory, and how well the copies were found.

    python benchmarks/bench_dedupe.py [--articles N] [--copies 0.2] [--batch 500]
    (or env CITYRADAR_BENCH_DEDUPE when run by run_all.py)
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cityradar.records import Article
from ingest.syndication import SyndicationIndex

WORDS = [
    "wuhan", "beijing", "shanghai", "city", "officials", "health", "market", "trade",
    "festival", "panda", "metro", "hospital", "virus", "tourism", "economy", "factory", "port",
    "airport", "university", "students", "police", "court", "river", "flood", "rain", "heat",
    "museum", "food", "street", "night", "life", "investment", "exports", "company", "workers",
    "government", "report", "said", "statement", "new", "record", "growth", "decline",
    "protest", "lockdown", "vaccine", "testing", "cases", "residents", "visitors", "opening",
    "closing", "expansion", "budget", "plan", "project", "bridge", "railway", "station",
    "stadium", "games", "olympics", "winter", "summer", "culture", "art", "film", "music",
    "technology", "electric", "cars", "batteries", "chips", "robots", "startup", "bank",
    "loans", "property", "housing", "prices", "pollution", "air", "water", "green", "energy",
    "solar", "wind", "coal", "steel", "shipping", "logistics", "delivery",
]


def vocabulary(rng: random.Random, size: int = 5000) -> tuple[list[str], list[float]]:
    """News-like vocabulary: the common words above plus rarer made-up ones, Zipf-weighted."""
    letters = "abcdefghiklmnoprstuvwy"
    words = WORDS + ["".join(rng.choices(letters, k=rng.randint(4, 10)))
                     for _ in range(size - len(WORDS))]
    return words, [1 / rank for rank in range(1, len(words) + 1)]


def synthetic(count: int, copy_share: float, seed: int = 42, days: int = 30) -> list[Article]:
    rng = random.Random(seed)
    words, weights = vocabulary(rng)
    start = datetime(2020, 1, 1, tzinfo=UTC)
    originals: list[Article] = []
    articles: list[Article] = []
    for number in range(count):
        published = start + timedelta(minutes=number * days * 1440 // count)
        if originals and rng.random() < copy_share:
            source = rng.choice(originals[-2000:])
            edited = source.summary.split()
            for _ in range(2):
                edited[rng.randrange(len(edited))] = rng.choice(WORDS)
            title, summary = f"{source.title} - Outlet {number % 97}", " ".join(edited)
        else:
            title = " ".join(rng.choices(words, weights, k=10)).capitalize()
            summary = " ".join(rng.choices(words, weights, k=40))
        article = Article(id=f"a{number:08d}", url=f"https://outlet{number % 300}.example/{number}",
                          title=title, summary=summary, published_at=published)
        articles.append(article)
        if not title.endswith(f"Outlet {number % 97}"):
            originals.append(article)
    return articles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int,
                        default=int(os.environ.get("CITYRADAR_BENCH_DEDUPE", 50_000)))
    parser.add_argument("--copies", type=float, default=0.2, help="share of syndicated copies")
    parser.add_argument("--batch", type=int, default=500, help="articles per assign() call")
    parser.add_argument("--days", type=int, default=30,
                        help="days the articles are spread over (the index keeps ~15 of them)")
    args = parser.parse_args()

    articles = synthetic(args.articles, args.copies, days=args.days)
    expected_copies = sum(1 for a in articles if " - Outlet " in a.title)
    index = SyndicationIndex()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu_started = time.perf_counter(), time.process_time()
    clustered: list[Article] = []
    for first in range(0, len(articles), args.batch):
        clustered.extend(index.assign(articles[first:first + args.batch]))
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started  # on a shared machine, wall time includes waiting
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux

    found = sum(1 for a in clustered if a.dup_of is not None)
    false = sum(1 for a in clustered if a.dup_of is not None and " - Outlet " not in a.title)
    rate = len(articles) / elapsed
    print(f"dedupe: {len(articles):,} articles ({expected_copies:,} syndicated copies) "
          f"in {elapsed:.1f}s = {rate:,.0f} articles/s (target >= 5,000/s) "
          f"[{'OK' if rate >= 5000 else 'BELOW TARGET'}]; CPU time {cpu:.1f}s = "
          f"{len(articles) / cpu:,.0f} articles per CPU-second")
    print(f"dedupe: peak RSS {rss_peak / 1024:.0f} MiB (+{(rss_peak - rss_before) / 1024:.0f} MiB "
          f"while clustering; the index holds {len(index):,} articles of {args.days} days, "
          f"{len(articles) - len(index):,} evicted)")
    print(f"dedupe: copies found {found - false:,}/{expected_copies:,} "
          f"(recall {(found - false) / max(expected_copies, 1):.3f}), "
          f"false copies {false:,}; {index.stats.stories:,} stories")


if __name__ == "__main__":
    main()
