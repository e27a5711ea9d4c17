"""SQLite backend, part 2: writes (articles with their summary-table deltas, alerts, ingest
bookkeeping, metadata).

Upsert semantics: an article whose stored JSON (``Article.to_json``) is byte-identical is
skipped (neither inserted nor updated); ``UpsertResult.updated`` counts only articles whose
content changed. Summary tables (``sqlite_schema.ROLLUPS``) are kept in the same transaction
as every upsert: a replaced article's stored rows are subtracted before they are overwritten,
and deltas are computed by the same SQL that builds a rollup from the whole store.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from typing import Any

from cityradar.records import Alert, Article, FetchState, SourceHealth, utc
from search.sqlite_connection import SQLiteConnection, as_store_error, chunks, placeholders
from search.sqlite_schema import ROLLUPS, rollup_delta_sql
from search.store import UpsertResult, content_hash, day_bucket, epoch_us, upsert_batches
from search.text import cjk_bigrams

log = logging.getLogger("search.sqlite_store")


def _article_row(article: Article) -> tuple[dict[str, Any], list[tuple], list[tuple]]:
    """The articles row (without rid) and the city/topic side rows (without rid)."""
    doc = article.to_json()
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
        "pub_ts": epoch_us(published),
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
        "doc_hash": content_hash(doc),  # encodes: lone surrogates fail here, not in the transaction
    }
    cities: list[tuple] = []
    topics: list[tuple] = []
    if tags:
        negative = int(label == "negative")
        cities = [
            (city, kind, rel, city_tone, row["day"], row["week"], row["month"], negative)
            for city, kind, rel, city_tone in tags.per_city()
        ]
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



class SQLiteWrites(SQLiteConnection):
    """The Store protocol's writes on SQLite."""

    @as_store_error
    def upsert_articles(self, articles: Iterable[Article]) -> UpsertResult:
        result = UpsertResult()
        for batch in upsert_batches(articles):
            self._upsert_batch(batch, result)
        return result

    def _upsert_batch(self, batch: dict[str, Article], result: UpsertResult) -> None:
        prepared: list[tuple[dict[str, Any], list[tuple], list[tuple]]] = []
        for article_id, article in batch.items():
            try:
                if not article_id or not isinstance(article_id, str):
                    raise ValueError("article has no id")
                row, cities, topics = _article_row(article)
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
            for chunk in chunks(ids):
                for article_id, rid, doc_hash in conn.execute(
                    f"SELECT id, rid, doc_hash FROM articles WHERE id IN ({placeholders(chunk)})",
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

    @as_store_error
    def upsert_alert(self, alert: Alert) -> None:
        doc = alert.to_json()
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

    @as_store_error
    def put_fetch_state(self, state: FetchState) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO fetch_state (url, doc) VALUES (?, ?)",
                         (state.url, state.to_json()))

    @as_store_error
    def put_source_health(self, health: SourceHealth) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO source_health (source_id, doc) VALUES (?, ?)",
                         (health.source_id, health.to_json()))

    @as_store_error
    def put_meta(self, key: str, value: str) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
