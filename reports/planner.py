"""What planners need: which topics foreign media cover about a city, in which market, with what
tone, what is rising or falling, how peers compare, and which own-voice stories got picked up.

Plain functions over the Store query API; the ``cityradar topics`` command and the UI's Planner
page both call them, so both show the same numbers.

* Market = the outlet's country of origin (``by="country"``) or the article's language
  (``by="language"``); an unknown country is the market ``"unknown"`` (``Store.market_aggregate``).
* Rising / falling: the **exact conditional binomial test for two Poisson counts**
  (Przyborowski & Wilenski). A cell with ``x`` reports in the period (``t1`` days) and ``y`` in
  the comparison period (``t2`` days) has, if its daily rate did not change,
  ``x | x + y ~ Binomial(x + y, t1 / (t1 + t2))``. The two-sided p-values of all cells of a
  city are corrected for testing many cells at once (Benjamini-Hochberg, false discovery
  rate ``FDR``); a cell is "rising" or "falling" only when the corrected p-value is below
  ``FDR`` *and* its rate changed by at least ``MIN_CHANGE`` (so a huge market's 3 % drift is
  not news to a planner). Small counts can never reach significance: the test says so itself.
* Picked up abroad: see ``reports.pickups``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import binom, false_discovery_control

from cityradar.config import default_config_dir
from cityradar.records import Article
from nlp.topics import load_topics
from nlp.translation import translated_title
from search.store import UNKNOWN_MARKET, ArticleFilter, Market, SearchQuery, Store

TEST_NAME = (
    "exact conditional binomial test for two Poisson counts (period vs comparison period, "
    "by days), Benjamini-Hochberg FDR 5 % over the city's cells whose counts could reach "
    "significance (Tarone/Gilbert), and a change of at least 50 %"
)
FDR = 0.05
MIN_CHANGE = 0.5  # |rate ratio - 1| needed before a significant change is called a trend
DEFAULT_MARKETS = 8
KIND_ORDER = {"opportunity": 0, "neutral": 1, "risk": 2}


# -- periods ----------------------------------------------------------------------------------

def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of the same length just before ``start``..``end`` (inclusive days): the same
    number of calendar months when the period is whole months (Jan-Dec 2020 -> Jan-Dec 2019),
    else the same number of days. The change test weighs the two periods by their days."""
    if end < start:
        raise ValueError(f"period ends ({end}) before it starts ({start})")
    if start.day == 1 and (end + timedelta(days=1)).day == 1:
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        first = start
        for _ in range(months):
            first = (first - timedelta(days=1)).replace(day=1)
        return first, start - timedelta(days=1)
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def default_period(last: date) -> tuple[date, date]:
    """The planners' default period: the last three calendar months up to ``last``."""
    month = last.replace(day=1)
    for _ in range(2):
        month = (month - timedelta(days=1)).replace(day=1)
    return month, last


def _days(start: date, end: date) -> int:
    return (end - start).days + 1


# -- the matrix -------------------------------------------------------------------------------

@dataclass(slots=True)
class TopicInfo:
    label: str
    kind: str  # opportunity | neutral | risk


def topic_catalog(config_dir: Path | None = None) -> dict[str, TopicInfo]:
    """Topic id -> label and kind from the taxonomy (config/topics.yaml)."""
    return {t.id: TopicInfo(t.label, t.kind)
            for t in load_topics(Path(config_dir or default_config_dir()))}


@dataclass(slots=True)
class Cell:
    """One city x market x topic cell, with its change against the comparison period."""

    city: str
    market: str
    topic: str
    label: str
    kind: str
    count: int
    positive: int
    neutral: int
    negative: int
    mean_tone: float | None
    compare_count: int
    rate_ratio: float | None  # (count / days) / (compare_count / compare days); None if 0/0
    p_value: float | None  # corrected (Benjamini-Hochberg); None when nothing to test
    trend: str  # "rising" | "falling" | ""

    @property
    def share_positive(self) -> float:
        return self.positive / self.count if self.count else 0.0

    @property
    def share_negative(self) -> float:
        return self.negative / self.count if self.count else 0.0

    def as_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["share_positive"] = round(self.share_positive, 3)
        row["share_negative"] = round(self.share_negative, 3)
        row["mean_tone"] = None if self.mean_tone is None else round(self.mean_tone, 3)
        row["rate_ratio"] = None if self.rate_ratio is None else round(self.rate_ratio, 3)
        row["p_value"] = None if self.p_value is None else float(f"{self.p_value:.3g}")
        return row


@dataclass(slots=True)
class Plan:
    cities: list[str]
    by: str
    start: date
    end: date
    compare_start: date
    compare_end: date
    voice: str | None
    markets: list[str]  # top markets of the first city, largest first
    cells: list[Cell] = field(default_factory=list)
    test: str = TEST_NAME

    def for_city(self, city: str, markets_only: bool = True) -> list[Cell]:
        return [c for c in self.cells
                if c.city == city and (not markets_only or c.market in self.markets)]

    def market_volume(self, city: str) -> dict[str, int]:
        volume: dict[str, int] = defaultdict(int)
        for cell in self.cells:
            if cell.city == city:
                volume[cell.market] += cell.count
        return dict(volume)


def change_test(count: int, days: int, compare_count: int, compare_days: int) -> float | None:
    """Two-sided p-value of the exact conditional binomial test that two Poisson counts over
    ``days`` and ``compare_days`` share one daily rate; None when both counts are zero.

    The same p-value as ``scipy.stats.binomtest(count, count + compare_count, days / (days +
    compare_days)).pvalue`` (the probabilities of all outcomes no likelier than the observed
    one), computed from one vector of binomial probabilities (binomtest is ~50x slower)."""
    total = count + compare_count
    if total == 0:
        return None
    pmf = binom.pmf(np.arange(total + 1), total, days / (days + compare_days))
    return float(min(1.0, pmf[pmf <= pmf[count] * (1 + 1e-7)].sum()))


def _min_p(total: int, days: int, compare_days: int) -> float:
    """The smallest p-value ``change_test`` can give for ``total`` reports in both periods."""
    ends = (change_test(total, days, 0, compare_days), change_test(0, days, total, compare_days))
    return min(p for p in ends if p is not None)


def _trend(ratio: float | None, p_value: float | None) -> str:
    if p_value is None or p_value >= FDR:
        return ""
    if ratio is None or ratio >= 1 + MIN_CHANGE:  # None: appeared from nothing
        return "rising"
    if ratio <= 1 / (1 + MIN_CHANGE):
        return "falling"
    return ""


def _tally(rows: Iterable[Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    cells: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in rows:
        acc = cells.setdefault((row.city, row.market, row.topic),
                               {"n": 0, "positive": 0, "neutral": 0, "negative": 0,
                                "tone_sum": 0.0, "toned": 0})
        acc["n"] += row.count
        if row.tone in ("positive", "neutral", "negative"):
            acc[row.tone] += row.count
        if row.mean_tone is not None:
            acc["tone_sum"] += row.mean_tone * row.count
            acc["toned"] += row.count
    return cells


def build_plan(
    store: Store,
    cities: Sequence[str],
    start: date,
    end: date,
    compare_start: date | None = None,
    compare_end: date | None = None,
    by: Market = "country",
    voice: str | None = "foreign",
    top_markets: int = DEFAULT_MARKETS,
    topics: dict[str, TopicInfo] | None = None,
) -> Plan:
    """The topic x market matrix of ``cities`` (the first one's top markets) over
    ``start``..``end`` with changes against the comparison period (default: the previous
    period of the same length). ``voice="foreign"`` leaves the cities' own channels out."""
    if not cities:
        raise ValueError("give at least one city")
    if end < start:
        raise ValueError(f"period ends ({end}) before it starts ({start})")
    if (compare_start is None) != (compare_end is None):
        raise ValueError("give both ends of the comparison period, or neither")
    if compare_start is None or compare_end is None:
        compare_start, compare_end = previous_period(start, end)
    if compare_end < compare_start:
        raise ValueError(f"comparison period ends ({compare_end}) before it starts "
                         f"({compare_start})")
    topics = topics if topics is not None else topic_catalog()
    cities = list(dict.fromkeys(cities))
    now = _tally(store.market_aggregate(
        ArticleFilter(cities=cities, voice=voice, date_from=start, date_to=end), by=by))
    before = _tally(store.market_aggregate(
        ArticleFilter(cities=cities, voice=voice, date_from=compare_start,
                      date_to=compare_end), by=by))
    days, compare_days = _days(start, end), _days(compare_start, compare_end)
    plan = Plan(cities=cities, by=by, start=start, end=end, compare_start=compare_start,
                compare_end=compare_end, voice=voice, markets=[])
    empty = {"n": 0, "positive": 0, "neutral": 0, "negative": 0, "tone_sum": 0.0, "toned": 0}
    for city in cities:
        # Every cell seen in either period (a topic gone from a market can be "falling").
        keys = sorted({k for k in (*now, *before) if k[0] == city})
        counts = [(now.get(k, empty)["n"], before.get(k, empty)["n"]) for k in keys]
        raw_p = [change_test(n, days, old, compare_days) for n, old in counts]
        # Tarone / Gilbert: only cells whose counts could reach significance at all enter the
        # correction (a 1-vs-0 cell can never be significant and would only dilute it).
        tested = [i for i, p in enumerate(raw_p) if p is not None
                  and _min_p(sum(counts[i]), days, compare_days) < FDR]
        corrected: list[float | None] = [None] * len(keys)
        if tested:
            adjusted = false_discovery_control(np.array([raw_p[i] for i in tested]),
                                               method="bh")
            for i, p in zip(tested, adjusted, strict=True):
                corrected[i] = float(p)
        for key, (n, old), p_value in zip(keys, counts, corrected, strict=True):
            acc = now.get(key, empty)
            ratio = (n / days) / (old / compare_days) if old else None
            info = topics.get(key[2], TopicInfo(key[2], "neutral"))
            plan.cells.append(Cell(
                city=city, market=key[1], topic=key[2], label=info.label, kind=info.kind,
                count=n, positive=acc["positive"], neutral=acc["neutral"],
                negative=acc["negative"],
                mean_tone=acc["tone_sum"] / acc["toned"] if acc["toned"] else None,
                compare_count=old, rate_ratio=ratio, p_value=p_value,
                trend=_trend(ratio, p_value),
            ))
    volume = plan.market_volume(cities[0])
    plan.markets = [m for m, n in sorted(volume.items(), key=lambda kv: (-kv[1], kv[0]))
                    if n > 0][:top_markets]
    plan.cells.sort(key=lambda c: (cities.index(c.city), _market_rank(plan, c.market),
                                   KIND_ORDER.get(c.kind, 1), -c.count, c.topic))
    return plan


def _market_rank(plan: Plan, market: str) -> int:
    return plan.markets.index(market) if market in plan.markets else len(plan.markets)


def market_summary(plan: Plan, city: str) -> list[dict[str, Any]]:
    """Per top market of ``city``: volume, and its topics by count, opportunity and risk kept
    apart (what ``cityradar topics --format json`` prints)."""
    volume = plan.market_volume(city)
    out: list[dict[str, Any]] = []
    for market in plan.markets:
        cells = sorted((c for c in plan.for_city(city) if c.market == market and c.count),
                       key=lambda c: (-c.count, c.topic))
        rows = [c.as_row() for c in cells]
        out.append({
            "market": market,
            "count": volume.get(market, 0),
            "topics": rows,
            "opportunity": [r for r in rows if r["kind"] == "opportunity"],
            "risk": [r for r in rows if r["kind"] == "risk"],
            "neutral": [r for r in rows if r["kind"] == "neutral"],
            "rising": [r["topic"] for r in rows if r["trend"] == "rising"],
            "falling": [c.topic for c in plan.for_city(city)
                        if c.market == market and c.trend == "falling"],
        })
    return out


def peer_rows(plan: Plan) -> list[dict[str, Any]]:
    """The same topic in the same market for every city of the plan: count, share of that
    city's coverage in the market, mean tone; markets = the first city's top markets."""
    volume = {city: plan.market_volume(city) for city in plan.cities}
    rows: list[dict[str, Any]] = []
    for cell in plan.cells:
        if cell.market not in plan.markets or not cell.count:
            continue
        total = volume[cell.city].get(cell.market, 0)
        rows.append({
            "market": cell.market, "topic": cell.topic, "label": cell.label,
            "kind": cell.kind, "city": cell.city, "count": cell.count,
            "share_of_market": round(cell.count / total, 3) if total else 0.0,
            "mean_tone": None if cell.mean_tone is None else round(cell.mean_tone, 3),
            "trend": cell.trend,
        })
    rows.sort(key=lambda r: (_market_rank(plan, r["market"]), r["topic"],
                             plan.cities.index(r["city"])))
    return rows


def cell_filter(plan: Plan, city: str, market: str, topic: str) -> ArticleFilter:
    """The article filter behind one cell (for its headlines)."""
    value = "" if market == UNKNOWN_MARKET else market
    by_market: dict[str, Any] = (
        {"countries": [value]} if plan.by == "country" else {"languages": [value]}
    )
    return ArticleFilter(cities=[city], topics=[topic], voice=plan.voice,
                         date_from=plan.start, date_to=plan.end, **by_market)


def headlines(store: Store, plan: Plan, city: str, market: str, topic: str,
              limit: int = 100) -> list[dict[str, Any]]:
    """A cell's reports, newest first: headline in its original language, outlet, country,
    language, date, tone (for the city), URL, and the headline's stored machine translation
    ("" when none was stored)."""
    result = store.search(SearchQuery(filters=cell_filter(plan, city, market, topic),
                                      limit=limit))
    rows = []
    for article in result.articles:
        tags = article.tags
        tone = None
        if tags is not None:
            tone = tags.city_sentiment.get(city, tags.sentiment)
        rows.append({
            "date": article.published_at.date().isoformat() if article.published_at else "",
            "headline": article.title,
            "outlet": article.outlet,
            "country": article.country or UNKNOWN_MARKET,
            "language": tags.language if tags else "",
            "tone": tags.sentiment_label if tags else "",
            "tone_score": None if tone is None else round(float(tone), 3),
            "url": article.url,
            "translation": _translation_text(article),
        })
    return rows


def _translation_text(article: Article) -> str:
    translation = translated_title(article)
    if translation is None:
        return ""
    return (f"{translation.title} (machine translation {translation.source_language}→"
            f"{translation.target})")
