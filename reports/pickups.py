"""Which of a city's own-voice stories (iChongqing, SHINE, EYESHENZHEN...) foreign outlets went
on to cover, by country and with the lag: the Planner's "picked up abroad" table.

A foreign report is linked to an own-voice story by ``StoryMatcher`` (syndicated copy or same
story by shared rare character shingles within ``PICKUP_WINDOW_DAYS``); its precision and recall
are measured on the hand-labelled pairs in ``data/eval/pickups.jsonl``
(``evaluate_pickup_links``).
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC as UTC_ZONE
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from cityradar.config import default_config_dir
from cityradar.records import Article
from ingest.syndication import normalized_text, shingle_hash_sets, shingle_hashes
from nlp.gazetteer import load_cities
from search.store import UNKNOWN_MARKET, ArticleFilter, Store

# Pick-up linking (see StoryMatcher); thresholds checked on data/eval/pickups.jsonl.
PICKUP_WINDOW_DAYS = 14
PICKUP_MIN_CONTAINMENT = 0.25
PICKUP_MIN_RARE = 8
PICKUP_RARE_DF = 3


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
