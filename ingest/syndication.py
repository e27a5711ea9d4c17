"""Syndication-aware dedupe: one story, many copies.

A wire story reprinted by twenty outlets with small edits is one *story* with twenty
*reports*. Near-duplicates are found with MinHash LSH (``datasketch``) over character
shingles of the normalized title + summary: character shingles work in every script and
only match copies in the same language (a translation is a new report in another market).

Every article gets ``cluster_id`` = the id of the story's first-seen article; copies also get
``dup_of`` = that id, the first copy keeps ``dup_of = None``. So the store counts both unique
stories (``ArticleFilter(unique_stories=True)``) and total reports (reach).

Speed and memory: a batch is fingerprinted in one numpy pass (shingle hashes for all texts,
then the MinHash as a permutations x shingles matrix), LSH bands are plain dicts, and the
index is time-windowed (see ``SyndicationIndex``): entries older than ``retain_days`` before
the newest batches are evicted, so memory does not grow with years of imports.

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
from collections import Counter, deque
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
MAX_CANDIDATES = 64  # LSH candidates checked per article (see SyndicationIndex._candidates)
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
    return shingle_hash_sets([text])[0]


def shingle_hash_sets(texts: Sequence[str]) -> list[np.ndarray]:
    """``shingle_hashes`` of many texts at once: one pass of numpy over the whole batch
    instead of a dozen small numpy calls per text."""
    if not texts:
        return []
    encoded = [text.encode("utf-32-le") for text in texts]
    lengths = np.fromiter((len(item) // 4 for item in encoded), dtype=np.int64,
                          count=len(encoded))
    codes = np.frombuffer(b"".join(encoded), dtype=np.uint32).astype(np.uint64)
    starts = np.zeros(len(texts), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    wide_before = np.zeros(codes.size + 1, dtype=np.int64)
    np.cumsum(codes >= _WIDE_SCRIPTS, out=wide_before[1:])
    wide = wide_before[starts + lengths] - wide_before[starts]
    sizes = np.minimum(np.where(wide * 3 > lengths, 3, 5), lengths)
    counts = np.where(lengths > 0, lengths - sizes + 1, 0)

    owner = np.repeat(np.arange(len(texts), dtype=np.int64), counts)
    first_window = np.cumsum(counts) - counts
    positions = np.arange(owner.size, dtype=np.int64) - first_window[owner] + starts[owner]
    window_sizes = sizes[owner]
    padded = np.concatenate((codes, np.zeros(5, dtype=np.uint64)))
    rolled = np.empty(owner.size, dtype=np.uint64)
    rolling = np.zeros(codes.size, dtype=np.uint64)
    for size in range(1, int(sizes.max(initial=0)) + 1):  # uint64 arithmetic wraps: the modulus
        rolling = rolling * _ROLL_BASE + padded[size - 1:size - 1 + codes.size]
        chosen = window_sizes == size
        rolled[chosen] = rolling[positions[chosen]]
    mixed = (rolled * _MIX) >> np.uint64(32)
    # Unique per text in one sort: the text's number in the high 32 bits keeps texts apart.
    keyed = np.sort((owner.astype(np.uint64) << np.uint64(32)) | mixed)
    first_of_run = np.empty(keyed.size, dtype=bool)
    first_of_run[:1] = True
    np.not_equal(keyed[1:], keyed[:-1], out=first_of_run[1:])
    keyed = keyed[first_of_run]  # np.unique's hash table is several times slower here
    per_text = np.bincount((keyed >> np.uint64(32)).astype(np.int64), minlength=len(texts))
    low_bits = keyed.astype(np.uint32)
    ends = np.cumsum(per_text)
    return [low_bits[end - count:end].copy() for end, count in zip(ends, per_text, strict=True)]


@dataclass(slots=True)
class _Entry:
    cluster_id: str
    day: int | None  # ordinal of the publication day
    signature: np.ndarray  # the MinHash values (uint32, num_perm of them)
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


Fingerprint = tuple[np.ndarray, np.ndarray]  # (MinHash signature, sorted unique shingle hashes)
_PERMUTED_ROWS_PER_CHUNK = 1 << 13  # shingles per permutation matrix: 2 MiB, in cache
BandTable = dict[int, "str | list[str]"]  # band key -> article id, or ids when several share it


class SyndicationIndex:
    """MinHash LSH index of the recent stories; ``assign`` clusters new articles.

    Banded LSH with datasketch's band/row split for the candidate threshold, kept in plain
    dicts (datasketch's own index costs ~90 µs per article in per-band overhead, half the
    time budget). The index is time-windowed: entries are bucketed by publication day, and
    after each ``assign`` the days more than ``retain_days`` (default two windows) before the
    index's clock are dropped, so memory stays bounded however many years are imported. The
    clock is the latest median publication day of an ``assign`` batch (one wrong future date
    does not evict everything). Undated entries are kept first-in first-out, at most
    ``max_undated``. Evicted days are forgotten by ``prime_from_store`` too, so a later
    batch about those days loads them from the store again.
    """

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, num_perm: int = DEFAULT_NUM_PERM,
                 window_days: int = DEFAULT_WINDOW_DAYS, retain_days: int | None = None,
                 max_undated: int = 20_000) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {threshold}")
        self.threshold = threshold
        self.window_days = window_days
        self.retain_days = 2 * window_days if retain_days is None else retain_days
        if self.retain_days < window_days:
            raise ValueError(f"retain_days ({self.retain_days}) must cover window_days "
                             f"({window_days})")
        self.max_undated = max_undated
        self.num_perm = num_perm
        template = MinHash(num_perm=num_perm, scheme="affine32")
        self._multipliers = template.permutations[0].astype(np.uint32)
        self._offsets = template.permutations[1].astype(np.uint32)
        banding = MinHashLSH(threshold=max(0.05, threshold - CANDIDATE_MARGIN), num_perm=num_perm)
        self._bands, self._rows = int(banding.b), int(banding.r)
        self._tables: list[BandTable] = [{} for _ in range(self._bands)]
        self._entries: dict[str, _Entry] = {}
        self._days: dict[int, list[str]] = {}  # publication day -> ids of its entries
        self._undated: deque[str] = deque()
        self._clock: int | None = None
        self._primed_days: set[int] = set()
        self.stats = ClusterStats()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._entries

    def fingerprint(self, article: Article) -> Fingerprint | None:
        """The article's MinHash signature and shingle hashes, or None when its text is too
        short."""
        return self.fingerprints([article])[0]

    def fingerprints(self, articles: Sequence[Article]) -> list[Fingerprint | None]:
        """``fingerprint`` of a batch, vectorized over the whole batch."""
        hash_sets = shingle_hash_sets([normalized_text(a.title, a.summary) for a in articles])
        result: list[Fingerprint | None] = [None] * len(articles)
        eligible = [i for i, hashes in enumerate(hash_sets) if hashes.size >= MIN_SHINGLES]
        if not eligible:
            return result
        sizes = np.fromiter((hash_sets[i].size for i in eligible), dtype=np.int64,
                            count=len(eligible))
        values = _fmix32(np.concatenate([hash_sets[i] for i in eligible]))
        ends = np.cumsum(sizes)
        signatures = np.empty((len(eligible), self.num_perm), dtype=np.uint32)
        first = 0
        while first < len(eligible):  # chunks of whole articles, bounded in rows
            row_start = int(ends[first] - sizes[first])
            last = max(first + 1, int(np.searchsorted(
                ends, row_start + _PERMUTED_ROWS_PER_CHUNK, side="right")))
            # (num_perm x shingles), each permutation's row contiguous and cache-sized:
            # about 20 times faster than the (shingles x num_perm) layout.
            permuted = self._multipliers[:, np.newaxis] * values[np.newaxis,
                                                                 row_start:int(ends[last - 1])]
            permuted += self._offsets[:, np.newaxis]  # wraps mod 2**32
            signatures[first:last] = np.minimum.reduceat(
                permuted, ends[first:last] - sizes[first:last] - row_start, axis=1).T
            first = last
        for row, i in enumerate(eligible):
            result[i] = (signatures[row], hash_sets[i])
        return result

    def add_clustered(self, article: Article) -> None:
        """Index an article that already carries its cluster (e.g. loaded from the store)."""
        self.add_clustered_many([article])

    def add_clustered_many(self, articles: Sequence[Article]) -> int:
        """``add_clustered`` for a batch; returns how many were indexed."""
        fresh = _unseen(articles, self._entries)
        indexed = 0
        for article, fingerprint in zip(fresh, self.fingerprints(fresh), strict=True):
            if fingerprint is None:
                continue
            cluster = article.cluster_id or article.dup_of or article.id
            self._insert(article.id, _Entry(cluster, _ordinal(article.published_at),
                                            *fingerprint))
            indexed += 1
        return indexed

    def assign(self, articles: Sequence[Article]) -> list[Article]:
        """Copies of ``articles`` (same order) with ``cluster_id``/``dup_of`` set, clustering
        them oldest-first against the index and each other; they join the index."""
        order = sorted(range(len(articles)), key=lambda i: _sort_key(articles[i]))
        fingerprints = self.fingerprints(articles)
        rows = [i for i, fingerprint in enumerate(fingerprints) if fingerprint is not None]
        band_keys: dict[int, list[int]] = {}
        if rows:
            signatures = np.stack([fp[0] for fp in fingerprints if fp is not None])
            band_keys = dict(zip(rows, self._band_keys(signatures), strict=True))
        result: list[Article | None] = [None] * len(articles)
        for i in order:
            result[i] = self._assign_one(articles[i], fingerprints[i], band_keys.get(i))
        self._advance_clock(articles)
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
        pending: list[Article] = []
        for first, last in _runs(missing):
            filters = ArticleFilter(date_from=date.fromordinal(first),
                                    date_to=date.fromordinal(last))
            for stored in store.iter_articles(filters):
                pending.append(stored)
                if len(pending) >= 1000:
                    loaded += self.add_clustered_many(pending)
                    pending.clear()
        loaded += self.add_clustered_many(pending)
        self._primed_days.update(missing)
        if loaded:
            log.info("dedupe: indexed %d stored articles as candidates", loaded)
        return loaded

    def _assign_one(self, article: Article, fingerprint: Fingerprint | None,
                    band_keys: list[int] | None) -> Article:
        self.stats.articles += 1
        known = self._entries.get(article.id)
        if known is not None:  # the same article again: keep its place
            return _with_cluster(article, known.cluster_id)
        if fingerprint is None or band_keys is None:
            return _with_cluster(article, article.id)
        signature, hashes = fingerprint
        day = _ordinal(article.published_at)
        best: tuple[float, str] | None = None
        estimate_floor = (self.threshold - CANDIDATE_MARGIN) * self.num_perm
        for candidate_id in self._candidates(band_keys):
            entry = self._entries[candidate_id]
            if day is not None and entry.day is not None and \
                    abs(day - entry.day) > self.window_days:
                continue
            if np.count_nonzero(signature == entry.signature) < estimate_floor:
                continue  # cheap MinHash estimate first: most LSH candidates are far off
            similarity = _jaccard(hashes, entry.hashes)
            if similarity >= self.threshold and (best is None or similarity > best[0]):
                best = (similarity, entry.cluster_id)
        cluster = best[1] if best else article.id
        if best:
            self.stats.copies += 1
        self._insert(article.id, _Entry(cluster, day, signature, hashes), band_keys)
        return _with_cluster(article, cluster)

    def _band_keys(self, signatures: np.ndarray) -> list[list[int]]:
        """One 64-bit key per LSH band per signature (rows of ``signatures``)."""
        bands = signatures[:, :self._bands * self._rows].reshape(
            signatures.shape[0], self._bands, self._rows).astype(np.uint64)
        keys = bands[:, :, 0]
        for row in range(1, self._rows):
            keys = keys * _ROLL_BASE + bands[:, :, row]
        return ((keys * _MIX) ^ (keys >> np.uint64(29))).tolist()

    def _candidates(self, band_keys: list[int]) -> list[str]:
        """Indexed articles sharing a band with these keys, at most MAX_CANDIDATES of them,
        those sharing the most bands (the likeliest copies) first. The cap bounds the work
        per article when many stored texts are alike (e.g. a day of "Live updates" items):
        otherwise every new one is compared with all of them."""
        found: Counter[str] = Counter()
        for table, key in zip(self._tables, band_keys, strict=True):
            ids = table.get(key)
            if ids is None:
                continue
            if isinstance(ids, str):
                found[ids] += 1
            else:
                found.update(ids)
        if len(found) <= MAX_CANDIDATES:
            return list(found)
        return [article_id for article_id, _ in found.most_common(MAX_CANDIDATES)]

    def _insert(self, article_id: str, entry: _Entry,
                band_keys: list[int] | None = None) -> None:
        if band_keys is None:
            band_keys = self._band_keys(entry.signature[np.newaxis, :])[0]
        self._entries[article_id] = entry
        for table, key in zip(self._tables, band_keys, strict=True):
            ids = table.get(key)
            if ids is None:
                table[key] = article_id  # most bands are unique: no list for them
            elif isinstance(ids, str):
                table[key] = [ids, article_id]
            else:
                ids.append(article_id)
        if entry.day is None:
            self._undated.append(article_id)
            while len(self._undated) > self.max_undated:
                self._evict([self._undated.popleft()])
        else:
            self._days.setdefault(entry.day, []).append(article_id)

    def _advance_clock(self, articles: Sequence[Article]) -> None:
        days = sorted(day for day in (_ordinal(a.published_at) for a in articles)
                      if day is not None)
        if not days:
            return
        median = days[len(days) // 2]
        self._clock = median if self._clock is None else max(self._clock, median)
        horizon = self._clock - self.retain_days
        expired = [day for day in self._days if day < horizon]
        for day in expired:
            self._evict(self._days.pop(day))
        self._primed_days = {day for day in self._primed_days if day >= horizon}
        if expired:
            log.debug("dedupe: dropped %d days before %s from the index", len(expired),
                      date.fromordinal(horizon))

    def _evict(self, article_ids: list[str]) -> None:
        entries = [self._entries.pop(article_id) for article_id in article_ids]
        if not entries:
            return
        all_keys = self._band_keys(np.stack([entry.signature for entry in entries]))
        for article_id, band_keys in zip(article_ids, all_keys, strict=True):
            for table, key in zip(self._tables, band_keys, strict=True):
                ids = table.get(key)
                if ids == article_id:
                    del table[key]
                elif isinstance(ids, list):
                    ids.remove(article_id)
                    if len(ids) == 1:
                        table[key] = ids[0]


def _unseen(articles: Iterable[Article], entries: dict[str, _Entry]) -> list[Article]:
    """Articles not in the index yet, each id once."""
    seen: set[str] = set()
    fresh = []
    for article in articles:
        if article.id not in entries and article.id not in seen:
            seen.add(article.id)
            fresh.append(article)
    return fresh


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
    batch: list[Article] = []

    def cluster_batch() -> None:
        # The store yields oldest first and assign() keeps that order within a batch.
        for article, clustered in zip(batch, index.assign(batch), strict=True):
            if (clustered.cluster_id, clustered.dup_of) != (article.cluster_id, article.dup_of):
                changed.append(clustered)
        report.articles += len(batch)
        batch.clear()

    for article in store.iter_articles(filters, batch_size=batch_size):
        batch.append(article)
        if len(batch) >= batch_size:
            cluster_batch()
    cluster_batch()
    report.stories = index.stats.stories
    for start in range(0, len(changed), batch_size):
        result = store.upsert_articles(changed[start:start + batch_size])
        report.changed += result.inserted + result.updated
        for article_id, reason in result.failed:
            log.warning("dedupe: could not store cluster of %s: %s", article_id, reason)
    return report
