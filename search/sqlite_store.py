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

The backend is split by job, composed here: ``sqlite_connection`` (opening, connections, write
transactions), ``sqlite_schema`` (tables, migrations, rollup definitions), ``sqlite_writes``
(upserts), ``sqlite_queries`` (the filter builder, reads, full-text search),
``sqlite_aggregations`` (aggregations, market matrix, term statistics); text helpers shared
with the Elasticsearch backend live in ``search.text``.
"""

from __future__ import annotations

from search.sqlite_aggregations import SQLiteAggregations, pick_rollup
from search.sqlite_connection import BUSY_TIMEOUT_MS
from search.sqlite_queries import fts_query
from search.sqlite_writes import SQLiteWrites
from search.text import cjk_bigrams

__all__ = ["BUSY_TIMEOUT_MS", "SQLiteStore", "cjk_bigrams", "fts_query", "pick_rollup"]


class SQLiteStore(SQLiteWrites, SQLiteAggregations):
    """The Store protocol on one SQLite file (see module docstring)."""

