"""Embedded Store backend: one SQLite file, WAL mode, FTS5 full text.

Concurrency: one writer process and any number of readers at once (WAL). Each thread gets its
own connection (Streamlit runs callbacks on several threads); writes in this process are
serialised by a lock and run in ``BEGIN IMMEDIATE`` transactions with a busy timeout.

Full text: FTS5 ``unicode61`` does not segment Chinese/Japanese/Korean/Thai, so each article
also indexes a ``cjk`` column where every run of those scripts is split into overlapping
character bigrams; CJK query terms become bigram phrases on that column.

Upsert semantics: an article whose stored JSON is byte-identical is skipped (neither inserted
nor updated); ``UpsertResult.updated`` counts only articles whose content changed.

Dashboard aggregations: summary tables (``sqlite_schema.ROLLUPS``: counts, tone sums and
negative counts per day or month x city/topic x a few dimensions) are kept in the same
transaction as every upsert: a replaced article's stored rows are subtracted before they are
overwritten, and deltas are computed by the same SQL that builds a rollup from the whole store.
``aggregate()`` answers from the smallest rollup that gives exactly the detailed result
(``pick_rollup``) and reads the detailed tables otherwise. Mean tones are sums / counts, equal
to the detailed path's averages up to floating-point rounding.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import math
import re
import sqlite3
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from cityradar.records import (
    Alert,
    Article,
    CityMention,
    FetchState,
    SourceHealth,
    Tags,
    utc,
)
from search.sqlite_schema import (
    LATEST_VERSION,
    ROLLUPS,
    Rollup,
    apply_migrations,
    current_version,
    ensure_rollups,
    rollup_delta_sql,
    rollups_current,
)
from search.store import (
    TOP_STORY_OUTLETS,
    AggRow,
    ArticleFilter,
    GroupField,
    Interval,
    Market,
    MarketRow,
    SearchQuery,
    SearchResult,
    StoreError,
    StoryCount,
    TermStat,
    UpsertResult,
    as_datetime_bounds,
    day_bucket,
    market_group,
    market_rows,
)

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

BUSY_TIMEOUT_MS = 30_000
_ID_CHUNK = 500  # ids per IN (...) list; well below SQLite's variable limit
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Scripts written without spaces between words (plus Hangul, whose words carry particles).
_CJK_CLASS = (
    "\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff"  # Thai, Lao, Myanmar, Khmer
    "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # kana, Han
    "\uac00-\ud7af\U00020000-\U0002ffff"  # Hangul syllables, Han extensions
)
_CJK_RUN = re.compile(f"[{_CJK_CLASS}]+")
_QUERY_TOKEN = re.compile(r'"([^"]*)"?|(\S+)')
_WORD = re.compile(r"[^\W_]+")

_BM25 = "bm25(articles_fts, 4.0, 2.0, 1.0, 2.0)"
_GROUP_COLUMNS: dict[str, str] = {
    "city": "c.city",
    "topic": "t.topic",
    "language": "a.language",
    "outlet": "a.outlet",
    "country": "a.country",
    "sentiment_label": "a.sentiment_label",
    "voice": "a.voice",
}
_BUCKET_COLUMNS: dict[str, str] = {"day": "a.day", "week": "a.week", "month": "a.month"}

# Small stopword lists for the major languages of foreign coverage (term statistics only).
_STOPWORD_TEXT = """
    a an the and or but of to in on at by for with from as is are was were be been being it its
    this that these those he she they we you i his her their our your not no yes will would can
    could should may might has have had do does did said says say after before over under into
    about than then there here what which who whom when where why how all any more most other
    some such only own same so too very just also new one two three up out off again us mr ms
    le la les un une des du de et ou mais est sont dans sur pour par avec au aux ce cette ces il
    elle ils elles nous vous qui que quoi dont pas plus se sa son ses leur leurs été être
    der die das ein eine einer eines und oder aber ist sind war waren im in den dem des zu mit
    auf für von bei nach aus nicht auch es sie er wir ihr sich als wie dass
    el los las una unos unas y o pero es son fue en con por para del al lo se su sus que como
    más
    il lo gli i uno e ed o ma è sono nel nella con per tra fra che di da al della
    o os as um uma e ou mas é são no na nos nas com por para do da dos das que em
    и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только
    ее мне было вот от меня еще нет о из ему теперь когда даже ну ли если уже или ни быть был
    него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где есть надо
    ней для мы тебя их чем была сам чтобы без будто чего раз тоже себе под будет это этот
    في من على إلى عن مع هذا هذه التي الذي أن إن كان قد لا ما و أو ثم
    的 了 在 是 和 与 也 就 都 而 及 着 或 之 这 那 有 被 中
    の に は を た が で て と し れ さ ある いる も する から な こと として い や れる など
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def _as_store_error(method: Callable[P, R]) -> Callable[P, R]:
    """Turn sqlite3 errors escaping a public method into StoreError with the store's path."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except sqlite3.Error as exc:
            store = args[0]
            raise StoreError(f"sqlite store {store.path}: {exc}") from exc  # type: ignore[attr-defined]

    return wrapper


def cjk_bigrams(text: str) -> str:
    """Runs of unspaced scripts as overlapping bigrams plus the run's last character.

    "武汉市" -> "武汉 汉市 市": every character starts some token, so a one-character query
    is a prefix query and a longer one is a phrase of its bigrams.
    """
    tokens: list[str] = []
    for run in _CJK_RUN.findall(text):
        tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
        tokens.append(run[-1])
    return " ".join(tokens)


def _bigram_phrase(run: str) -> list[str]:
    return [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]


def _quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def fts_query(text: str) -> str | None:
    """Build an FTS5 MATCH expression: words ANDed, "quoted phrases" kept, word* as prefix.

    Returns None when the text holds nothing searchable (only punctuation).
    """
    clauses: list[str] = []
    for match in _QUERY_TOKEN.finditer(text):
        phrase, word = match.group(1), match.group(2)
        raw = phrase if phrase is not None else word
        prefix = phrase is None and raw.endswith("*")
        raw = raw.rstrip("*") if prefix else raw
        clauses.extend(_term_clauses(raw, prefix))
    return " AND ".join(clauses) if clauses else None


def _term_clauses(raw: str, prefix: bool) -> list[str]:
    clauses: list[str] = []
    spaced = _CJK_RUN.sub(" ", raw)
    if _WORD.search(spaced):
        suffix = " *" if prefix else ""
        clauses.append("{title summary body} : " + _quote(spaced.strip()) + suffix)
    for run in _CJK_RUN.findall(raw):
        if len(run) == 1:
            clauses.append(f"cjk : {_quote(run)} *")
        else:
            clauses.append("cjk : " + _quote(" ".join(_bigram_phrase(run))))
    return clauses


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def terms_of(text: str) -> set[str]:
    """Language-agnostic terms for term statistics: folded words, CJK character bigrams."""
    terms: set[str] = set()
    for run in _CJK_RUN.findall(text):
        terms.update(t for t in _bigram_phrase(run) if len(t) == 2 and not _stop_bigram(t))
    for word in _WORD.findall(_CJK_RUN.sub(" ", text)):
        folded = _fold(word)
        if len(folded) > 1 and not folded.isdigit() and folded not in _STOPWORDS:
            terms.add(folded)
    return terms


def _stop_bigram(bigram: str) -> bool:
    return bigram[0] in _STOPWORDS or bigram[1] in _STOPWORDS


def _epoch_us(value: datetime | None) -> int | None:
    if value is None:
        return None
    delta = utc(value) - _EPOCH  # type: ignore[operator]
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


_ARTICLE_FIELDS = tuple(f.name for f in dataclasses.fields(Article))
_TAG_FIELDS = tuple(f.name for f in dataclasses.fields(Tags))
_MENTION_FIELDS = tuple(f.name for f in dataclasses.fields(CityMention))


def _article_doc(article: Article) -> dict[str, Any]:
    """Article.to_dict() without dataclasses.asdict's deep copies (a third of upsert time)."""
    data = {name: getattr(article, name) for name in _ARTICLE_FIELDS}
    data["published_at"] = article.published_at.isoformat() if article.published_at else None
    data["fetched_at"] = article.fetched_at.isoformat() if article.fetched_at else None
    tags = article.tags
    if tags is not None:
        tag_data = {name: getattr(tags, name) for name in _TAG_FIELDS}
        tag_data["mentions"] = [
            {name: getattr(m, name) for name in _MENTION_FIELDS} for m in tags.mentions
        ]
        data["tags"] = tag_data
    return data


def _article_row(article: Article) -> tuple[dict[str, Any], list[tuple], list[tuple]]:
    """The articles row (without rid) and the city/topic side rows (without rid)."""
    doc = json.dumps(_article_doc(article), ensure_ascii=False, sort_keys=True)
    tags = article.tags
    published = utc(article.published_at)
    day = published.date() if published else None
    tone = tags.sentiment if tags else None
    label = tags.sentiment_label if tags else ""
    row = {
        "id": article.id,
        "url": article.url,
        "title": article.title,
        "summary": article.summary or "",
        "body": article.body or "",
        "cjk": cjk_bigrams(f"{article.title}\n{article.summary}\n{article.body or ''}"),
        "pub_ts": _epoch_us(published),
        "day": day.isoformat() if day else None,
        "week": day_bucket(day, "week").isoformat() if day else None,
        "month": day_bucket(day, "month").isoformat() if day else None,
        "fetched_at": article.fetched_at.isoformat() if article.fetched_at else None,
        "outlet": article.outlet or "",
        "domain": article.domain or "",
        "country": article.country or "",
        "source_id": article.source_id or "",
        "language": tags.language if tags else "und",
        "language_confidence": tags.language_confidence if tags else None,
        "sentiment": tone,
        "sentiment_label": label,
        "voice": article.voice,
        "dup_of": article.dup_of,
        "cluster_id": article.cluster_id,
        "tagger_version": tags.tagger_version if tags else "",
        "doc": doc,
        "doc_hash": hashlib.blake2b(doc.encode("utf-8"), digest_size=16).hexdigest(),
    }
    cities: list[tuple] = []
    topics: list[tuple] = []
    if tags:
        kinds: dict[str, str] = {}
        for mention in tags.mentions:
            if mention.kind == "place" or mention.city not in kinds:
                kinds[mention.city] = mention.kind
        relevance = dict(tags.cities)
        for city in kinds:
            relevance.setdefault(city, 0.0)
        negative = int(label == "negative")
        for city, rel in relevance.items():
            city_tone = tags.city_sentiment.get(city, tone)
            cities.append((city, kinds.get(city, "place"), float(rel), city_tone, row["day"],
                           row["week"], row["month"], negative))
        topics = [(topic, float(score)) for topic, score in tags.topics.items()]
    return row, cities, topics


_ARTICLE_COLUMNS = (
    "id", "url", "title", "summary", "body", "cjk", "pub_ts", "day", "week", "month",
    "fetched_at", "outlet", "domain", "country", "source_id", "language",
    "language_confidence", "sentiment", "sentiment_label", "voice", "dup_of", "cluster_id",
    "tagger_version", "doc", "doc_hash",
)
_INSERT_ARTICLE = (
    f"INSERT INTO articles (rid, {', '.join(_ARTICLE_COLUMNS)}) "
    f"VALUES (:rid, {', '.join(':' + c for c in _ARTICLE_COLUMNS)})"
)
_UPDATE_ARTICLE = (
    f"UPDATE articles SET {', '.join(f'{c} = :{c}' for c in _ARTICLE_COLUMNS)} WHERE rid = :rid"
)


# Staging copies of a batch's articles/cities/topics rows (only the columns rollups read), the
# old versions of replaced articles under -rid with weight -1, the new ones under rid with
# weight 1: one pass of the same SQL that builds rollups from the store applies the change.
_STAGE_ARTICLE_COLUMNS = ("rid", "day", "month", "language", "sentiment_label", "voice",
                          "outlet", "country", "dup_of", "sentiment", "w")
_STAGING_DDL = (
    f"CREATE TEMP TABLE IF NOT EXISTS rollup_articles "
    f"({', '.join(_STAGE_ARTICLE_COLUMNS)}, PRIMARY KEY (rid))",
    "CREATE TEMP TABLE IF NOT EXISTS rollup_cities (rid, city, kind, tone, "
    "PRIMARY KEY (rid, city)) WITHOUT ROWID",
    "CREATE TEMP TABLE IF NOT EXISTS rollup_topics (rid, topic, PRIMARY KEY (rid, topic)) "
    "WITHOUT ROWID",
)
_STAGE_FROM_STORE = (
    f"INSERT INTO temp.rollup_articles SELECT -rid, "
    f"{', '.join(_STAGE_ARTICLE_COLUMNS[1:-1])}, -1 FROM articles WHERE rid = ?",
    "INSERT INTO temp.rollup_cities SELECT -rid, city, kind, tone FROM article_cities "
    "WHERE rid = ?",
    "INSERT INTO temp.rollup_topics SELECT -rid, topic FROM article_topics WHERE rid = ?",
)
_STAGE_NEW_ARTICLE = (
    f"INSERT INTO temp.rollup_articles VALUES "
    f"({', '.join(':' + c for c in _STAGE_ARTICLE_COLUMNS[:-1])}, 1)"
)
_ROLLUP_SQL = {
    rollup.name: rollup_delta_sql(
        rollup, "temp.rollup_articles", "temp.rollup_cities", "temp.rollup_topics",
        weighted=True,
    )
    for rollup in ROLLUPS
}


def _clear_stage(conn: sqlite3.Connection) -> None:
    for statement in _STAGING_DDL:
        conn.execute(statement)
    for table in ("rollup_articles", "rollup_cities", "rollup_topics"):
        conn.execute(f"DELETE FROM temp.{table}")


def _stage_stored(conn: sqlite3.Connection, rids: list[tuple[int]]) -> None:
    """Stage the stored versions of articles ``rids`` for removal (before they are replaced)."""
    for statement in _STAGE_FROM_STORE:
        conn.executemany(statement, rids)


def _stage_new(
    conn: sqlite3.Connection, rows: list[dict[str, Any]], city_rows: list[tuple],
    topic_rows: list[tuple],
) -> None:
    """Stage freshly written articles (rows as given to the articles/side tables)."""
    conn.executemany(_STAGE_NEW_ARTICLE, rows)
    conn.executemany(
        "INSERT INTO temp.rollup_cities VALUES (?, ?, ?, ?)",
        [(row[0], row[1], row[2], row[4]) for row in city_rows],
    )
    conn.executemany("INSERT INTO temp.rollup_topics VALUES (?, ?)",
                     [row[:2] for row in topic_rows])


def _apply_stage(conn: sqlite3.Connection, removed_any: bool) -> None:
    for rollup in ROLLUPS:
        conn.execute(_ROLLUP_SQL[rollup.name])
        if removed_any:  # groups left without articles go, rather than linger as zeros
            conn.execute(f"DELETE FROM {rollup.table} WHERE n = 0")


def _chunks(items: Sequence[Any], size: int = _ID_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _placeholders(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


class SQLiteStore:
    """The Store protocol on one SQLite file (see module docstring)."""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self.url = f"sqlite:///{self.path}"
        self._local = threading.local()
        # One connection per thread; Streamlit serves each rerun on a fresh thread, so the
        # connections of threads that have ended are closed as new ones are opened.
        self._connections: dict[threading.Thread, sqlite3.Connection] = {}
        self._connections_lock = threading.Lock()
        self._write_lock = threading.RLock()
        self._closed = False
        self._rollups_ok = True
        if self.path.is_dir():
            raise StoreError(f"sqlite store {self.path}: is a directory, not a database file")
        if readonly and not self.path.exists():
            raise StoreError(f"sqlite store {self.path}: file does not exist (read-only open)")
        if not readonly:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"sqlite store {self.path}: cannot create directory: {exc}"
                ) from exc
        try:
            conn = self._conn()
            version = current_version(conn)
            if version > LATEST_VERSION:
                raise StoreError(
                    f"sqlite store {self.path}: schema version {version} is newer than this "
                    f"CityRadar supports ({LATEST_VERSION}); upgrade CityRadar"
                )
            if version < LATEST_VERSION:
                if readonly:
                    raise StoreError(
                        f"sqlite store {self.path}: schema version {version} needs migration "
                        f"to {LATEST_VERSION}; open it once read-write"
                    )
                with self._write_lock:
                    apply_migrations(conn)
                log.info("sqlite store %s migrated from v%d to v%d", self.path, version,
                         LATEST_VERSION)
            if readonly:
                self._rollups_ok = rollups_current(conn)
                if not self._rollups_ok:
                    log.warning("sqlite store %s: summary tables are out of date (open it once "
                                "read-write to rebuild); aggregations read the detailed tables",
                                self.path)
            else:
                with self._write_lock:
                    if ensure_rollups(conn):
                        log.info("sqlite store %s: summary tables rebuilt", self.path)
        except sqlite3.Error as exc:
            self.close()
            raise StoreError(f"sqlite store {self.path}: cannot open: {exc}") from exc
        except StoreError:
            self.close()
            raise

    # -- connections ----------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"sqlite store {self.path}: store is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        if self.readonly:
            conn = sqlite3.connect(
                f"file:{self.path}?mode=ro", uri=True, isolation_level=None,
                check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000,
            )
        else:
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False,
                timeout=BUSY_TIMEOUT_MS / 1000,
            )
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if not self.readonly:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    log.warning("sqlite store %s: WAL unavailable (journal_mode=%s)", self.path,
                                mode)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA cache_size = -65536")  # 64 MiB page cache per connection
            conn.execute("PRAGMA temp_store = MEMORY")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error:
            conn.close()
            raise
        self._local.conn = conn
        with self._connections_lock:
            ended = [t for t in self._connections if not t.is_alive()]
            stale = [self._connections.pop(t) for t in ended]
            self._connections[threading.current_thread()] = conn
        for old in stale:
            self._close_quietly(old)
        return conn

    def _close_quietly(self, conn: sqlite3.Connection) -> None:
        try:
            conn.close()
        except sqlite3.Error as exc:  # closing must not fail the caller
            log.warning("sqlite store %s: close failed: %s", self.path, exc)

    def _write(self) -> _WriteTransaction:
        if self.readonly:
            raise StoreError(f"sqlite store {self.path}: opened read-only, cannot write")
        return _WriteTransaction(self._conn(), self._write_lock)

    # -- lifecycle ----------------------------------------------------------------------------
    @_as_store_error
    def schema_version(self) -> int:
        return current_version(self._conn())

    def close(self) -> None:
        self._closed = True
        with self._connections_lock:
            connections, self._connections = list(self._connections.values()), {}
        for conn in connections:
            self._close_quietly(conn)
        self._local = threading.local()

    def health(self) -> dict[str, Any]:
        info: dict[str, Any] = {"ok": False, "backend": "sqlite", "url": self.url,
                                "path": str(self.path), "articles": 0, "detail": ""}
        try:
            conn = self._conn()
            info["articles"] = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
            info["alerts"] = conn.execute("SELECT count(*) FROM alerts").fetchone()[0]
            info["schema_version"] = current_version(conn)
            info["journal_mode"] = conn.execute("PRAGMA journal_mode").fetchone()[0]
            info["readonly"] = self.readonly
            info["ok"] = True
            info["detail"] = f"{info['articles']} articles in {self.path}"
        except Exception as exc:  # health() never raises: it reports
            info["detail"] = f"{type(exc).__name__}: {exc}"
        return info

    # -- articles -------------------------------------------------------------------------
    @_as_store_error
    def upsert_articles(self, articles: Iterable[Article]) -> UpsertResult:
        result = UpsertResult()
        batch: dict[str, Article] = {}
        for article in articles:
            batch[getattr(article, "id", "") or ""] = article  # last copy of an id wins
            if len(batch) >= 5000:
                self._upsert_batch(batch, result)
                batch = {}
        if batch:
            self._upsert_batch(batch, result)
        return result

    def _upsert_batch(self, batch: dict[str, Article], result: UpsertResult) -> None:
        prepared: list[tuple[dict[str, Any], list[tuple], list[tuple]]] = []
        for article_id, article in batch.items():
            try:
                if not article_id or not isinstance(article_id, str):
                    raise ValueError("article has no id")
                row, cities, topics = _article_row(article)
                row["doc"].encode("utf-8")  # lone surrogates would fail inside the transaction
                prepared.append((row, cities, topics))
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
                log.warning("sqlite store: article %r not stored: %s", article_id, reason)
                result.failed.append((str(article_id), reason))
        if not prepared:
            return
        with self._write() as conn:
            existing: dict[str, tuple[int, str]] = {}
            ids = [row["id"] for row, _, _ in prepared]
            for chunk in _chunks(ids):
                for article_id, rid, doc_hash in conn.execute(
                    f"SELECT id, rid, doc_hash FROM articles WHERE id IN ({_placeholders(chunk)})",
                    chunk,
                ):
                    existing[article_id] = (rid, doc_hash)
            next_rid = (conn.execute("SELECT max(rid) FROM articles").fetchone()[0] or 0) + 1
            inserts: list[dict[str, Any]] = []
            updates: list[dict[str, Any]] = []
            city_rows: list[tuple] = []
            topic_rows: list[tuple] = []
            for row, cities, topics in prepared:
                known = existing.get(row["id"])
                if known is not None and known[1] == row["doc_hash"]:
                    continue
                if known is None:
                    row["rid"] = next_rid
                    next_rid += 1
                    inserts.append(row)
                else:
                    row["rid"] = known[0]
                    updates.append(row)
                city_rows.extend((row["rid"], *city) for city in cities)
                topic_rows.extend((row["rid"], *topic) for topic in topics)
            _clear_stage(conn)
            if updates:
                stale = [(row["rid"],) for row in updates]
                _stage_stored(conn, stale)  # before the old versions are overwritten
                conn.executemany("DELETE FROM article_cities WHERE rid = ?", stale)
                conn.executemany("DELETE FROM article_topics WHERE rid = ?", stale)
                conn.executemany(_UPDATE_ARTICLE, updates)
            if inserts:
                conn.executemany(_INSERT_ARTICLE, inserts)
            conn.executemany(
                "INSERT INTO article_cities (rid, city, kind, relevance, tone, day, week, month, "
                "negative) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                city_rows,
            )
            conn.executemany(
                "INSERT INTO article_topics (rid, topic, score) VALUES (?, ?, ?)", topic_rows
            )
            if inserts or updates:
                _stage_new(conn, [*inserts, *updates], city_rows, topic_rows)
                _apply_stage(conn, removed_any=bool(updates))
        result.inserted += len(inserts)
        result.updated += len(updates)

    @_as_store_error
    def get_article(self, article_id: str) -> Article | None:
        row = self._conn().execute(
            "SELECT doc FROM articles WHERE id = ?", (article_id,)
        ).fetchone()
        return Article.from_dict(json.loads(row[0])) if row else None

    @_as_store_error
    def get_articles(self, article_ids: Sequence[str]) -> list[Article]:
        """The stored articles among ``article_ids``, in the order asked (missing ids skipped)."""
        found: dict[str, Article] = {}
        ids = list(dict.fromkeys(article_ids))
        for chunk in _chunks(ids):
            for article_id, doc in self._conn().execute(
                f"SELECT id, doc FROM articles WHERE id IN ({_placeholders(chunk)})", chunk
            ):
                found[article_id] = Article.from_dict(json.loads(doc))
        return [found[i] for i in ids if i in found]

    @_as_store_error
    def has_articles(self, article_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        ids = list(dict.fromkeys(article_ids))
        for chunk in _chunks(ids):
            found.update(
                r[0] for r in self._conn().execute(
                    f"SELECT id FROM articles WHERE id IN ({_placeholders(chunk)})", chunk
                )
            )
        return found

    def iter_articles(
        self, filters: ArticleFilter | None = None, batch_size: int = 1000
    ) -> Iterator[Article]:
        """Oldest first by (published_at, id); articles with unknown dates come last, by id."""
        where, params = _filter_sql(filters or ArticleFilter())
        cond = " AND ".join(where) if where else "1"
        # Keyset pagination: stable and O(n) even over millions of rows.
        last: tuple[int, str] | None = None
        while True:
            key = "AND (a.pub_ts, a.id) > (?, ?)" if last else ""
            rows = self._fetch(
                f"SELECT a.pub_ts, a.id, a.doc FROM articles a WHERE {cond} "
                f"AND a.pub_ts IS NOT NULL {key} ORDER BY a.pub_ts, a.id LIMIT ?",
                [*params, *(last or ()), batch_size],
            )
            for _, _, doc in rows:
                yield Article.from_dict(json.loads(doc))
            if len(rows) < batch_size:
                break
            last = (rows[-1][0], rows[-1][1])
        last_id: str | None = None
        while True:
            key = "AND a.id > ?" if last_id is not None else ""
            rows = self._fetch(
                f"SELECT a.id, a.doc FROM articles a WHERE {cond} AND a.pub_ts IS NULL {key} "
                f"ORDER BY a.id LIMIT ?",
                [*params, *([last_id] if last_id is not None else []), batch_size],
            )
            for _, doc in rows:
                yield Article.from_dict(json.loads(doc))
            if len(rows) < batch_size:
                break
            last_id = rows[-1][0]

    @_as_store_error
    def _fetch(self, sql: str, params: Sequence[Any]) -> list[tuple]:
        return self._conn().execute(sql, params).fetchall()

    @_as_store_error
    def count(self, filters: ArticleFilter | None = None) -> int:
        where, params = _filter_sql(filters or ArticleFilter())
        sql = "SELECT count(*) FROM articles a" + (" WHERE " + " AND ".join(where) if where else "")
        return int(self._conn().execute(sql, params).fetchone()[0])

    @_as_store_error
    def search(self, query: SearchQuery) -> SearchResult:
        """Sorts: newest = (published_at desc, id); oldest = (published_at asc, id); relevance =
        (bm25, published_at desc, id). Unknown dates sort last in every order."""
        match = fts_query(query.text) if query.text.strip() else None
        if query.sort == "oldest":
            order = "a.pub_ts IS NULL, a.pub_ts ASC, a.id"
        elif query.sort == "relevance" and match is not None:
            # Title hits weigh more than summary, summary more than body.
            order = f"{_BM25}, a.pub_ts IS NULL, a.pub_ts DESC, a.id"
        else:
            order = "a.pub_ts IS NULL, a.pub_ts DESC, a.id"
        limit, offset = max(0, query.limit), max(0, query.offset)
        conn = self._conn()
        try:
            if match is not None:
                total, docs = self._search_text(conn, match, query.filters, order, limit, offset)
            else:
                where, params = _filter_sql(query.filters)
                cond = (" WHERE " + " AND ".join(where)) if where else ""
                total = conn.execute(f"SELECT count(*) FROM articles a{cond}", params).fetchone()[0]
                docs = [r[0] for r in conn.execute(
                    f"SELECT a.doc FROM articles a{cond} ORDER BY {order} LIMIT ? OFFSET ?",
                    [*params, limit, offset],
                )]
        except sqlite3.OperationalError as exc:
            if "fts5" in str(exc).lower():
                raise StoreError(f"cannot search for {query.text!r}: {exc}") from exc
            raise
        return SearchResult(
            total=int(total), articles=[Article.from_dict(json.loads(doc)) for doc in docs]
        )

    def _search_text(
        self, conn: sqlite3.Connection, match: str, filters: ArticleFilter, order: str,
        limit: int, offset: int,
    ) -> tuple[int, list[str]]:
        """Full-text search driven by the FTS index (CROSS JOIN fixes that loop order; the
        planner otherwise may probe the FTS index once per article of a broad filter), with
        filters checked per match and the total counted in the same pass."""
        where, params = _filter_sql(filters, per_row=True)
        cond = "".join(f" AND {w}" for w in where)
        source = (
            f"FROM articles_fts CROSS JOIN articles a ON a.rid = articles_fts.rowid "
            f"WHERE articles_fts MATCH ?{cond}"
        )
        # bm25() is not allowed next to a window function: score in an inner query, whose
        # columns the outer ORDER BY names without the ``a.`` alias.
        score = _BM25 if _BM25 in order else "0"
        outer_order = order.replace(_BM25, "score").replace("a.", "")
        page = conn.execute(
            f"SELECT rid, count(*) OVER () FROM (SELECT a.rid, a.pub_ts, a.id, {score} AS score "
            f"{source}) ORDER BY {outer_order} LIMIT ? OFFSET ?",
            [match, *params, limit, offset],
        ).fetchall()
        if page:
            total = page[0][1]
        else:  # a page past the end: count separately
            total = conn.execute(f"SELECT count(*) {source}", [match, *params]).fetchone()[0]
        docs: dict[int, str] = {}
        rids = [row[0] for row in page]
        for chunk in _chunks(rids):
            docs.update(conn.execute(
                f"SELECT rid, doc FROM articles WHERE rid IN ({_placeholders(chunk)})", chunk
            ).fetchall())
        return int(total), [docs[rid] for rid in rids]

    @_as_store_error
    def aggregate(
        self,
        filters: ArticleFilter | None = None,
        interval: Interval | None = "day",
        group_by: Sequence[GroupField] = (),
        size: int = 1000,
    ) -> list[AggRow]:
        """See Store.aggregate. Articles with an unknown date are left out of time buckets
        (they count when ``interval`` is None). Grouped by city with a city filter, only the
        filtered cities get rows; likewise for topics. Missing values group under ""."""
        filters = filters or ArticleFilter()
        unknown = [g for g in group_by if g not in _GROUP_COLUMNS]
        if unknown:
            raise StoreError(f"cannot group by {unknown}: choose from {sorted(_GROUP_COLUMNS)}")
        if interval is not None and interval not in _BUCKET_COLUMNS:
            raise StoreError(f"unknown interval {interval!r}: choose day, week, month or None")
        rollup = pick_rollup(filters, interval, group_by) if self._rollups_ok else None
        if rollup is not None:
            return self._aggregate_rollup(rollup, filters, interval, group_by, size)
        where, params = _filter_sql(filters)
        joins: list[str] = []
        join_params: list[Any] = []
        tone = "a.sentiment"
        if "city" in group_by:
            join = "JOIN article_cities c ON c.rid = a.rid"
            if not filters.include_government:
                join += " AND c.kind = 'place'"
            if filters.cities:
                join += f" AND c.city IN ({_placeholders(filters.cities)})"
                join_params.extend(filters.cities)
            joins.append(join)
            tone = "c.tone"
        if "topic" in group_by:
            join = "JOIN article_topics t ON t.rid = a.rid"
            if filters.topics:
                join += f" AND t.topic IN ({_placeholders(filters.topics)})"
                join_params.extend(filters.topics)
            joins.append(join)
        bucket = _BUCKET_COLUMNS[interval] if interval else "NULL"
        if interval:
            where.append(f"{bucket} IS NOT NULL")
        keys = [_GROUP_COLUMNS[g] for g in group_by]
        key_select = "".join(f", {k} AS k{i}" for i, k in enumerate(keys))
        group = ", ".join(["bucket", *(f"k{i}" for i in range(len(keys)))])
        cond = (" WHERE " + " AND ".join(where)) if where else ""
        inner = (
            f"SELECT {bucket} AS bucket{key_select}, count(*) AS n, avg({tone}) AS tone, "
            f"sum(a.sentiment_label = 'negative') AS neg "
            f"FROM articles a {' '.join(joins)}{cond} GROUP BY {group}"
        )
        sql, all_params = _ranked(inner, len(keys), [*join_params, *params], size)
        return _agg_rows(self._conn().execute(sql, all_params).fetchall(), group_by)

    def _aggregate_rollup(
        self, rollup: Rollup, filters: ArticleFilter, interval: Interval | None,
        group_by: Sequence[GroupField], size: int,
    ) -> list[AggRow]:
        """aggregate() answered from a rollup table (see pick_rollup for when it is exact)."""
        where: list[str] = []
        params: list[Any] = []
        if rollup.per_city and not filters.include_government:
            where.append("kind = 'place'")
        for column, values in (
            ("city", filters.cities), ("topic", filters.topics), ("language", filters.languages),
            ("sentiment_label", filters.sentiment_labels), ("outlet", filters.outlets),
            ("country", filters.countries),
        ):
            if values:
                where.append(f"{column} IN ({_placeholders(values)})")
                params.extend(values)
        if filters.voice:
            where.append("voice = ?")
            params.append(filters.voice)
        if filters.unique_stories:
            where.append("uniq = 1")
        if filters.date_from or filters.date_to or interval:
            where.append("day != ''")  # unknown dates: never in a date filter or time bucket
        if filters.date_from:
            where.append("day >= ?")
            params.append(filters.date_from.isoformat())
        if filters.date_to:
            where.append("day <= ?")
            params.append(filters.date_to.isoformat())
        bucket = _ROLLUP_BUCKETS[interval] if interval else "NULL"
        keys = list(group_by)
        key_select = "".join(f", {k} AS k{i}" for i, k in enumerate(keys))
        group = ", ".join(["bucket", *(f"k{i}" for i in range(len(keys)))])
        tone = "city_tone" if "city" in group_by else "tone"
        cond = (" WHERE " + " AND ".join(where)) if where else ""
        inner = (
            f"SELECT {bucket} AS bucket{key_select}, sum(n) AS n, "
            f"total({tone}_sum) / sum({tone}_n) AS tone, sum(neg) AS neg "
            f"FROM {rollup.table}{cond} GROUP BY {group} HAVING sum(n) > 0"
        )
        return _agg_rows(self._conn().execute(*_ranked(inner, len(keys), params, size))
                         .fetchall(), group_by)

    @_as_store_error
    def top_stories(self, filters: ArticleFilter | None = None, size: int = 10
                    ) -> list[StoryCount]:
        """See Store.top_stories."""
        where, params = _filter_sql(filters or ArticleFilter())
        cond = (" WHERE " + " AND ".join(where)) if where else ""
        rows = self._conn().execute(
            f"SELECT story, count(*) AS n, json_group_array(DISTINCT outlet) FROM ("
            f"SELECT coalesce(a.dup_of, a.id) AS story, a.outlet AS outlet FROM articles a{cond}"
            f") GROUP BY story ORDER BY n DESC, story LIMIT ?",
            [*params, max(0, size)],
        ).fetchall()
        return [
            StoryCount(story=row[0], count=int(row[1]),
                       outlets=sorted(o for o in json.loads(row[2] or "[]") if o)
                       [:TOP_STORY_OUTLETS])
            for row in rows
        ]

    @_as_store_error
    def market_aggregate(
        self, filters: ArticleFilter | None = None, by: Market = "country"
    ) -> list[MarketRow]:
        """See Store.market_aggregate. The whole months of the period are answered from the
        market rollup, the partial months at either end from the detailed tables."""
        filters = filters or ArticleFilter()
        group_by = market_group(by)
        rows: list[AggRow] = []
        for start, end in _month_slices(filters.date_from, filters.date_to):
            piece = dataclasses.replace(filters, date_from=start, date_to=end)
            whole_months = pick_rollup(piece, None, group_by) is not None
            if whole_months or not filters.cities or not self._rollups_ok:
                rows.extend(self.aggregate(piece, None, group_by, size=_ALL_KEYS))
            else:
                rows.extend(self._market_days(piece, by))
        return market_rows(rows, by)

    def _market_days(self, filters: ArticleFilter, by: str) -> list[AggRow]:
        """The market matrix of a few days for given cities, read from the city-day index of
        ``article_cities`` (the general detailed path starts from every report of the city)."""
        others = dataclasses.replace(filters, cities=())
        where, params = _filter_sql(others, per_row=True)
        where.insert(0, f"c.city IN ({_placeholders(filters.cities)})")
        params[0:0] = list(filters.cities)
        if not filters.include_government:
            where.append("c.kind = 'place'")
        if filters.date_from:
            where.append("c.day >= ?")
            params.append(filters.date_from.isoformat())
        if filters.date_to:
            where.append("c.day <= ?")
            params.append(filters.date_to.isoformat())
        topic_join = "JOIN article_topics t ON t.rid = c.rid"
        topic_params: list[Any] = []
        if filters.topics:
            topic_join += f" AND t.topic IN ({_placeholders(filters.topics)})"
            topic_params = list(filters.topics)
        sql = (
            f"SELECT NULL, c.city, a.{by}, t.topic, a.sentiment_label, count(*), avg(c.tone), "
            f"sum(a.sentiment_label = 'negative') FROM article_cities c "
            f"JOIN articles a ON a.rid = c.rid {topic_join} WHERE {' AND '.join(where)} "
            f"GROUP BY 2, 3, 4, 5"
        )
        return _agg_rows(self._conn().execute(sql, [*topic_params, *params]).fetchall(),
                         ("city", by, "topic", "sentiment_label"))

    @_as_store_error
    def date_range(self, filters: ArticleFilter | None = None) -> tuple[date, date] | None:
        where, params = _filter_sql(filters or ArticleFilter())
        where.append("a.pub_ts IS NOT NULL")
        row = self._conn().execute(
            f"SELECT min(a.day), max(a.day) FROM articles a WHERE {' AND '.join(where)}", params
        ).fetchone()
        if not row or row[0] is None:
            return None
        return date.fromisoformat(row[0]), date.fromisoformat(row[1])

    @_as_store_error
    def term_stats(
        self,
        foreground: ArticleFilter,
        background: ArticleFilter | None = None,
        size: int = 20,
        sample: int = 5000,
    ) -> list[TermStat]:
        """Significant terms by JLH score ((fg% - bg%) * fg% / bg%), ties by term.

        Document frequencies over title+summary. At most ``sample`` foreground documents are
        read (evenly spread, newest first) and their counts scaled up. The default background
        (everything) is read from the full-text vocabulary, so it costs no scan; an explicit
        background filter is sampled like the foreground.
        """
        fg_total, fg_counts = self._term_counts(foreground, sample)
        if fg_total == 0 or not fg_counts:
            return []
        if background is None or background == ArticleFilter():
            bg_total = self.count()
            bg_counts = self._vocab_counts(list(fg_counts))
            for term, n in fg_counts.items():  # the foreground is part of "everything"
                bg_counts[term] = min(bg_total, max(bg_counts.get(term, 0), n))
        else:
            bg_total, bg_counts = self._term_counts(background, sample * 4)
        if bg_total == 0:
            return []
        min_docs = 2 if fg_total >= 10 else 1
        stats: list[TermStat] = []
        for term, fg in fg_counts.items():
            if fg < min_docs:
                continue
            bg = bg_counts.get(term, 0)
            fg_pct = fg / fg_total
            bg_pct = max(bg, 1) / bg_total
            if fg_pct <= bg_pct:
                continue
            score = (fg_pct - bg_pct) * (fg_pct / bg_pct)
            stats.append(TermStat(term=term, foreground=fg, background=bg, score=score))
        stats.sort(key=lambda s: (-s.score, -s.foreground, s.term))
        return stats[: max(0, size)]

    def _term_counts(self, filters: ArticleFilter, sample: int) -> tuple[int, Counter[str]]:
        total = self.count(filters)
        where, params = _filter_sql(filters)
        cond = (" WHERE " + " AND ".join(where)) if where else ""
        step = max(1, math.ceil(total / sample)) if sample > 0 else 1
        rows = self._conn().execute(
            f"SELECT title, summary FROM (SELECT a.title, a.summary, row_number() OVER "
            f"(ORDER BY a.pub_ts DESC, a.id) AS n FROM articles a{cond}) WHERE n % ? = 0",
            [*params, step],
        )
        counts: Counter[str] = Counter()
        read = 0
        for title, summary in rows:
            counts.update(terms_of(f"{title}\n{summary}"))
            read += 1
        if read and step > 1:
            scale = total / read
            counts = Counter({t: round(n * scale) for t, n in counts.items()})
        return total, counts

    def _vocab_counts(self, terms: list[str]) -> dict[str, int]:
        """Documents per term in title+summary from the FTS vocabulary (bigrams: cjk column).

        The vocabulary counts documents per column; the larger of the title and summary
        counts is a lower bound of the documents holding the term in either (a per-document
        union would need a scan), good enough for a background rate.
        """
        counts: dict[str, int] = {}
        conn = self._conn()
        for chunk in _chunks(terms):
            for term, col, docs in conn.execute(
                f"SELECT term, col, doc FROM articles_vocab WHERE term IN "
                f"({_placeholders(chunk)}) AND col IN ('title', 'summary', 'cjk')",
                list(chunk),
            ):
                is_bigram = bool(_CJK_RUN.fullmatch(term))
                if (col == "cjk") == is_bigram:
                    counts[term] = max(counts.get(term, 0), int(docs))
        return counts

    # -- alerts -----------------------------------------------------------------------------
    @_as_store_error
    def upsert_alert(self, alert: Alert) -> None:
        doc = json.dumps(alert.to_dict(), ensure_ascii=False, sort_keys=True)
        with self._write() as conn:
            conn.execute(
                'INSERT INTO alerts (id, city, kind, start, peak, "end", status, doc) '
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET city = "
                "excluded.city, kind = excluded.kind, start = excluded.start, peak = "
                'excluded.peak, "end" = excluded."end", status = excluded.status, '
                "doc = excluded.doc",
                (alert.id, alert.city, alert.kind, alert.start.isoformat(),
                 alert.peak.isoformat(), alert.end.isoformat(), alert.status, doc),
            )

    @_as_store_error
    def get_alert(self, alert_id: str) -> Alert | None:
        row = self._conn().execute("SELECT doc FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        return Alert.from_dict(json.loads(row[0])) if row else None

    @_as_store_error
    def list_alerts(
        self,
        cities: Sequence[str] = (),
        kinds: Sequence[str] = (),
        statuses: Sequence[str] = (),
        since: date | None = None,
        limit: int = 500,
    ) -> list[Alert]:
        """Newest first: (start desc, peak desc, id asc). ``since`` keeps alerts whose episode
        ends on or after that day (still running or ended since)."""
        where, params = _alert_filter_sql(cities, kinds, statuses, since)
        cond = (" WHERE " + " AND ".join(where)) if where else ""
        rows = self._conn().execute(
            f"SELECT doc FROM alerts{cond} ORDER BY start DESC, peak DESC, id LIMIT ?",
            [*params, max(0, limit)],
        ).fetchall()
        return [Alert.from_dict(json.loads(r[0])) for r in rows]

    def iter_alerts(
        self,
        cities: Sequence[str] = (),
        kinds: Sequence[str] = (),
        statuses: Sequence[str] = (),
        since: date | None = None,
        batch_size: int = 1000,
    ) -> Iterator[Alert]:
        """``list_alerts`` order, by keyset pages of ``batch_size``."""
        where, params = _alert_filter_sql(cities, kinds, statuses, since)
        last: tuple[str, str, str] | None = None
        size = max(1, batch_size)
        while True:
            cond = list(where)
            page_params = list(params)
            if last is not None:
                cond.append("(start < ? OR (start = ? AND (peak < ? OR (peak = ? AND id > ?))))")
                page_params.extend([last[0], last[0], last[1], last[1], last[2]])
            clause = (" WHERE " + " AND ".join(cond)) if cond else ""
            rows = self._fetch(
                f"SELECT start, peak, id, doc FROM alerts{clause} "
                f"ORDER BY start DESC, peak DESC, id LIMIT ?", [*page_params, size])
            for _start, _peak, _id, doc in rows:
                yield Alert.from_dict(json.loads(doc))
            if len(rows) < size:
                return
            last = (rows[-1][0], rows[-1][1], rows[-1][2])

    # -- ingest bookkeeping -------------------------------------------------------------------
    @_as_store_error
    def get_fetch_state(self, url: str) -> FetchState | None:
        row = self._conn().execute("SELECT doc FROM fetch_state WHERE url = ?", (url,)).fetchone()
        return _fetch_state(row[0]) if row else None

    @_as_store_error
    def list_fetch_state(self) -> list[FetchState]:
        """Every remembered fetch state, by URL (for migration)."""
        rows = self._conn().execute("SELECT doc FROM fetch_state ORDER BY url")
        return [_fetch_state(r[0]) for r in rows]

    @_as_store_error
    def put_fetch_state(self, state: FetchState) -> None:
        data = _plain_dict(state)
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO fetch_state (url, doc) VALUES (?, ?)",
                (state.url, json.dumps(data, ensure_ascii=False)),
            )

    @_as_store_error
    def get_source_health(self, source_id: str) -> SourceHealth | None:
        row = self._conn().execute(
            "SELECT doc FROM source_health WHERE source_id = ?", (source_id,)
        ).fetchone()
        return _source_health(row[0]) if row else None

    @_as_store_error
    def put_source_health(self, health: SourceHealth) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO source_health (source_id, doc) VALUES (?, ?)",
                (health.source_id, json.dumps(_plain_dict(health), ensure_ascii=False)),
            )

    @_as_store_error
    def list_source_health(self) -> list[SourceHealth]:
        """Every source's health, by source id."""
        rows = self._conn().execute("SELECT doc FROM source_health ORDER BY source_id")
        return [_source_health(r[0]) for r in rows]

    # -- key/value metadata ----------------------------------------------------------------
    @_as_store_error
    def get_meta(self, key: str) -> str | None:
        row = self._conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @_as_store_error
    def list_meta(self) -> dict[str, str]:
        """Every metadata key and value (for migration)."""
        return dict(self._conn().execute("SELECT key, value FROM meta ORDER BY key").fetchall())

    @_as_store_error
    def put_meta(self, key: str, value: str) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class _WriteTransaction:
    """``with``: take the in-process write lock, BEGIN IMMEDIATE, COMMIT or ROLLBACK."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock) -> None:
        self.conn = conn
        self.lock = lock

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.lock.release()
            raise
        return self.conn

    def __exit__(self, exc_type: object, *_rest: object) -> None:
        try:
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.lock.release()


def _plain_dict(record: FetchState | SourceHealth) -> dict[str, Any]:
    return {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in dataclasses.asdict(record).items()
    }


def _fetch_state(doc: str) -> FetchState:
    data = json.loads(doc)
    data["fetched_at"] = utc(data.get("fetched_at"))
    return FetchState(**data)


def _source_health(doc: str) -> SourceHealth:
    data = json.loads(doc)
    for key in ("last_attempt", "last_success", "last_error_at"):
        data[key] = utc(data.get(key))
    return SourceHealth(**data)


_ROLLUP_BUCKETS: dict[str, str] = {
    "day": "day",
    "week": "date(day, 'weekday 0', '-6 days')",  # the Monday on or before the day
    "month": "substr(day, 1, 8) || '01'",
}


_ALL_KEYS = 10_000_000  # aggregate(size=...) that keeps every key


def _month_slices(
    start: date | None, end: date | None
) -> list[tuple[date | None, date | None]]:
    """Split the inclusive day range into a partial first month, the whole months between,
    and a partial last month (whole months can be answered from month rollups)."""
    if start is None or end is None or end < start:
        return [(start, end)]
    first_whole = start if start.day == 1 else (start.replace(day=28) + timedelta(days=4)
                                                ).replace(day=1)
    after_end = end + timedelta(days=1)
    last_whole_end = after_end.replace(day=1) - timedelta(days=1)  # end of the last whole month
    if first_whole > last_whole_end:
        return [(start, end)]
    slices: list[tuple[date | None, date | None]] = []
    if start < first_whole:
        slices.append((start, first_whole - timedelta(days=1)))
    slices.append((first_whole, last_whole_end))
    if last_whole_end < end:
        slices.append((last_whole_end + timedelta(days=1), end))
    return slices


def _whole_months(filters: ArticleFilter) -> bool:
    start_ok = filters.date_from is None or filters.date_from.day == 1
    end_ok = filters.date_to is None or (filters.date_to + timedelta(days=1)).day == 1
    return start_ok and end_ok


def pick_rollup(
    filters: ArticleFilter, interval: Interval | None, group_by: Sequence[str]
) -> Rollup | None:
    """The smallest rollup that answers ``aggregate(filters, interval, group_by)`` exactly, or
    None (then the detailed tables are read).

    A per-city rollup counts an article once per city: exact when grouping by city, or when
    filtering on one city only (several would count an article mentioning two of them twice).
    Likewise for topics. A month-grain rollup needs month or no buckets and a date filter of
    whole months.
    """
    per_city = "city" in group_by or bool(filters.cities)
    if filters.cities and "city" not in group_by and len(set(filters.cities)) > 1:
        return None
    per_topic = "topic" in group_by or bool(filters.topics)
    if filters.topics and "topic" not in group_by and len(set(filters.topics)) > 1:
        return None
    needed = {g for g in group_by if g not in ("city", "topic")}
    for dim, wanted in (
        ("language", filters.languages), ("sentiment_label", filters.sentiment_labels),
        ("outlet", filters.outlets), ("country", filters.countries), ("voice", filters.voice),
    ):
        if wanted:
            needed.add(dim)
    month_ok = interval in ("month", None) and _whole_months(filters)
    for rollup in ROLLUPS:
        if (
            rollup.per_city == per_city
            and rollup.per_topic == per_topic
            and needed.issubset(rollup.dims)
            and (rollup.grain == "day" or month_ok)
        ):
            return rollup
    return None


def _ranked(inner: str, keys: int, params: list[Any], size: int) -> tuple[str, list[Any]]:
    """Order aggregation rows by bucket then key, keeping the ``size`` largest keys a bucket."""
    if not keys:
        return f"{inner} ORDER BY bucket", params
    key_cols = "".join(f", k{i}" for i in range(keys))
    ranked = (
        f"SELECT *, row_number() OVER (PARTITION BY bucket ORDER BY n DESC{key_cols}) "
        f"AS rank FROM ({inner})"
    )
    sql = f"SELECT * FROM ({ranked}) WHERE rank <= ? ORDER BY bucket{key_cols}"
    return sql, [*params, max(0, size)]


def _agg_rows(rows: list[tuple], group_by: Sequence[str]) -> list[AggRow]:
    """(bucket, key values..., count, mean tone, negative[, rank]) rows as AggRows."""
    width = len(group_by)
    return [
        AggRow(
            bucket=date.fromisoformat(row[0]) if row[0] else None,
            key={g: "" if row[1 + i] is None else str(row[1 + i]) for i, g in enumerate(group_by)},
            count=int(row[1 + width]),
            mean_tone=None if row[2 + width] is None else float(row[2 + width]),
            negative=int(row[3 + width] or 0),
        )
        for row in rows
    ]


def _alert_filter_sql(cities: Sequence[str], kinds: Sequence[str], statuses: Sequence[str],
                      since: date | None) -> tuple[list[str], list[Any]]:
    """WHERE clauses and parameters of ``list_alerts``/``iter_alerts``."""
    where: list[str] = []
    params: list[Any] = []
    for column, values in (("city", cities), ("kind", kinds), ("status", statuses)):
        if values:
            where.append(f"{column} IN ({_placeholders(values)})")
            params.extend(values)
    if since is not None:
        where.append('"end" >= ?')
        params.append(since.isoformat())
    return where, params


def _filter_sql(filters: ArticleFilter, per_row: bool = False) -> tuple[list[str], list[Any]]:
    """WHERE clauses (on alias ``a`` = articles) and their parameters for an ArticleFilter.

    City/topic filters are ``rid IN (list)`` by default (good when they select the rows) or,
    with ``per_row``, a primary-key probe per row (good when few rows come from elsewhere)."""
    where: list[str] = []
    params: list[Any] = []
    if filters.cities:
        kind = "" if filters.include_government else " AND kind = 'place'"
        if per_row:
            where.append(
                f"EXISTS (SELECT 1 FROM article_cities WHERE rid = a.rid AND city IN "
                f"({_placeholders(filters.cities)}){kind})"
            )
            params.extend(filters.cities)
        else:
            # day bounds (article_cities keeps the article's UTC day) let the city/day index
            # pick the period's rows instead of every row of the city; pub_ts stays exact
            days = ""
            day_params: list[Any] = []
            if filters.date_from:
                days += " AND day >= ?"
                day_params.append(filters.date_from.isoformat())
            if filters.date_to:
                days += " AND day <= ?"
                day_params.append(filters.date_to.isoformat())
            where.append(
                f"a.rid IN (SELECT rid FROM article_cities WHERE city IN "
                f"({_placeholders(filters.cities)}){kind}{days})"
            )
            params.extend([*filters.cities, *day_params])
    if filters.topics:
        if per_row:
            where.append(
                f"EXISTS (SELECT 1 FROM article_topics WHERE rid = a.rid AND topic IN "
                f"({_placeholders(filters.topics)}))"
            )
        else:
            where.append(
                f"a.rid IN (SELECT rid FROM article_topics WHERE topic IN "
                f"({_placeholders(filters.topics)}))"
            )
        params.extend(filters.topics)
    for column, values in (
        ("language", filters.languages),
        ("sentiment_label", filters.sentiment_labels),
        ("outlet", filters.outlets),
        ("country", filters.countries),
    ):
        if values:
            where.append(f"a.{column} IN ({_placeholders(values)})")
            params.extend(values)
    if filters.voice:
        where.append("a.voice = ?")
        params.append(filters.voice)
    start, end = as_datetime_bounds(filters)
    if start is not None:
        where.append("a.pub_ts >= ?")
        params.append(_epoch_us(start))
    if end is not None:
        where.append("a.pub_ts < ?")
        params.append(_epoch_us(end))
    if filters.unique_stories:
        where.append("a.dup_of IS NULL")
    return where, params
