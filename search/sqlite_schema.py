"""SQLite schema of the embedded store, as an ordered list of migrations.

``PRAGMA user_version`` holds the number of migrations applied. Opening a store applies the
missing ones in order, inside one transaction each; a file written by a newer CityRadar
(a higher version than ``LATEST_VERSION``) is refused rather than guessed at.
"""

from __future__ import annotations

import sqlite3

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

MIGRATIONS: list[str] = [_V1_TABLES, _V2_INDEXES]
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
