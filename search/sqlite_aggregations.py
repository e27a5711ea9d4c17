"""SQLite backend, part 4: aggregations (counts and tone per bucket x group, the planner's
market matrix, significant terms).

Dashboard aggregations: summary tables (``sqlite_schema.ROLLUPS``: counts, tone sums and
negative counts per day or month x city/topic x a few dimensions) are kept current by every
upsert (``sqlite_writes``). ``aggregate()`` answers from the smallest rollup that gives exactly
the detailed result (``pick_rollup``) and reads the detailed tables otherwise. Mean tones are
sums / counts, equal to the detailed path's averages up to floating-point rounding.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from search.sqlite_connection import as_store_error, chunks, placeholders
from search.sqlite_queries import SQLiteQueries, day_bounds, filter_sql, where_sql
from search.sqlite_schema import ROLLUPS, Rollup
from search.store import (
    AggRow,
    ArticleFilter,
    GroupField,
    Interval,
    Market,
    MarketRow,
    TermStat,
    check_aggregate_arguments,
    market_group,
    market_rows,
)
from search.text import CJK_RUN, terms_of

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


class SQLiteAggregations(SQLiteQueries):
    """The Store protocol's aggregations on SQLite."""

    @as_store_error
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
        check_aggregate_arguments(interval, group_by)
        rollup = pick_rollup(filters, interval, group_by) if self._rollups_ok else None
        if rollup is not None:
            return self._aggregate_rollup(rollup, filters, interval, group_by, size)
        where, params = filter_sql(filters)
        joins: list[str] = []
        join_params: list[Any] = []
        tone = "a.sentiment"
        if "city" in group_by:
            join = "JOIN article_cities c ON c.rid = a.rid"
            if not filters.include_government:
                join += " AND c.kind = 'place'"
            if filters.cities:
                join += f" AND c.city IN ({placeholders(filters.cities)})"
                join_params.extend(filters.cities)
            joins.append(join)
            tone = "c.tone"
        if "topic" in group_by:
            join = "JOIN article_topics t ON t.rid = a.rid"
            if filters.topics:
                join += f" AND t.topic IN ({placeholders(filters.topics)})"
                join_params.extend(filters.topics)
            joins.append(join)
        bucket = _BUCKET_COLUMNS[interval] if interval else "NULL"
        if interval:
            where.append(f"{bucket} IS NOT NULL")
        keys = [_GROUP_COLUMNS[g] for g in group_by]
        key_select = "".join(f", {k} AS k{i}" for i, k in enumerate(keys))
        group = ", ".join(["bucket", *(f"k{i}" for i in range(len(keys)))])
        cond = where_sql(where)
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
        where, params = filter_sql(filters, rollup=rollup, dated=interval is not None)
        bucket = _ROLLUP_BUCKETS[interval] if interval else "NULL"
        keys = list(group_by)
        key_select = "".join(f", {k} AS k{i}" for i, k in enumerate(keys))
        group = ", ".join(["bucket", *(f"k{i}" for i in range(len(keys)))])
        tone = "city_tone" if "city" in group_by else "tone"
        cond = where_sql(where)
        inner = (
            f"SELECT {bucket} AS bucket{key_select}, sum(n) AS n, "
            f"total({tone}_sum) / sum({tone}_n) AS tone, sum(neg) AS neg "
            f"FROM {rollup.table}{cond} GROUP BY {group} HAVING sum(n) > 0"
        )
        return _agg_rows(self._conn().execute(*_ranked(inner, len(keys), params, size))
                         .fetchall(), group_by)

    @as_store_error
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
        where, params = filter_sql(others, per_row=True)
        where.insert(0, f"c.city IN ({placeholders(filters.cities)})")
        params[0:0] = list(filters.cities)
        if not filters.include_government:
            where.append("c.kind = 'place'")
        days, day_params = day_bounds(filters, "c.day")
        where.extend(days)
        params.extend(day_params)
        topic_join = "JOIN article_topics t ON t.rid = c.rid"
        topic_params: list[Any] = []
        if filters.topics:
            topic_join += f" AND t.topic IN ({placeholders(filters.topics)})"
            topic_params = list(filters.topics)
        sql = (
            f"SELECT NULL, c.city, a.{by}, t.topic, a.sentiment_label, count(*), avg(c.tone), "
            f"sum(a.sentiment_label = 'negative') FROM article_cities c "
            f"JOIN articles a ON a.rid = c.rid {topic_join} WHERE {' AND '.join(where)} "
            f"GROUP BY 2, 3, 4, 5"
        )
        return _agg_rows(self._conn().execute(sql, [*topic_params, *params]).fetchall(),
                         ("city", by, "topic", "sentiment_label"))

    @as_store_error
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
        where, params = filter_sql(filters)
        cond = where_sql(where)
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
        for chunk in chunks(terms):
            for term, col, docs in conn.execute(
                f"SELECT term, col, doc FROM articles_vocab WHERE term IN "
                f"({placeholders(chunk)}) AND col IN ('title', 'summary', 'cjk')",
                list(chunk),
            ):
                is_bigram = bool(CJK_RUN.fullmatch(term))
                if (col == "cjk") == is_bigram:
                    counts[term] = max(counts.get(term, 0), int(docs))
        return counts

    # -- alerts -----------------------------------------------------------------------------
