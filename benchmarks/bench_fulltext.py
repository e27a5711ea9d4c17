"""Full-text benchmark: pages/s fetched, extracted, re-tagged and stored, on loopback.

Serves the 14 real article pages of ../shared/realdata/articles/ (or $CITYRADAR_REALDATA)
under N distinct URLs on a loopback server (one host: per-host politeness relaxed, as in
bench_ingest.py; in production the shipped 1 s / 2-at-once per host rule applies), stores N
title-only articles pointing at them, and runs the full-text pass. Prints pages/s end to end
(robots.txt, fetch, trafilatura, re-tagging, store) and trafilatura extraction alone.

    python benchmarks/bench_fulltext.py [--pages N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from cityradar.records import Article  # noqa: E402
from ingest.fetch import Fetcher  # noqa: E402
from ingest.fulltext import extract, fetch_full_text, stored_candidates  # noqa: E402
from ingest.normalize import article_id, canonical_url  # noqa: E402
from ingest.sources import FetchOptions  # noqa: E402
from nlp.pipeline import Tagger  # noqa: E402
from search import open_store  # noqa: E402
from tests.feedserver import FeedServer  # noqa: E402

FETCH = FetchOptions(per_host_delay_s=0, per_host_concurrency=16, concurrency=16, retries=0,
                     timeout_s=10)


def realdata() -> Path:
    configured = os.environ.get("CITYRADAR_REALDATA")
    path = Path(configured) if configured else REPO_ROOT.parent / "shared" / "realdata"
    if not (path / "articles").is_dir():
        sys.exit(f"real article pages not found in {path}/articles (set CITYRADAR_REALDATA)")
    return path / "articles"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=700)
    args = parser.parse_args()
    pages = sorted(realdata().glob("*.html"))
    bodies = [p.read_bytes() for p in pages]

    extract(bodies[0])  # imports and lazy setup out of the timing
    started = time.perf_counter()
    rounds = 3
    for _ in range(rounds):
        for body in bodies:
            extract(body)
    alone = rounds * len(bodies) / (time.perf_counter() - started)
    print(f"fulltext: trafilatura extraction alone {alone:,.0f} pages/s "
          f"({len(bodies)} real pages, mean {sum(map(len, bodies)) / len(bodies) / 1024:,.0f} "
          "KiB each, one core)", flush=True)

    tagger = Tagger.from_config(REPO_ROOT / "config")
    server = FeedServer().start()
    try:
        server.add("/robots.txt", b"User-agent: *\nDisallow: /private/\n",
                   content_type="text/plain")
        articles = []
        for n in range(args.pages):
            url = server.add(f"/news/{n}/{pages[n % len(pages)].name}", bodies[n % len(bodies)],
                             content_type="text/html; charset=utf-8")
            canonical = canonical_url(url)
            articles.append(Article(id=article_id(canonical), url=canonical,
                                    title=f"Story {n}", source_id="bench",
                                    published_at=datetime(2020, 1, 20, tzinfo=UTC)))
        with tempfile.TemporaryDirectory() as directory:
            store = open_store(str(Path(directory) / "fulltext.db"))
            store.upsert_articles(tagger.tag(articles))
            with Fetcher(FETCH) as fetcher:
                started = time.perf_counter()
                report = fetch_full_text(store, stored_candidates(store), fetcher, tagger,
                                         allow_private=True)  # pages served on 127.0.0.1
                elapsed = time.perf_counter() - started
            store.close()
    finally:
        server.stop()
    print(f"fulltext: {report.fetched:,} pages fetched, extracted, re-tagged and stored in "
          f"{elapsed:.1f} s = {report.fetched / elapsed:,.0f} pages/s on loopback "
          f"(outcomes {report.statuses})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
