"""A local, durable, ordered queue of articles waiting for an unreachable store.

One SQLite file (``spool.db``) in a spool directory: rows are appended with increasing
sequence numbers in transactions committed with ``synchronous=FULL`` (fsync'd before
``append`` returns), read back oldest first and deleted only after the backend accepted them.
A crash between sending and deleting replays those articles again, which is harmless because
article ids are idempotent in every backend.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from cityradar.records import Article
from search.store import StoreError

log = logging.getLogger(__name__)

SPOOL_FILE = "spool.db"


class Spool:
    """Append-only article queue with sequence numbers (see module docstring)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / SPOOL_FILE
        self._lock = threading.Lock()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                         timeout=30)
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS spool (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                "article_id TEXT NOT NULL, doc TEXT NOT NULL, "
                "spooled_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))"
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"spool {self.path}: cannot open: {exc}") from exc

    def append(self, articles: Sequence[Article]) -> int:
        """Durably queue ``articles`` in order; returns how many were queued."""
        rows = [(a.id, a.to_json()) for a in articles]
        if not rows:
            return 0
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany("INSERT INTO spool (article_id, doc) VALUES (?, ?)", rows)
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._conn.execute("ROLLBACK")
                raise StoreError(f"spool {self.path}: cannot append: {exc}") from exc
        log.warning("spooled %d articles to %s", len(rows), self.path)
        return len(rows)

    def pending(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM spool").fetchone()[0])

    def peek(self, limit: int = 500) -> list[tuple[int, Article]]:
        """The oldest ``limit`` queued articles with their sequence numbers."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, doc FROM spool ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [(seq, Article.from_json(doc)) for seq, doc in rows]

    def ack(self, up_to_seq: int) -> None:
        """Forget every queued article with a sequence number up to ``up_to_seq``."""
        with self._lock:
            self._conn.execute("DELETE FROM spool WHERE seq <= ?", (up_to_seq,))

    def drain(self, send: Callable[[list[Article]], None], batch_size: int = 500) -> int:
        """Replay queued articles in order through ``send``; returns how many were sent.

        A batch is forgotten only after ``send`` returned; if it raises, the batch and
        everything after it stay queued and the exception propagates.
        """
        sent = 0
        while True:
            batch = self.peek(batch_size)
            if not batch:
                return sent
            send([article for _, article in batch])
            self.ack(batch[-1][0])
            sent += len(batch)
            log.info("replayed %d spooled articles from %s", sent, self.path)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
