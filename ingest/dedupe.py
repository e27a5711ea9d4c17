"""Syndication-aware dedupe: one story, many copies.

A wire story reprinted by twenty outlets with small edits is one *story* with twenty
*reports*. Near-duplicates are found with MinHash LSH (``datasketch``) over character
shingles of the normalized title + summary: character shingles work in every script and
only match copies in the same language (a translation is a new report in another market).

Every article gets ``cluster_id`` = the id of the story's first-seen article; copies also get
``dup_of`` = that id, the first copy keeps ``dup_of = None``. So the store counts both unique
stories (``ArticleFilter(unique_stories=True)``) and total reports (reach).

Incremental across runs — the choice: candidates are re-derived from the store rather than
kept in a side file. Before clustering a batch, the articles stored within ``window_days`` of
the batch's publication dates are loaded once per process and their MinHashes recomputed
(about as fast as clustering itself). This works with every Store backend, never drifts from
the store, and needs no extra file to back up. Limits: stored articles without a publication
date are not candidates for later runs (a date filter never matches them); a copy published
more than ``window_days`` after its first copy starts a new story; the first article *seen*
heads the cluster, so an older original imported after its copies becomes a copy itself
(``cityradar dedupe`` re-clusters the store oldest-first to fix that).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from datasketch import MinHash, MinHashLSH

from cityradar.records import Article
from search.store import ArticleFilter, Store

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.65  # Jaccard of shingle sets at or above which two texts are copies
CANDIDATE_MARGIN = 0.15  # LSH looks for candidates this far below the threshold (recall)
DEFAULT_NUM_PERM = 64
DEFAULT_WINDOW_DAYS = 7
MIN_SHINGLES = 8  # shorter texts ("Wuhan") are too little evidence to call anything a copy
_WIDE_SCRIPTS = 0x2E80  # CJK, kana, hangul and beyond: one character carries a word's worth
_ROLL_BASE = np.uint64(1_000_003)
_MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: the high bits mix every input bit
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
_WIRE_PREFIX = re.compile(r"^\s*(?:UPDATE\s*\d*|REFILE|CORRECTED|WRAPUP\s*\d*|EXCLUSIVE)\s*[-:]\s*",
                          re.IGNORECASE)
# " - Reuters", " | The Straits Times": a short tail after a spaced dash or bar
_OUTLET_SUFFIX = re.compile(r"\s+[-|–—]\s+(?:\S+\s*){1,5}$")

Prepare = Callable[[list[Article]], list[Article]]


def normalized_text(title: str, summary: str) -> str:
    """Title + summary, NFKC, case-folded, punctuation and extra spaces removed; a title's
    wire prefix ("UPDATE 2-") and outlet suffix ("… - Reuters") are not part of the story."""
    title = _WIRE_PREFIX.sub("", title)
    title = _OUTLET_SUFFIX.sub("", title)
    text = unicodedata.normalize("NFKC", f"{title} {summary}").casefold()
    return " ".join(_NOT_WORD.sub(" ", text).split())


def shingle_hashes(text: str) -> np.ndarray:
    """Sorted unique 32-bit hashes of the text's character shingles: 5 characters, or 3 for
    mostly CJK/kana/hangul text. A polynomial rolling hash over code points, vectorized."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    if codes.size == 0:
        return np.empty(0, dtype=np.uint32)
    wide = int(np.count_nonzero(codes >= _WIDE_SCRIPTS))
    size = min(3 if wide * 3 > codes.size else 5, codes.size)
    count = codes.size - size + 1
    rolling = np.zeros(count, dtype=np.uint64)
    for offset in range(size):  # uint64 arithmetic wraps around: that is the modulus
        rolling = rolling * _ROLL_BASE + codes[offset:offset + count]
    mixed = (rolling * _MIX) >> np.uint64(32)
    return np.unique(mixed.astype(np.uint32))


@dataclass(slots=True)
class _Entry:
    cluster_id: str
    day: int | None  # ordinal of the publication day
    minhash: MinHash
    hashes: np.ndarray  # sorted unique shingle hashes: exact Jaccard for LSH candidates


def _fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer: affine permutations need well-mixed inputs."""
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


@dataclass(slots=True)
class ClusterStats:
    articles: int = 0
    copies: int = 0  # articles that joined an earlier story

    @property
    def stories(self) -> int:
        return self.articles - self.copies


class SyndicationIndex:
    """MinHash LSH index of the stories seen so far; ``assign`` clusters new articles."""

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, num_perm: int = DEFAULT_NUM_PERM,
                 window_days: int = DEFAULT_WINDOW_DAYS) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {threshold}")
        self.threshold = threshold
        self.window_days = window_days
        self._template = MinHash(num_perm=num_perm, scheme="affine32")
        self._permutations = (self._template.permutations[0].astype(np.uint32),
                              self._template.permutations[1].astype(np.uint32))
        self._lsh = MinHashLSH(threshold=max(0.05, threshold - CANDIDATE_MARGIN),
                               num_perm=num_perm)
        self._entries: dict[str, _Entry] = {}
        self._primed_days: set[int] = set()
        self.stats = ClusterStats()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._entries

    def fingerprint(self, article: Article) -> tuple[MinHash, np.ndarray] | None:
        """The article's MinHash and shingle hashes, or None when its text is too short."""
        hashes = shingle_hashes(normalized_text(article.title, article.summary))
        if hashes.size < MIN_SHINGLES:
            return None
        # The MinHash of the shingle hashes, vectorized: datasketch's update_batch calls a
        # Python hash function per shingle, which alone would cost more than the rest.
        multipliers, offsets = self._permutations
        permuted = _fmix32(hashes)[:, np.newaxis] * multipliers + offsets  # wraps mod 2**32
        signature = self._template.copy()
        signature.hashvalues = permuted.min(axis=0)
        return signature, hashes

    def add_clustered(self, article: Article) -> None:
        """Index an article that already carries its cluster (e.g. loaded from the store)."""
        if article.id in self._entries:
            return
        fingerprint = self.fingerprint(article)
        if fingerprint is None:
            return
        cluster = article.cluster_id or article.dup_of or article.id
        self._insert(article.id, _Entry(cluster, _ordinal(article.published_at), *fingerprint))

    def assign(self, articles: Sequence[Article]) -> list[Article]:
        """Copies of ``articles`` (same order) with ``cluster_id``/``dup_of`` set, clustering
        them oldest-first against the index and each other; they join the index."""
        order = sorted(range(len(articles)), key=lambda i: _sort_key(articles[i]))
        result: list[Article | None] = [None] * len(articles)
        for i in order:
            result[i] = self._assign_one(articles[i])
        return [article for article in result if article is not None]

    def prime_from_store(self, store: Store, articles: Iterable[Article]) -> int:
        """Load stored articles published within ``window_days`` of ``articles`` (days not
        loaded before); returns how many were indexed."""
        needed: set[int] = set()
        for article in articles:
            day = _ordinal(article.published_at)
            if day is not None:
                needed.update(range(day - self.window_days, day + self.window_days + 1))
        missing = sorted(needed - self._primed_days)
        loaded = 0
        for first, last in _runs(missing):
            filters = ArticleFilter(date_from=date.fromordinal(first),
                                    date_to=date.fromordinal(last))
            for stored in store.iter_articles(filters):
                if stored.id not in self._entries:
                    self.add_clustered(stored)
                    loaded += 1
        self._primed_days.update(missing)
        if loaded:
            log.info("dedupe: indexed %d stored articles as candidates", loaded)
        return loaded

    def _assign_one(self, article: Article) -> Article:
        self.stats.articles += 1
        known = self._entries.get(article.id)
        if known is not None:  # the same article again: keep its place
            return _with_cluster(article, known.cluster_id)
        fingerprint = self.fingerprint(article)
        if fingerprint is None:
            return _with_cluster(article, article.id)
        signature, hashes = fingerprint
        day = _ordinal(article.published_at)
        best: tuple[float, str] | None = None
        for candidate_id in self._lsh.query(signature):
            entry = self._entries[candidate_id]
            if day is not None and entry.day is not None and \
                    abs(day - entry.day) > self.window_days:
                continue
            if signature.jaccard(entry.minhash) < self.threshold - CANDIDATE_MARGIN:
                continue  # cheap estimate first: most LSH candidates are far off
            similarity = _jaccard(hashes, entry.hashes)
            if similarity >= self.threshold and (best is None or similarity > best[0]):
                best = (similarity, entry.cluster_id)
        cluster = best[1] if best else article.id
        if best:
            self.stats.copies += 1
        self._insert(article.id, _Entry(cluster, day, signature, hashes))
        return _with_cluster(article, cluster)

    def _insert(self, article_id: str, entry: _Entry) -> None:
        self._entries[article_id] = entry
        self._lsh.insert(article_id, entry.minhash, check_duplication=False)


def _jaccard(left: np.ndarray, right: np.ndarray) -> float:
    shared = np.intersect1d(left, right, assume_unique=True).size
    return shared / (left.size + right.size - shared)


def _with_cluster(article: Article, cluster_id: str) -> Article:
    dup_of = None if cluster_id == article.id else cluster_id
    if article.cluster_id == cluster_id and article.dup_of == dup_of:
        return article
    return dataclasses.replace(article, cluster_id=cluster_id, dup_of=dup_of)


def _ordinal(moment: Any) -> int | None:
    return moment.date().toordinal() if moment is not None else None


def _sort_key(article: Article) -> tuple[int, Any]:
    # Undated articles go last: a dated original should head the cluster.
    moment = article.published_at or article.fetched_at
    return (0, moment) if moment is not None else (1, 0)


def _runs(days: Sequence[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for day in days:
        if runs and runs[-1][1] == day - 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


class IngestPreparer:
    """What every article goes through on its way to the store, after exact (URL) dedupe:
    the outlet registry fills outlet/country/voice, then syndication clustering."""

    def __init__(self, store: Store, registry: Any | None = None,
                 index: SyndicationIndex | None = None) -> None:
        self.store = store
        self.registry = registry
        self.index = index or SyndicationIndex()

    @classmethod
    def from_config(cls, config_dir: Path | str, store: Store) -> IngestPreparer:
        """With ``<config_dir>/outlets.yaml`` when present (invalid: ConfigError)."""
        from ingest.outlets import OutletRegistry

        registry = None
        if (Path(config_dir) / "outlets.yaml").is_file():
            registry = OutletRegistry.from_config(config_dir)
        else:
            log.warning("no outlets.yaml in %s: outlets and voice are not filled in", config_dir)
        return cls(store, registry)

    def __call__(self, articles: list[Article]) -> list[Article]:
        if not articles:
            return articles
        if self.registry is not None:
            articles = self.registry.apply_all(articles)
        try:
            self.index.prime_from_store(self.store, articles)
        except Exception:  # candidates from earlier runs are a bonus; clustering still runs
            log.exception("dedupe: could not load stored candidates; clustering this batch only")
        return self.index.assign(articles)

    def then(self, next_step: Prepare | None) -> Prepare:
        """This preparation followed by ``next_step`` (e.g. the tagger)."""
        if next_step is None:
            return self

        def prepare_then(articles: list[Article]) -> list[Article]:
            return next_step(self(articles))

        return prepare_then


@dataclass(slots=True)
class ReclusterReport:
    articles: int = 0
    stories: int = 0
    changed: int = 0


def recluster_store(store: Store, filters: ArticleFilter | None = None,
                    window_days: int = DEFAULT_WINDOW_DAYS,
                    threshold: float = DEFAULT_THRESHOLD, batch_size: int = 1000
                    ) -> ReclusterReport:
    """Cluster the stored articles again, oldest first, and store the changed assignments.

    The changed articles are collected before writing (iterating and writing one store at
    the same time is not safe on every backend), so memory grows with the number changed.
    """
    index = SyndicationIndex(threshold=threshold, window_days=window_days)
    report = ReclusterReport()
    changed: list[Article] = []
    for article in store.iter_articles(filters, batch_size=batch_size):
        report.articles += 1
        clustered = index.assign([article])[0]
        if (clustered.cluster_id, clustered.dup_of) != (article.cluster_id, article.dup_of):
            changed.append(clustered)
    report.stories = index.stats.stories
    for start in range(0, len(changed), batch_size):
        result = store.upsert_articles(changed[start:start + batch_size])
        report.changed += result.inserted + result.updated
        for article_id, reason in result.failed:
            log.warning("dedupe: could not store cluster of %s: %s", article_id, reason)
    return report
