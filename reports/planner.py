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
* Picked up abroad: see ``find_pickups``.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC as UTC_ZONE
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import binom, false_discovery_control

from cityradar.config import default_config_dir
from cityradar.records import Article
from ingest.syndication import normalized_text, shingle_hash_sets, shingle_hashes
from nlp.gazetteer import load_cities
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

# Pick-up linking (see StoryMatcher); thresholds checked on data/eval/pickups.jsonl.
PICKUP_WINDOW_DAYS = 14
PICKUP_MIN_CONTAINMENT = 0.25
PICKUP_MIN_RARE = 8
PICKUP_RARE_DF = 3


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


# -- picked up abroad -------------------------------------------------------------------------

@dataclass(slots=True)
class Pickup:
    own_id: str
    own_date: str
    own_outlet: str
    own_headline: str
    foreign_id: str
    date: str
    outlet: str
    country: str
    language: str
    headline: str
    lag_days: int
    link: str  # "syndicated copy" | "same story"
    similarity: float


def _story_text(article: Article, strip: Sequence[str]) -> str:
    text = normalized_text(article.title, article.summary or "")
    for name in strip:
        text = text.replace(name, " ")
    return " ".join(text.split())


def _name_forms(city: str, config_dir: Path | None) -> list[str]:
    """The city's name forms (normalized, longest first): removed before comparing stories,
    since every candidate shares them."""
    forms: set[str] = set()
    for entry in load_cities(Path(config_dir or default_config_dir())):
        if entry.id == city:
            names = [entry.name, entry.zh, entry.zh_hant, *entry.historical]
            names += [n for group in entry.names.values() for n in group]
            forms = {normalized_text(n, "") for n in names if n}
    return sorted((f for f in forms if f), key=len, reverse=True)


def containment(left: np.ndarray, right: np.ndarray) -> float:
    """Share of the smaller text's character shingles found in the other text."""
    if not left.size or not right.size:
        return 0.0
    shared = np.intersect1d(left, right, assume_unique=True).size
    return shared / min(left.size, right.size)


_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def syndicated(own: Article, foreign: Article) -> bool:
    """The dedupe stage put both in one syndication cluster (ingest/syndication.py)."""
    return foreign.dup_of == own.id or bool(
        foreign.cluster_id and foreign.cluster_id in (own.id, own.cluster_id))


class StoryMatcher:
    """Same-story matching of own-voice stories against a pool of foreign reports.

    A foreign report tells the same story when, on title + summary with the city's names
    removed (every candidate shares those),
    1. at least ``PICKUP_MIN_CONTAINMENT`` of the smaller text's character shingles (the
       dedupe stage's shingles: 5 characters, 3 in CJK text) are in the other text,
    2. at least ``PICKUP_MIN_RARE`` of the shared shingles are *rare*: found in at most
       ``PICKUP_RARE_DF`` reports of the pool (the city's foreign reports of the period).
       Stock phrasing ("visitor numbers reach ... during holiday week") is shared by many
       reports; a pick-up shares the story's own names (an alley, a panda, a port link),
    3. numbers do not disagree: when both texts carry numbers, they share at least one
       ("growth target of 6 %" is not the story "growth target of 4 %").
    A translation in another script shares no shingles and is not found (see README).
    """

    def __init__(self, pool: Sequence[Article], city_names: Sequence[str] = ()) -> None:
        self.city_names = list(city_names)
        self.shingles = shingle_hash_sets([self.text(a) for a in pool])
        every = (np.concatenate(self.shingles) if self.shingles
                 else np.array([], dtype=np.uint32))
        owners = np.repeat(np.arange(len(self.shingles)), [s.size for s in self.shingles])
        values, inverse, counts = np.unique(every, return_inverse=True, return_counts=True)
        self._rare = values[counts <= PICKUP_RARE_DF]
        # Rare shingle -> the pool reports holding it (sorted by shingle), to find candidates.
        keep = counts[inverse] <= PICKUP_RARE_DF
        order = np.argsort(every[keep], kind="stable")
        self._rare_values = every[keep][order]
        self._rare_owners = owners[keep][order]

    def rare_hits(self, own: np.ndarray) -> dict[int, int]:
        """Pool index -> rare shingles it shares with ``own`` (only reports sharing any)."""
        left = np.searchsorted(self._rare_values, own, side="left")
        right = np.searchsorted(self._rare_values, own, side="right")
        hits: dict[int, int] = {}
        for lo, hi in zip(left.tolist(), right.tolist(), strict=True):
            for owner in self._rare_owners[lo:hi].tolist():
                hits[owner] = hits.get(owner, 0) + 1
        return hits

    def text(self, article: Article) -> str:
        return _story_text(article, self.city_names)

    def score(self, own: np.ndarray, foreign: np.ndarray) -> tuple[float, int]:
        """(containment, rare shared shingles) of two shingle sets."""
        shared = np.intersect1d(own, foreign, assume_unique=True)
        if not shared.size:
            return 0.0, 0
        rare = np.intersect1d(shared, self._rare, assume_unique=True).size
        return shared.size / min(own.size, foreign.size), int(rare)

    def link(self, own: Article, own_shingles: np.ndarray, foreign: Article,
             foreign_shingles: np.ndarray) -> tuple[str, float] | None:
        if syndicated(own, foreign):
            return "syndicated copy", 1.0
        score, rare = self.score(own_shingles, foreign_shingles)
        if score < PICKUP_MIN_CONTAINMENT or rare < PICKUP_MIN_RARE:
            return None
        own_numbers = set(_NUMBER.findall(f"{own.title} {own.summary}"))
        foreign_numbers = set(_NUMBER.findall(f"{foreign.title} {foreign.summary}"))
        if own_numbers and foreign_numbers and not own_numbers & foreign_numbers:
            return None
        return "same story", score


def _moment(article: Article) -> datetime:
    assert article.published_at is not None
    return article.published_at


def find_pickups(
    store: Store,
    city: str,
    start: date,
    end: date,
    window_days: int = PICKUP_WINDOW_DAYS,
    config_dir: Path | None = None,
) -> list[Pickup]:
    """Foreign reports that went on to cover the city's own-voice stories published in
    ``start``..``end``: a foreign report about the city published within ``window_days``
    after an own-voice story and linked to it (``syndicated`` or ``StoryMatcher``; the
    best-matching own story when several match). Newest own story first, then by lag.

    Cost: one pass over the city's foreign reports of the period (shingled once)."""
    own = [a for a in store.iter_articles(ArticleFilter(
        cities=[city], voice="own", date_from=start, date_to=end)) if a.published_at]
    if not own:
        return []
    foreign = [a for a in store.iter_articles(ArticleFilter(
        cities=[city], voice="foreign", date_from=start,
        date_to=end + timedelta(days=window_days))) if a.published_at]
    matcher = StoryMatcher(foreign, _name_forms(city, config_dir))
    moments = [_moment(a) for a in foreign]  # iter_articles is oldest first
    best: dict[int, tuple[float, Article, str]] = {}
    for story in own:
        own_shingles = shingle_hashes(matcher.text(story))
        low = bisect.bisect_right(moments, _moment(story))
        high = bisect.bisect_right(moments, _moment(story) + timedelta(days=window_days))
        # Only reports sharing enough rare shingles can be the same story (or a cluster copy).
        candidates = {i for i, n in matcher.rare_hits(own_shingles).items()
                      if n >= PICKUP_MIN_RARE and low <= i < high}
        candidates.update(i for i in range(low, high) if syndicated(story, foreign[i]))
        for index in sorted(candidates):
            found = matcher.link(story, own_shingles, foreign[index], matcher.shingles[index])
            if found is None:
                continue
            link, score = found
            if index not in best or score > best[index][0]:
                best[index] = (score, story, link)
    pickups = []
    for index, (score, story, link) in best.items():
        report = foreign[index]
        tags = report.tags
        pickups.append(Pickup(
            own_id=story.id, own_date=_moment(story).date().isoformat(),
            own_outlet=story.outlet, own_headline=story.title, foreign_id=report.id,
            date=_moment(report).date().isoformat(), outlet=report.outlet,
            country=report.country or UNKNOWN_MARKET,
            language=tags.language if tags else "", headline=report.title,
            lag_days=(_moment(report).date() - _moment(story).date()).days,
            link=link, similarity=round(score, 3),
        ))
    pickups.sort(key=lambda p: (p.own_id, p.lag_days, p.foreign_id))
    pickups.sort(key=lambda p: p.own_date, reverse=True)  # stable: newest own story first
    return pickups


def pickups_by_country(pickups: Sequence[Pickup]) -> list[dict[str, Any]]:
    """Picked-up reports per country: how many, how many own stories, median lag in days."""
    groups: dict[str, list[Pickup]] = defaultdict(list)
    for pickup in pickups:
        groups[pickup.country].append(pickup)
    rows = [{
        "country": country,
        "reports": len(items),
        "own_stories": len({p.own_id for p in items}),
        "median_lag_days": float(np.median([p.lag_days for p in items])),
    } for country, items in groups.items()]
    rows.sort(key=lambda r: (-r["reports"], r["country"]))
    return rows


# -- evaluation of the pick-up linking -----------------------------------------------------------

PICKUP_EVAL_SET = Path(__file__).resolve().parents[1] / "data" / "eval" / "pickups.jsonl"


@dataclass(slots=True)
class LinkEvaluation:
    true_positive: int
    false_positive: int
    false_negative: int
    true_negative: int
    mistakes: list[str]  # ids of the reports linked or missed wrongly

    @property
    def precision(self) -> float:
        linked = self.true_positive + self.false_positive
        return self.true_positive / linked if linked else 0.0

    @property
    def recall(self) -> float:
        wanted = self.true_positive + self.false_negative
        return self.true_positive / wanted if wanted else 0.0


def _eval_article(record: dict[str, Any], voice: str) -> Article:
    day = date.fromisoformat(record["date"])
    return Article(
        id=record["id"], url=f"https://eval.example/{record['id']}", title=record["title"],
        summary=record["summary"], published_at=datetime(day.year, day.month, day.day, 12,
                                                         tzinfo=UTC_ZONE),
        outlet=record["outlet"], country=record.get("country"), voice=voice,  # type: ignore[arg-type]
    )


def evaluate_pickup_links(
    path: Path = PICKUP_EVAL_SET,
    background: dict[str, list[Article]] | None = None,
    config_dir: Path | None = None,
) -> LinkEvaluation:
    """Precision and recall of the linking on the hand-labelled pairs of ``path``. The rare-
    shingle pool of a city is its labelled reports plus ``background`` reports about it (the
    ordinary coverage a real pool holds; without it nearly every shingle looks rare)."""
    import json

    own: dict[str, tuple[str, Article]] = {}
    reports: list[tuple[dict[str, Any], Article]] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        if record["kind"] == "own":
            own[record["id"]] = (record["city"], _eval_article(record, "own"))
        else:
            reports.append((record, _eval_article(record, "foreign")))
    result = LinkEvaluation(0, 0, 0, 0, [])
    matchers: dict[str, StoryMatcher] = {}
    for city in {c for c, _ in own.values()}:
        pool = [a for r, a in reports if own[r["own"]][0] == city]
        pool += (background or {}).get(city, [])
        matchers[city] = StoryMatcher(pool, _name_forms(city, config_dir))
    for record, report in reports:
        city, story = own[record["own"]]
        matcher = matchers[city]
        linked = matcher.link(story, shingle_hashes(matcher.text(story)), report,
                              shingle_hashes(matcher.text(report))) is not None
        wanted = bool(record["same_story"])
        if linked and wanted:
            result.true_positive += 1
        elif linked:
            result.false_positive += 1
            result.mistakes.append(f"{record['id']} (linked, not the same story)")
        elif wanted:
            result.false_negative += 1
            result.mistakes.append(f"{record['id']} (missed)")
        else:
            result.true_negative += 1
    return result
