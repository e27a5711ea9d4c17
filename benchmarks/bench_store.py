"""Store benchmark (SQLite): bulk upsert rate and dashboard query latency.

Prints (a) the bulk upsert rate on fresh synthetic tagged articles (target >= 5,000/s) and
(b) p50/p95 latency of the dashboard aggregations and a filtered full-text search on a large
store (target p95 <= 300 ms at 1,000,000 articles). The large store is built once and cached
at $CITYRADAR_BENCH_DB (default /tmp/cityradar-bench-<N>.db).

    python benchmarks/bench_store.py [--upsert N] [--articles N] [--repeats N]
    (or env CITYRADAR_BENCH_UPSERT / CITYRADAR_BENCH_ARTICLES when run by run_all.py)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cityradar.records import Article, CityMention, Tags
from search.sqlite_store import SQLiteStore, pick_rollup
from search.store import ArticleFilter, Interval, SearchQuery

CITIES = ["wuhan", "beijing", "shanghai", "shenzhen", "guangzhou", "chengdu", "hangzhou",
          "chongqing", "nanjing", "tianjin", "xian", "suzhou", "changsha", "shenyang",
          "zhengzhou"]
LANGUAGES = ["en", "fr", "de", "es", "ja", "ko", "ru", "ar", "pt", "it", "nl", "vi", "th",
             "id", "tr", "pl", "sv", "hi", "ms", "fa", "he", "el", "cs", "ro", "hu", "uk",
             "da", "fi", "no", "zh"]
TOPICS = ["health", "economy", "politics", "tourism", "food", "culture", "sport", "technology",
          "environment", "transport", "education", "crime"]
_VOCABULARY_TEXT = (
    "virus outbreak hospital lockdown market trade tariff panda festival food tourism metro "
    "factory export growth police protest flood storm university startup football esports "
    "museum temple airport railway bridge pollution smog energy battery vehicle robot chip "
    "investment property bank stock court election summit olympics marathon concert film "
    "restaurant noodles hotpot tea silk garden river mountain harbour skyline night market"
)
VOCABULARY = _VOCABULARY_TEXT.split()
START = date(2019, 1, 1)
DAYS = 730


def _zipf_weights(n: int, s: float = 1.1) -> list[float]:
    return [1 / (rank ** s) for rank in range(1, n + 1)]


def synthetic_articles(count: int, seed: int, prefix: str) -> Iterator[Article]:
    """Tagged articles with realistic skew: Zipf over cities, languages, outlets, topics."""
    rng = random.Random(seed)
    outlets = [f"Outlet {i}" for i in range(500)]
    city_w, lang_w = _zipf_weights(len(CITIES)), _zipf_weights(len(LANGUAGES), 1.4)
    outlet_w, topic_w = _zipf_weights(len(outlets), 0.9), _zipf_weights(len(TOPICS), 0.8)
    for n in range(count):
        cities = set(rng.choices(CITIES, city_w, k=rng.choice((1, 1, 1, 2, 3))))
        words = rng.choices(VOCABULARY, k=9)
        title = " ".join(words[:6]).capitalize() + f" in {next(iter(cities)).capitalize()}"
        summary = " ".join(words[3:]) + "."
        tone = max(-1.0, min(1.0, rng.gauss(-0.05, 0.4)))
        published = datetime.combine(START, datetime.min.time(), UTC) + timedelta(
            days=rng.randrange(DAYS), seconds=rng.randrange(86_400))
        mentions = [
            CityMention(c, c.capitalize(), 0, len(c),
                        "government" if c == "beijing" and rng.random() < 0.4 else "place")
            for c in cities
        ]
        label = "negative" if tone <= -0.2 else "positive" if tone >= 0.2 else "neutral"
        tags = Tags(
            language=rng.choices(LANGUAGES, lang_w)[0], language_confidence=0.9,
            mentions=mentions, cities={c: 1.0 for c in cities},
            topics={t: 0.7 for t in set(rng.choices(TOPICS, topic_w, k=rng.choice((1, 2))))},
            sentiment=tone, sentiment_label=label,  # type: ignore[arg-type]
            city_sentiment={c: tone for c in cities}, tagger_version="bench-1",
        )
        url = f"https://news{n % 97}.example.com/{prefix}/{n}"
        yield Article(
            id=f"{prefix}-{n:08d}", url=url, title=title, summary=summary,
            published_at=published, fetched_at=published, outlet=rng.choices(outlets, outlet_w)[0],
            domain=f"news{n % 97}.example.com", country=rng.choice(["US", "GB", "FR", "DE", "JP"]),
            source_id="bench", voice="own" if rng.random() < 0.03 else "foreign", tags=tags,
        )


def _retagged(article: Article) -> Article:
    """The article as a newer tagger might see it: another city, topic, tone and day."""
    assert article.tags is not None and article.published_at is not None
    tags = dataclasses.replace(
        article.tags, cities={"chengdu": 1.0}, mentions=[CityMention("chengdu", "Chengdu", 0, 7)],
        topics={"food": 0.9}, sentiment=-article.tags.sentiment,
        city_sentiment={"chengdu": -article.tags.sentiment},
    )
    return dataclasses.replace(article, tags=tags,
                               published_at=article.published_at + timedelta(days=1))


def _load() -> str:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load unknown"
    return f"load average {one:.1f}/{five:.1f} on {os.cpu_count()} cores"


def bench_upsert(count: int) -> float:
    with tempfile.TemporaryDirectory() as directory:
        store = SQLiteStore(Path(directory) / "upsert.db")
        articles = list(synthetic_articles(count, seed=1, prefix="u"))
        print(f"upsert: {_load()} before the run")
        started, cpu_started = time.perf_counter(), time.process_time()
        for start in range(0, count, 5000):
            store.upsert_articles(articles[start : start + 5000])
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        print(f"upsert: {count / cpu:,.0f} articles per CPU-second of this process "
              f"(wall rate below depends on other load; {_load()} after)")
        again = time.perf_counter()
        unchanged = store.upsert_articles(articles[:20_000])
        skip_rate = 20_000 / (time.perf_counter() - again)
        retagged = [_retagged(article) for article in articles[20_000:40_000]]
        again = time.perf_counter()
        changed = store.upsert_articles(retagged)
        retag_rate = len(retagged) / (time.perf_counter() - again)
        store.close()
    rate = count / elapsed
    print(f"upsert: {count:,} new articles in {elapsed:.1f} s = {rate:,.0f} articles/s "
          f"(target >= 5,000/s) {'OK' if rate >= 5000 else 'BELOW TARGET'}")
    print(f"upsert: re-upsert of 20,000 unchanged articles = {skip_rate:,.0f} articles/s "
          f"(inserted={unchanged.inserted}, updated={unchanged.updated})")
    print(f"upsert: re-upsert of {len(retagged):,} re-tagged articles (new city, topic, tone, "
          f"day) = {retag_rate:,.0f} articles/s (updated={changed.updated})")
    return rate


def build_large(path: Path, count: int) -> SQLiteStore:
    store = SQLiteStore(path)
    have = store.count()
    if have >= count:
        print(f"query store: reusing {path} ({have:,} articles)")
        return store
    print(f"query store: building {path} with {count:,} articles (once; cached)...", flush=True)
    started = time.perf_counter()
    batch: list[Article] = []
    for article in synthetic_articles(count, seed=2, prefix="q"):
        batch.append(article)
        if len(batch) == 10_000:
            store.upsert_articles(batch)
            batch = []
    store.upsert_articles(batch)
    store._conn().execute("ANALYZE")
    print(f"query store: built in {time.perf_counter() - started:.0f} s", flush=True)
    return store


def timed(run: Callable[[], object], repeats: int) -> tuple[float, float]:
    run()  # warm the page cache once
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95


# (name, filters, interval, group by, size): the dashboards' aggregations.
AGGREGATIONS: list[tuple[str, ArticleFilter, Interval | None, list[str], int]] = [
    ("daily counts per city, one year",
     ArticleFilter(date_from=date(2020, 1, 1), date_to=date(2020, 12, 31)), "day", ["city"], 1000),
    ("monthly by city x language", ArticleFilter(), "month", ["city", "language"], 1000),
    ("topic mix for one city", ArticleFilter(cities=["wuhan"]), "month", ["topic"], 1000),
    ("top outlets for one city", ArticleFilter(cities=["wuhan"]), None, ["outlet"], 20),
    ("mean tone per week (one city)", ArticleFilter(cities=["wuhan"]), "week", ["city"], 1000),
    ("detector: daily per city, foreign",
     ArticleFilter(include_government=False, voice="foreign"), "day", ["city"], 100_000),
    ("city page: weekly languages, 90 d",
     ArticleFilter(cities=["wuhan"], date_from=date(2020, 1, 10), date_to=date(2020, 4, 8)),
     "week", ["language"], 1000),
    ("city page: topics, 90 days",
     ArticleFilter(cities=["wuhan"], date_from=date(2020, 1, 10), date_to=date(2020, 4, 8)),
     None, ["topic"], 20),
]


def _aggregation(store: SQLiteStore, filters: ArticleFilter, interval: Interval | None,
                 group_by: list[str], size: int) -> Callable[[], object]:
    return lambda: store.aggregate(filters, interval, group_by, size)  # type: ignore[arg-type]


def bench_queries(store: SQLiteStore, repeats: int) -> bool:
    queries: dict[str, tuple[Callable[[], object], str]] = {}
    for name, filters, interval, group_by, size in AGGREGATIONS:
        rollup = pick_rollup(filters, interval, group_by)
        source = f"[{rollup.table}]" if rollup else "[detailed tables]"
        queries[name] = (_aggregation(store, filters, interval, group_by, size), source)
    queries["search text+city+dates+language"] = (lambda: store.search(SearchQuery(
        text="virus hospital", filters=ArticleFilter(
            cities=["wuhan"], languages=["en"], date_from=date(2020, 1, 1),
            date_to=date(2020, 6, 30)), limit=50)), "[full-text index]")
    ok = True
    print(f"queries on {store.count():,} articles ({repeats} runs each; target p95 <= 300 ms; "
          f"{_load()}):")
    for name, (run, source) in queries.items():
        p50, p95 = timed(run, repeats)
        verdict = "OK" if p95 <= 300 else "ABOVE TARGET"
        ok = ok and p95 <= 300
        print(f"  {name:<34} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms   {verdict} {source}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    env = os.environ.get
    parser.add_argument("--upsert", type=int, default=int(env("CITYRADAR_BENCH_UPSERT", 100_000)),
                        help="articles for the upsert rate (env CITYRADAR_BENCH_UPSERT)")
    parser.add_argument("--articles", type=int,
                        default=int(env("CITYRADAR_BENCH_ARTICLES", 1_000_000)),
                        help="size of the query store (env CITYRADAR_BENCH_ARTICLES)")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    bench_upsert(args.upsert)
    default = Path(tempfile.gettempdir()) / f"cityradar-bench-{args.articles}.db"
    path = Path(os.environ.get("CITYRADAR_BENCH_DB", default))
    store = build_large(path, args.articles)
    bench_queries(store, args.repeats)
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
