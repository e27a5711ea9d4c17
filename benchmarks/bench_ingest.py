"""Ingest throughput: 500 feeds x 20 items on a loopback server, a full and a conditional cycle.

Target (design.md): 500 feeds polled per cycle within 60 s on loopback, conditional GET honoured.
Prints seconds per cycle; the second cycle must answer every feed with 304 and store nothing.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from ingest.pipeline import ingest_once  # noqa: E402
from search import open_store  # noqa: E402
from tests.feedserver import FeedServer, rss  # noqa: E402
from tests.test_ingest_pipeline import feed_entry, write_config  # noqa: E402

FEEDS = 500
ITEMS = 20
# One loopback host stands in for 500 outlets, so per-host politeness is relaxed here;
# in production each outlet is its own host and the shipped 1 s / 2-at-once rule applies.
FETCH = {"per_host_delay_s": 0, "per_host_concurrency": 32, "concurrency": 32, "retries": 0}
# Headlines differ as real ones do (near-identical titles would all be syndication candidates
# of each other and measure the dedupe stage's worst case instead of ingest).
WORDS = ("Wuhan", "Beijing", "Shanghai", "officials", "report", "outbreak", "market", "trade",
         "talks", "city", "residents", "factory", "exports", "festival", "pandas", "tourism",
         "metro", "airport", "lockdown", "hospital", "growth", "investors", "protest", "court",
         "river", "flood", "stadium", "university", "startup", "museum")


def headline(rng: random.Random) -> str:
    return " ".join(rng.sample(WORDS, 7)).capitalize()


def main() -> None:
    server = FeedServer().start()
    try:
        feeds = []
        rng = random.Random(7)
        for n in range(FEEDS):
            entries = [(headline(rng), f"https://outlet{n}.example/{i}",
                        f"Mon, 01 Jun 2020 {i % 24:02d}:00:00 GMT") for i in range(ITEMS)]
            feeds.append(feed_entry(f"f{n}", server.add(f"/feed/{n}.xml", rss(entries))))
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(Path(tmp) / "cfg", feeds, fetch=FETCH)
            with open_store(str(Path(tmp) / "bench.db")) as store:
                started = time.perf_counter()
                first = ingest_once(config, store)
                first_s = time.perf_counter() - started
                started = time.perf_counter()
                second = ingest_once(config, store)
                second_s = time.perf_counter() - started
                stored = store.count()
        not_modified = sum(s.not_modified for s in second.sources)
        print(f"ingest first cycle:       {FEEDS} feeds x {ITEMS} items  {first_s:6.2f} s  "
              f"({first.new} new, {len(first.failed)} failed; target <= 60 s)")
        print(f"ingest conditional cycle: {FEEDS} feeds              {second_s:6.2f} s  "
              f"({not_modified} answered 304, {second.new} new)")
        print(f"articles stored: {stored}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
