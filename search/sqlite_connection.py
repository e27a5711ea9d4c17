"""SQLite backend, part 1: opening the file, per-thread connections, write transactions.

``SQLiteConnection`` is the base of the backend's parts (``sqlite_writes``, ``sqlite_queries``,
``sqlite_aggregations``); ``search.sqlite_store.SQLiteStore`` composes them. Concurrency: one
writer process and any number of readers at once (WAL). Each thread gets its own connection
(Streamlit runs callbacks on several threads); writes in this process are serialised by a lock
and run in ``BEGIN IMMEDIATE`` transactions with a busy timeout.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ParamSpec, Self, TypeVar

from search.sqlite_schema import (
    LATEST_VERSION,
    apply_migrations,
    current_version,
    ensure_rollups,
    rollups_current,
)
from search.store import StoreError

log = logging.getLogger("search.sqlite_store")

P = ParamSpec("P")
R = TypeVar("R")

BUSY_TIMEOUT_MS = 30_000
_ID_CHUNK = 500  # ids per IN (...) list; well below SQLite's variable limit


def as_store_error(method: Callable[P, R]) -> Callable[P, R]:
    """Turn sqlite3 errors escaping a public method into StoreError with the store's path."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except sqlite3.Error as exc:
            store = args[0]
            raise StoreError(f"sqlite store {store.path}: {exc}") from exc  # type: ignore[attr-defined]

    return wrapper


def chunks(items: Sequence[Any], size: int = _ID_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def placeholders(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


class SQLiteConnection:
    """An open SQLite store file: schema checked (and migrated), summary tables current."""

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

    def _write(self) -> WriteTransaction:
        if self.readonly:
            raise StoreError(f"sqlite store {self.path}: opened read-only, cannot write")
        return WriteTransaction(self._conn(), self._write_lock)

    # -- lifecycle ----------------------------------------------------------------------------
    @as_store_error
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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @as_store_error
    def _fetch(self, sql: str, params: Sequence[Any]) -> list[tuple]:
        return self._conn().execute(sql, params).fetchall()


class WriteTransaction:
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

