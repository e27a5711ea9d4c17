"""SQLite schema of the embedded store, as an ordered list of migrations.

``PRAGMA user_version`` holds the number of migrations applied. Opening a store applies the
missing ones in order, inside one transaction each; a file written by a newer CityRadar
(a higher version than ``LATEST_VERSION``) is refused rather than guessed at.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass

# unicode61 with combining marks (M*) as token characters, so Thai/Devanagari vowel signs stay
# inside words; remove_diacritics 2 folds "café" and "cafe\u0301" alike.
FTS_TOKENIZER = "unicode61 remove_diacritics 2 categories 'L* N* Co M*'"

_V1_TABLES = f"""
CREATE TABLE articles (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    body TEXT NOT NULL,
    cjk TEXT NOT NULL,              -- CJK/Thai runs as overlapping bigrams (full-text only)
    pub_ts INTEGER,                 -- published_at as UTC epoch microseconds; NULL = unknown
    day TEXT, week TEXT, month TEXT,  -- first day of the bucket, ISO; NULL when date unknown
    fetched_at TEXT,
    outlet TEXT NOT NULL,
    domain TEXT NOT NULL,
    country TEXT NOT NULL,          -- '' when unknown
    source_id TEXT NOT NULL,
    language TEXT NOT NULL,
    language_confidence REAL,
    sentiment REAL,                 -- NULL when untagged
    sentiment_label TEXT NOT NULL,  -- '' when untagged
    voice TEXT NOT NULL,
    dup_of TEXT,
    cluster_id TEXT,
    tagger_version TEXT NOT NULL,
    doc TEXT NOT NULL,              -- JSON of Article.to_dict(): the record as given
    doc_hash TEXT NOT NULL
);
CREATE TABLE article_cities (
    rid INTEGER NOT NULL REFERENCES articles(rid) ON DELETE CASCADE,
    city TEXT NOT NULL,
    kind TEXT NOT NULL,             -- 'place' if any place mention, else 'government'
    relevance REAL NOT NULL,
    tone REAL,                      -- per-city tone (article tone when no per-city tone)
    day TEXT, week TEXT, month TEXT,  -- copied from articles: city dashboards skip the join
    negative INTEGER NOT NULL,
    PRIMARY KEY (rid, city)
) WITHOUT ROWID;
CREATE TABLE article_topics (
    rid INTEGER NOT NULL REFERENCES articles(rid) ON DELETE CASCADE,
    topic TEXT NOT NULL,
    score REAL NOT NULL,
    PRIMARY KEY (rid, topic)
) WITHOUT ROWID;
CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, summary, body, cjk,
    content='articles', content_rowid='rid',
    tokenize="{FTS_TOKENIZER}"
);
CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts(rowid, title, summary, body, cjk)
    VALUES (new.rid, new.title, new.summary, new.body, new.cjk);
END;
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, summary, body, cjk)
    VALUES ('delete', old.rid, old.title, old.summary, old.body, old.cjk);
END;
CREATE TRIGGER articles_fts_update AFTER UPDATE ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, summary, body, cjk)
    VALUES ('delete', old.rid, old.title, old.summary, old.body, old.cjk);
    INSERT INTO articles_fts(rowid, title, summary, body, cjk)
    VALUES (new.rid, new.title, new.summary, new.body, new.cjk);
END;
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    city TEXT NOT NULL,
    kind TEXT NOT NULL,
    start TEXT NOT NULL,
    peak TEXT NOT NULL,
    "end" TEXT NOT NULL,
    status TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE fetch_state (url TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE source_health (source_id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# Indexes for the dashboard queries and the vocabulary view used by term statistics.
_V2_INDEXES = """
CREATE INDEX articles_pub ON articles(pub_ts, id);
CREATE INDEX articles_day ON articles(day);
CREATE INDEX articles_language_day ON articles(language, day);
CREATE INDEX articles_outlet_day ON articles(outlet, day);
CREATE INDEX article_cities_city_day ON article_cities(city, day, kind, tone, negative);
CREATE INDEX article_cities_day ON article_cities(day, city, kind, tone, negative);
CREATE INDEX article_topics_topic ON article_topics(topic, rid);
CREATE INDEX alerts_start ON alerts(start DESC, peak DESC);
CREATE VIRTUAL TABLE articles_vocab USING fts5vocab(articles_fts, 'col');
"""



@dataclass(frozen=True, slots=True)
class Rollup:
    """A summary table of article counts, tone sums and negative counts, kept on upsert.

    ``grain`` is the time column it is keyed by ("day" or "month"); ``per_city`` / ``per_topic``
    make it count an article once per city / topic it carries (otherwise once per article);
    ``dims`` are the article columns it keeps apart. Every rollup also keeps ``uniq``
    (first-seen copy: dup_of is null). Unknown dates are stored as day ''.
    """

    name: str
    grain: str
    per_city: bool
    per_topic: bool
    dims: tuple[str, ...]

    @property
    def table(self) -> str:
        return f"rollup_{self.name}"

    @property
    def key_columns(self) -> tuple[str, ...]:
        city = ("city", "kind") if self.per_city else ()
        topic = ("topic",) if self.per_topic else ()
        return (*city, *topic, "day", *self.dims, "uniq")


_TONE_DIMS = ("language", "sentiment_label", "voice")
# Ordered smallest first: aggregate() answers from the first one that covers the query.
ROLLUPS: tuple[Rollup, ...] = (
    Rollup("day", "day", False, False, ("voice",)),
    Rollup("month_lang", "month", False, False, _TONE_DIMS),
    Rollup("city_topic_month", "month", True, True, ()),
    # The planners' market matrix: city x topic x outlet country / language x tone label.
    Rollup("city_topic_month_market", "month", True, True,
           ("country", "language", "sentiment_label", "voice")),
    Rollup("outlet_month", "month", False, False, ("outlet",)),
    Rollup("topic_day", "day", False, True, ("voice",)),
    Rollup("city_day", "day", True, False, ("voice",)),
    Rollup("city_month_lang", "month", True, False, _TONE_DIMS),
    Rollup("city_outlet_month", "month", True, False, ("outlet",)),
    Rollup("city_topic_day", "day", True, True, ("voice",)),
    Rollup("city_day_lang", "day", True, False, _TONE_DIMS),
)

_SOURCE_COLUMNS = {
    "city": "c.city", "kind": "c.kind", "topic": "t.topic", "language": "a.language",
    "sentiment_label": "a.sentiment_label", "voice": "a.voice", "outlet": "a.outlet",
    "country": "a.country", "uniq": "(a.dup_of IS NULL)",
}


def _rollup_ddl(rollup: Rollup) -> str:
    keys = rollup.key_columns
    columns = ", ".join(f"{k} {'INTEGER' if k == 'uniq' else 'TEXT'} NOT NULL" for k in keys)
    return (
        f"CREATE TABLE {rollup.table} ({columns}, n INTEGER NOT NULL, "
        f"tone_sum REAL NOT NULL, tone_n INTEGER NOT NULL, "
        f"city_tone_sum REAL NOT NULL, city_tone_n INTEGER NOT NULL, neg INTEGER NOT NULL, "
        f"PRIMARY KEY ({', '.join(keys)})) WITHOUT ROWID;\n"
        f"CREATE INDEX {rollup.table}_empty ON {rollup.table}(n) WHERE n = 0;\n"
    )


def rollup_delta_sql(
    rollup: Rollup,
    articles: str = "articles",
    cities: str = "article_cities",
    topics: str = "article_topics",
    weighted: bool = False,
) -> str:
    """Add the contribution of every article in ``articles`` (with its ``cities`` and
    ``topics`` rows) to ``rollup``. The sources are the stored tables or same-named staging
    copies of a batch, so a rollup sums exactly what the detailed tables hold. ``weighted``
    sources carry a column ``w`` per article: 1 to add it, -1 to take it out."""
    keys = rollup.key_columns
    day = f"coalesce(a.{rollup.grain}, '')"
    select_keys = ", ".join(day if k == "day" else _SOURCE_COLUMNS[k] for k in keys)
    joins = ""
    if rollup.per_city:
        joins += f"JOIN {cities} c ON c.rid = a.rid "
    if rollup.per_topic:
        joins += f"JOIN {topics} t ON t.rid = a.rid "
    w = "a.w * " if weighted else ""
    city_tone = (
        (f"total({w}c.tone)", f"sum({w}(c.tone IS NOT NULL))") if rollup.per_city
        else ("0.0", "0")
    )
    values = (
        f"{'sum(a.w)' if weighted else 'count(*)'}, total({w}a.sentiment), "
        f"sum({w}(a.sentiment IS NOT NULL)), "
        f"{city_tone[0]}, {city_tone[1]}, sum({w}(a.sentiment_label = 'negative'))"
    )
    sums = ", ".join(
        f"{c} = {c} + excluded.{c}"
        for c in ("n", "tone_sum", "tone_n", "city_tone_sum", "city_tone_n", "neg")
    )
    group = ", ".join(str(i + 1) for i in range(len(keys)))
    return (
        f"INSERT INTO {rollup.table} ({', '.join(keys)}, n, tone_sum, tone_n, city_tone_sum, "
        f"city_tone_n, neg) SELECT {select_keys}, {values} FROM {articles} a {joins}"
        f"WHERE true GROUP BY {group} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sums}"
    )


# Rollups are derived data: when their definition changes, they are rebuilt (ensure_rollups).
ROLLUP_SIGNATURE = hashlib.sha1(
    "".join(_rollup_ddl(r) + repr(r) for r in ROLLUPS).encode()
).hexdigest()[:16]
_ROLLUP_META_KEY = "rollup_signature"


def _rollup_build_script() -> str:
    return "".join(_rollup_ddl(r) + rollup_delta_sql(r) + ";\n" for r in ROLLUPS) + (
        f"INSERT OR REPLACE INTO meta (key, value) "
        f"VALUES ('{_ROLLUP_META_KEY}', '{ROLLUP_SIGNATURE}');\n"
    )


_V3_ROLLUPS = _rollup_build_script()


def rollups_current(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (_ROLLUP_META_KEY,)).fetchone()
    return row is not None and row[0] == ROLLUP_SIGNATURE


def ensure_rollups(conn: sqlite3.Connection) -> bool:
    """Rebuild the rollup tables of an autocommit connection's database when they were made
    by another rollup definition; returns True when a rebuild was done."""
    if rollups_current(conn):
        return False
    conn.execute("BEGIN IMMEDIATE")
    try:
        if rollups_current(conn):  # another process rebuilt them meanwhile
            conn.execute("COMMIT")
            return False
        stale = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'rollup\\_%' "
            "ESCAPE '\\'"
        ).fetchall()
        for (table,) in stale:
            conn.execute(f"DROP TABLE {table}")
        for statement in _statements(_rollup_build_script()):
            conn.execute(statement)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return True

MIGRATIONS: list[str] = [_V1_TABLES, _V2_INDEXES, _V3_ROLLUPS]
LATEST_VERSION = len(MIGRATIONS)


def current_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def apply_migrations(conn: sqlite3.Connection, target: int = LATEST_VERSION) -> int:
    """Bring an autocommit connection's database up to ``target``; returns the new version."""
    version = current_version(conn)
    for number in range(version + 1, target + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # executescript would commit the open transaction first; run statements one by one.
            for statement in _statements(MIGRATIONS[number - 1]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return current_version(conn)


def _statements(script: str) -> list[str]:
    """Split a migration script into complete statements (triggers contain semicolons)."""
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        statements.append(pending.strip())
    return statements
