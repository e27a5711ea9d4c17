"""Feed parsing and date parsing throughput over the real feeds and exports in ../shared/realdata.

Prints (1) feed parsing: items/s of ``ingest.feeds.parse_feed`` over every real feed file,
(2) date parsing: strings/s of the one ``parse_date`` over every raw date string those feeds
and the CoAID exports hold (most take the fast path; the rest go to dateparser).
Set ``CITYRADAR_REALDATA`` when the data is not beside the checkout. Runs in under a minute.
"""

from __future__ import annotations

import csv
import os
import re
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from ingest.feeds import parse_feed  # noqa: E402
from ingest.sources import Source  # noqa: E402

try:
    from ingest.dates import parse_date
except ImportError:  # before the one-parse_date refactor: the feeds' own
    from ingest.feeds import parse_date  # type: ignore[no-redef]

REALDATA = Path(os.environ.get("CITYRADAR_REALDATA") or REPO_ROOT.parent / "shared" / "realdata")
ROUNDS = 5
DATE_TAG = re.compile(rb"<(pubDate|published|updated|dc:date|lastBuildDate)>([^<]{4,80})</\1>")


def main() -> None:
    if not REALDATA.is_dir():  # a clone without the data beside it: nothing to measure
        print(f"feed/date parsing: skipped, real data not found at {REALDATA} "
              "(set CITYRADAR_REALDATA)")
        return
    feeds = [p.read_bytes() for p in sorted((REALDATA / "feeds").glob("*/*"))
             if p.suffix in (".xml", ".rss", ".atom")]
    source = Source(id="bench", kind="feed", url="http://127.0.0.1/", outlet="o", domain="d")
    parse_date("Mon, 01 Jun 2020 10:00:00 GMT")  # imports and first-use costs out of the timing
    parse_date("Seg, 24 Set 2018 19:42:40 -0300")
    items = 0
    cpu = time.process_time()
    started = time.perf_counter()
    for _ in range(ROUNDS):
        for data in feeds:
            items += len(parse_feed(data, source).items)
    feed_s = time.perf_counter() - started
    feed_cpu = time.process_time() - cpu
    print(f"feed parsing:  {len(feeds)} real feeds x {ROUNDS} rounds, {items} items  "
          f"{feed_s:6.2f} s  {items / feed_s:8.0f} items/s  (CPU {feed_cpu:.2f} s: "
          f"{items / feed_cpu:.0f} items per CPU-second)")

    raw = [m.group(2).decode("utf-8", "replace").strip() for data in feeds
           for m in DATE_TAG.finditer(data)]
    for path in sorted((REALDATA / "news" / "coaid_2020").glob("*/*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            raw += [row.get("publish_date") or "" for row in csv.DictReader(handle)]
    raw = [r for r in raw if r.strip()]
    cpu = time.process_time()
    started = time.perf_counter()
    read = sum(parse_date(r) is not None for r in raw)
    date_s = time.perf_counter() - started
    date_cpu = time.process_time() - cpu
    distinct = len(set(raw))
    print(f"date parsing:  {len(raw)} raw dates ({distinct} distinct), {read} read  "
          f"{date_s:6.2f} s  {len(raw) / date_s:8.0f} dates/s  (CPU {date_cpu:.2f} s)")


if __name__ == "__main__":
    main()
