"""SQLite backend, part 3: the filter builder and the reads (articles, full-text search, top
stories, alerts, ingest bookkeeping, metadata).

``filter_sql`` is the backend's one WHERE builder for an ``ArticleFilter``: on the articles
table (alias ``a``) or on a summary table (``rollup=``); ``alert_filter_sql`` is the one for
alert listings.

Full text: FTS5 ``unicode61`` does not segment Chinese/Japanese/Korean/Thai, so each article
also indexes a ``cjk`` column where every run of those scripts is split into overlapping
character bigrams (``search.text.cjk_bigrams``); CJK query terms become bigram phrases on that
column.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from cityradar.records import Alert, Article, FetchState, SourceHealth
from search.sqlite_connection import SQLiteConnection, as_store_error, chunks, placeholders
from search.sqlite_schema import Rollup
from search.store import (
    TOP_STORY_OUTLETS,
    ArticleFilter,
    SearchQuery,
    SearchResult,
    StoreError,
    StoryCount,
    epoch_us_bounds,
)
from search.text import CJK_RUN, WORD, bigram_phrase, query_tokens

_BM25 = "bm25(articles_fts, 4.0, 2.0, 1.0, 2.0)"


def _quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def fts_query(text: str) -> str | None:
    """Build an FTS5 MATCH expression: words ANDed, "quoted phrases" kept, word* as prefix.

    Returns None when the text holds nothing searchable (only punctuation).
    """
    clauses: list[str] = []
    for raw, prefix in query_tokens(text):
        clauses.extend(_term_clauses(raw, prefix))
    return " AND ".join(clauses) if clauses else None


def _term_clauses(raw: str, prefix: bool) -> list[str]:
    clauses: list[str] = []
    spaced = CJK_RUN.sub(" ", raw)
    if WORD.search(spaced):
        suffix = " *" if prefix else ""
        clauses.append("{title summary body} : " + _quote(spaced.strip()) + suffix)
    for run in CJK_RUN.findall(raw):
        if len(run) == 1:
            clauses.append(f"cjk : {_quote(run)} *")
        else:
            clauses.append("cjk : " + _quote(" ".join(bigram_phrase(run))))
    return clauses


def in_clauses(pairs: Sequence[tuple[str, Sequence[Any]]], where: list[str],
               params: list[Any]) -> None:
    """``column IN (?, …)`` for every (column, values) pair with values."""
    for column, values in pairs:
        if values:
            where.append(f"{column} IN ({placeholders(values)})")
            params.extend(values)


def day_bounds(filters: ArticleFilter, column: str = "day") -> tuple[list[str], list[Any]]:
    """``column >= ?`` / ``column <= ?`` for the filter's inclusive days (ISO day strings)."""
    where: list[str] = []
    params: list[Any] = []
    if filters.date_from:
        where.append(f"{column} >= ?")
        params.append(filters.date_from.isoformat())
    if filters.date_to:
        where.append(f"{column} <= ?")
        params.append(filters.date_to.isoformat())
    return where, params


def _side_clause(table: str, column: str, values: Sequence[Any], per_row: bool,
                 extra: str = "") -> str:
    """Articles with a ``table`` row whose ``column`` is among ``values``: ``rid IN (list)``
    or, ``per_row``, a primary-key probe per article."""
    match = f"{column} IN ({placeholders(values)}){extra}"
    if per_row:
        return f"EXISTS (SELECT 1 FROM {table} WHERE rid = a.rid AND {match})"
    return f"a.rid IN (SELECT rid FROM {table} WHERE {match})"


def filter_sql(filters: ArticleFilter, per_row: bool = False, rollup: Rollup | None = None,
               dated: bool = False) -> tuple[list[str], list[Any]]:
    """WHERE clauses and their parameters for an ArticleFilter.

    On the articles table (alias ``a``) by default: city/topic filters are ``rid IN (list)``
    (good when they select the rows) or, with ``per_row``, a primary-key probe per row (good
    when few rows come from elsewhere); dates are exact ``pub_ts`` bounds. With ``rollup``, on
    that summary table, whose rows carry city, topic and the UTC day as columns (see
    ``sqlite_aggregations.pick_rollup`` for when that is exact); ``dated`` leaves out its
    rows of unknown day (time buckets)."""
    where: list[str] = []
    params: list[Any] = []
    alias = "" if rollup is not None else "a."
    government_ok = filters.include_government
    kind = "" if government_ok else " AND kind = 'place'"
    if rollup is not None:
        if rollup.per_city and not government_ok:
            where.append("kind = 'place'")
        in_clauses((("city", filters.cities), ("topic", filters.topics)), where, params)
    elif filters.cities:
        extra, extra_params = kind, []
        if not per_row:
            # day bounds (article_cities keeps the article's UTC day) let the city/day index
            # pick the period's rows instead of every row of the city; pub_ts stays exact
            days, extra_params = day_bounds(filters)
            extra += "".join(f" AND {d}" for d in days)
        where.append(_side_clause("article_cities", "city", filters.cities, per_row, extra))
        params.extend([*filters.cities, *extra_params])
    if rollup is None and filters.topics:
        where.append(_side_clause("article_topics", "topic", filters.topics, per_row))
        params.extend(filters.topics)
    in_clauses(
        [(alias + column, values) for column, values in (
            ("language", filters.languages), ("sentiment_label", filters.sentiment_labels),
            ("outlet", filters.outlets), ("country", filters.countries),
        )],
        where, params,
    )
    if filters.voice:
        where.append(f"{alias}voice = ?")
        params.append(filters.voice)
    if rollup is not None:
        if filters.unique_stories:
            where.append("uniq = 1")
        if dated or filters.date_from or filters.date_to:
            where.append("day != ''")  # unknown dates: never in a date filter or time bucket
        days, day_params = day_bounds(filters)
        where.extend(days)
        params.extend(day_params)
        return where, params
    start, end = epoch_us_bounds(filters)
    if start is not None:
        where.append("a.pub_ts >= ?")
        params.append(start)
    if end is not None:
        where.append("a.pub_ts < ?")
        params.append(end)
    if filters.unique_stories:
        where.append("a.dup_of IS NULL")
    return where, params


def alert_filter_sql(cities: Sequence[str], kinds: Sequence[str], statuses: Sequence[str],
                     since: date | None) -> tuple[list[str], list[Any]]:
    """WHERE clauses and parameters of ``list_alerts``/``iter_alerts``."""
    where: list[str] = []
    params: list[Any] = []
    in_clauses((("city", cities), ("kind", kinds), ("status", statuses)), where, params)
    if since is not None:
        where.append('"end" >= ?')
        params.append(since.isoformat())
    return where, params


def where_sql(where: list[str]) -> str:
    return (" WHERE " + " AND ".join(where)) if where else ""


class SQLiteQueries(SQLiteConnection):
    """The Store protocol's reads on SQLite (aggregations: ``sqlite_aggregations``)."""

    @as_store_error
    def get_article(self, article_id: str) -> Article | None:
        row = self._conn().execute(
            "SELECT doc FROM articles WHERE id = ?", (article_id,)
        ).fetchone()
        return Article.from_json(row[0]) if row else None

    @as_store_error
    def get_articles(self, article_ids: Sequence[str]) -> list[Article]:
        """The stored articles among ``article_ids``, in the order asked (missing ids skipped)."""
        found: dict[str, Article] = {}
        ids = list(dict.fromkeys(article_ids))
        for chunk in chunks(ids):
            for article_id, doc in self._conn().execute(
                f"SELECT id, doc FROM articles WHERE id IN ({placeholders(chunk)})", chunk
            ):
                found[article_id] = Article.from_json(doc)
        return [found[i] for i in ids if i in found]

    @as_store_error
    def has_articles(self, article_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        ids = list(dict.fromkeys(article_ids))
        for chunk in chunks(ids):
            found.update(
                r[0] for r in self._conn().execute(
                    f"SELECT id FROM articles WHERE id IN ({placeholders(chunk)})", chunk
                )
            )
        return found

    def iter_articles(
        self, filters: ArticleFilter | None = None, batch_size: int = 1000
    ) -> Iterator[Article]:
        """Oldest first by (published_at, id); articles with unknown dates come last, by id."""
        where, params = filter_sql(filters or ArticleFilter())
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
                yield Article.from_json(doc)
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
                yield Article.from_json(doc)
            if len(rows) < batch_size:
                break
            last_id = rows[-1][0]

    @as_store_error
    def count(self, filters: ArticleFilter | None = None) -> int:
        where, params = filter_sql(filters or ArticleFilter())
        sql = "SELECT count(*) FROM articles a" + where_sql(where)
        return int(self._conn().execute(sql, params).fetchone()[0])

    @as_store_error
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
                where, params = filter_sql(query.filters)
                cond = where_sql(where)
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
            total=int(total), articles=[Article.from_json(doc) for doc in docs]
        )

    def _search_text(
        self, conn: sqlite3.Connection, match: str, filters: ArticleFilter, order: str,
        limit: int, offset: int,
    ) -> tuple[int, list[str]]:
        """Full-text search driven by the FTS index (CROSS JOIN fixes that loop order; the
        planner otherwise may probe the FTS index once per article of a broad filter), with
        filters checked per match and the total counted in the same pass."""
        where, params = filter_sql(filters, per_row=True)
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
        for chunk in chunks(rids):
            docs.update(conn.execute(
                f"SELECT rid, doc FROM articles WHERE rid IN ({placeholders(chunk)})", chunk
            ).fetchall())
        return int(total), [docs[rid] for rid in rids]

    @as_store_error
    def top_stories(self, filters: ArticleFilter | None = None, size: int = 10
                    ) -> list[StoryCount]:
        """See Store.top_stories."""
        where, params = filter_sql(filters or ArticleFilter())
        cond = where_sql(where)
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

    @as_store_error
    def date_range(self, filters: ArticleFilter | None = None) -> tuple[date, date] | None:
        where, params = filter_sql(filters or ArticleFilter())
        where.append("a.pub_ts IS NOT NULL")
        row = self._conn().execute(
            f"SELECT min(a.day), max(a.day) FROM articles a WHERE {' AND '.join(where)}", params
        ).fetchone()
        if not row or row[0] is None:
            return None
        return date.fromisoformat(row[0]), date.fromisoformat(row[1])

    @as_store_error
    def get_alert(self, alert_id: str) -> Alert | None:
        row = self._conn().execute("SELECT doc FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        return Alert.from_json(row[0]) if row else None

    @as_store_error
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
        where, params = alert_filter_sql(cities, kinds, statuses, since)
        cond = where_sql(where)
        rows = self._conn().execute(
            f"SELECT doc FROM alerts{cond} ORDER BY start DESC, peak DESC, id LIMIT ?",
            [*params, max(0, limit)],
        ).fetchall()
        return [Alert.from_json(r[0]) for r in rows]

    def iter_alerts(
        self,
        cities: Sequence[str] = (),
        kinds: Sequence[str] = (),
        statuses: Sequence[str] = (),
        since: date | None = None,
        batch_size: int = 1000,
    ) -> Iterator[Alert]:
        """``list_alerts`` order, by keyset pages of ``batch_size``."""
        where, params = alert_filter_sql(cities, kinds, statuses, since)
        last: tuple[str, str, str] | None = None
        size = max(1, batch_size)
        while True:
            cond = list(where)
            page_params = list(params)
            if last is not None:
                cond.append("(start < ? OR (start = ? AND (peak < ? OR (peak = ? AND id > ?))))")
                page_params.extend([last[0], last[0], last[1], last[1], last[2]])
            clause = where_sql(cond)
            rows = self._fetch(
                f"SELECT start, peak, id, doc FROM alerts{clause} "
                f"ORDER BY start DESC, peak DESC, id LIMIT ?", [*page_params, size])
            for _start, _peak, _id, doc in rows:
                yield Alert.from_json(doc)
            if len(rows) < size:
                return
            last = (rows[-1][0], rows[-1][1], rows[-1][2])

    # -- ingest bookkeeping -------------------------------------------------------------------

    @as_store_error
    def get_fetch_state(self, url: str) -> FetchState | None:
        row = self._conn().execute("SELECT doc FROM fetch_state WHERE url = ?", (url,)).fetchone()
        return FetchState.from_json(row[0]) if row else None

    @as_store_error
    def list_fetch_state(self) -> list[FetchState]:
        """Every remembered fetch state, by URL (for migration)."""
        rows = self._conn().execute("SELECT doc FROM fetch_state ORDER BY url")
        return [FetchState.from_json(r[0]) for r in rows]

    @as_store_error
    def get_source_health(self, source_id: str) -> SourceHealth | None:
        row = self._conn().execute(
            "SELECT doc FROM source_health WHERE source_id = ?", (source_id,)
        ).fetchone()
        return SourceHealth.from_json(row[0]) if row else None

    @as_store_error
    def list_source_health(self) -> list[SourceHealth]:
        """Every source's health, by source id."""
        rows = self._conn().execute("SELECT doc FROM source_health ORDER BY source_id")
        return [SourceHealth.from_json(r[0]) for r in rows]

    # -- key/value metadata ----------------------------------------------------------------
    @as_store_error
    def get_meta(self, key: str) -> str | None:
        row = self._conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @as_store_error
    def list_meta(self) -> dict[str, str]:
        """Every metadata key and value (for migration)."""
        return dict(self._conn().execute("SELECT key, value FROM meta ORDER BY key").fetchall())

