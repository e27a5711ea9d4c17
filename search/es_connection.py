"""Elasticsearch backend, part 2: the client, index setup, availability and error handling.

``ElasticsearchConnection`` is the base of the backend's parts (``es_writes``, ``es_queries``);
``search.es_store.ElasticsearchStore`` composes them. Options come from keyword arguments, the
store URL's query string or the environment (see ``search.es_store``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ParamSpec, Self, TypeVar
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from elasticsearch import (
    ApiError,
    BadRequestError,
    ConnectionTimeout,
    Elasticsearch,
    NotFoundError,
    TransportError,
)
from elasticsearch import ConnectionError as EsConnectionError

from cityradar.records import Article
from search.es_mapping import (
    LANGUAGE_ANALYZERS,
    SCHEMA_META_KEY,
    SCHEMA_VERSION,
    SMALL_INDICES,
    articles_template,
)
from search.es_transport import PlainJsonHttpNode, plain_json_wanted
from search.spool import Spool
from search.store import StoreError

log = logging.getLogger("search.es_store")

P = ParamSpec("P")
R = TypeVar("R")

ID_CHUNK = 500
PAGE = 1000
MAX_WINDOW = 10_000  # index.max_result_window
_MISSING_ANALYZER = re.compile(r"analyzer \[([\w-]+)\]")


_UNAVAILABLE_STATUS = (429, 502, 503, 504)


def unavailable(exc: BaseException) -> bool:
    """The cluster cannot take requests now (down, unreachable, overloaded): spool, retry."""
    if isinstance(exc, EsConnectionError | ConnectionTimeout):
        return True
    return isinstance(exc, ApiError) and exc.status_code in _UNAVAILABLE_STATUS


class Unreachable(Exception):
    """The cluster stopped answering: ``indexed`` made it, ``remaining`` did not."""

    def __init__(self, cause: Exception, remaining: list[Article],
                 indexed: list[str] | None = None) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.remaining = remaining
        self.indexed = indexed or []


def one_line(exc: BaseException) -> str:
    if isinstance(exc, ApiError):
        error = exc.body.get("error") if isinstance(exc.body, dict) else None
        if isinstance(error, dict):
            return f"HTTP {exc.status_code} {error.get('type')}: {error.get('reason')}"
        return f"HTTP {exc.status_code}: {exc.message}"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"


def store_errors(method: Callable[P, R]) -> Callable[P, R]:
    """Turn client errors escaping a public method into a one-line StoreError."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        store: ElasticsearchConnection = args[0]  # type: ignore[assignment]
        try:
            return method(*args, **kwargs)
        except (TransportError, ApiError) as exc:
            if not unavailable(exc):
                raise StoreError(f"elasticsearch {store.url}: {one_line(exc)}") from exc
            store._mark_down(exc)
            raise StoreError(
                f"elasticsearch {store.url}: unreachable ({one_line(exc)})"
                + store._spool_note()
            ) from exc

    return wrapper


class ElasticsearchConnection:
    """A client for one cluster and index prefix, with the indices set up (see es_store)."""

    def __init__(
        self,
        url: str,
        *,
        index_prefix: str | None = None,
        spool_dir: str | Path | None = None,
        api_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        ca_certs: str | None = None,
        plain_json: bool | None = None,
        chunk_size: int = 500,
        max_chunk_bytes: int = 20 * 1024 * 1024,
        max_retries: int = 3,
        initial_backoff: float = 0.5,
        max_backoff: float = 30.0,
        request_timeout: float = 30.0,
        reconnect_interval: float = 5.0,
        refresh: bool = True,
        client: Elasticsearch | None = None,
    ) -> None:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        netloc = parts.hostname or ""
        if parts.port:
            netloc = f"{netloc}:{parts.port}"
        self.url = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        self.index_prefix = (index_prefix or query.get("prefix")
                             or os.environ.get("CITYRADAR_ES_INDEX_PREFIX") or "cityradar")
        if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", self.index_prefix):
            raise StoreError(f"elasticsearch index prefix {self.index_prefix!r}: use lowercase "
                             "letters, digits, '-', '_' or '.'")
        self.chunk_size = chunk_size
        self.max_chunk_bytes = max_chunk_bytes
        self.max_retries = max_retries
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.reconnect_interval = reconnect_interval
        self.refresh = refresh
        self.languages = dict(LANGUAGE_ANALYZERS)
        self._ready = False
        self._ready_lock = threading.Lock()
        self._drain_lock = threading.Lock()
        self._down_until = 0.0
        self._last_error = ""
        self.articles_index = f"{self.index_prefix}-articles"
        self.indices = {name: f"{self.index_prefix}-{name}" for name in SMALL_INDICES}

        spool_path = (spool_dir or query.get("spool") or os.environ.get("CITYRADAR_ES_SPOOL_DIR")
                      or Path.home() / ".cache" / "cityradar" / "spool"
                      / re.sub(r"[^\w.-]+", "_", f"{netloc}_{self.index_prefix}"))
        self.spool = Spool(spool_path)
        self._pending = self.spool.pending()

        if client is not None:
            self._es = client
        else:
            self._es = self._client(parts, query, api_key, username, password, ca_certs,
                                    plain_json, request_timeout)
        try:
            self._ensure_ready()
        except (TransportError, ApiError) as exc:
            if not unavailable(exc):
                self.spool.close()
                raise StoreError(f"elasticsearch {self.url}: cannot set up indices: "
                                 f"{one_line(exc)}") from exc
            self._mark_down(exc)
            log.warning("elasticsearch %s unreachable at start (%s): articles will be spooled "
                        "to %s until it answers", self.url, one_line(exc), self.spool.path)
        if self._pending and self._ready:
            self._try_drain()

    def _client(self, parts: Any, query: dict[str, str], api_key: str | None,
                username: str | None, password: str | None, ca_certs: str | None,
                plain_json: bool | None, request_timeout: float) -> Elasticsearch:
        options: dict[str, Any] = {
            "request_timeout": request_timeout, "max_retries": 2, "retry_on_timeout": True,
            "retry_on_status": (502, 503, 504),
        }
        api_key = api_key or os.environ.get("CITYRADAR_ES_API_KEY")
        username = username or parts.username or os.environ.get("CITYRADAR_ES_USER")
        password = password or parts.password or os.environ.get("CITYRADAR_ES_PASSWORD")
        if api_key:
            options["api_key"] = api_key
        elif username:
            options["basic_auth"] = (username, password or "")
        ca_certs = ca_certs or query.get("ca_certs") or os.environ.get("CITYRADAR_ES_CA_CERTS")
        if ca_certs:
            if not Path(ca_certs).is_file():
                raise StoreError(f"elasticsearch CA file {ca_certs} does not exist "
                                 "(CITYRADAR_ES_CA_CERTS)")
            options["ca_certs"] = ca_certs
        if plain_json if plain_json is not None else plain_json_wanted(query.get("compat")):
            options["node_class"] = PlainJsonHttpNode
        return Elasticsearch(self.url, **options)

    # -- lifecycle ------------------------------------------------------------------------
    def _ensure_ready(self) -> None:
        if self._ready:
            return
        with self._ready_lock:
            if self._ready:
                return
            self._create_articles_index()
            for name, properties in SMALL_INDICES.items():
                index = self.indices[name]
                if not self._es.indices.exists(index=index):
                    self._create(index, mappings={"dynamic": False, "properties": properties},
                                 settings={"number_of_shards": 1})
            meta = self.indices["meta"]
            try:
                self._es.get(index=meta, id=SCHEMA_META_KEY)
            except NotFoundError:
                self._es.index(index=meta, id=SCHEMA_META_KEY, refresh=True,
                               document={"key": SCHEMA_META_KEY, "value": str(SCHEMA_VERSION)})
            self._ready = True

    def _create_articles_index(self) -> None:
        """Put the template and create the index; drop language analyzers the cluster lacks.
        An existing index is left alone, so a least-privilege user (the UI's, which may not
        manage templates: docs/security.md) can open the store."""
        if self._es.indices.exists(index=self.articles_index):
            return
        while True:
            body = articles_template(f"{self.articles_index}*", self.languages)
            self._es.indices.put_index_template(name=self.articles_index, priority=100, **body)
            if self._es.indices.exists(index=self.articles_index):
                return
            try:
                self._create(self.articles_index)
                return
            except BadRequestError as exc:
                missing = _MISSING_ANALYZER.search(one_line(exc))
                dropped = [c for c, a in self.languages.items() if missing and a == missing[1]]
                if not dropped:
                    raise
                log.warning("elasticsearch %s has no %r analyzer: no per-language field for %s",
                            self.url, missing[1] if missing else "", ", ".join(dropped))
                for code in dropped:
                    del self.languages[code]

    def _create(self, index: str, **body: Any) -> None:
        try:
            self._es.indices.create(index=index, **body)
        except BadRequestError as exc:
            if "resource_already_exists" not in one_line(exc):
                raise

    def _mark_down(self, exc: Exception) -> None:
        # Check the indices again when it answers: a rebuilt cluster may have lost them.
        self._ready = False
        self._down_until = time.monotonic() + self.reconnect_interval
        self._last_error = one_line(exc)

    def _spool_note(self) -> str:
        return f"; {self._pending} articles spooled in {self.spool.directory}" if self._pending \
            else ""

    def _before_use(self) -> None:
        self._ensure_ready()
        if self._pending and time.monotonic() >= self._down_until:
            self._try_drain()

    @store_errors
    def schema_version(self) -> int:
        doc = self._get("meta", SCHEMA_META_KEY)
        return int(doc["value"]) if doc else SCHEMA_VERSION

    def close(self) -> None:
        try:
            self._es.close()
        finally:
            self.spool.close()

    def drop_indices(self) -> None:
        """Delete this store's indices and template (tests, benchmarks)."""
        names = [self.articles_index, *self.indices.values()]
        self._es.indices.delete(index=",".join(names), ignore_unavailable=True)
        with contextlib.suppress(NotFoundError):
            self._es.indices.delete_index_template(name=self.articles_index)
        self._ready = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def health(self) -> dict[str, Any]:
        info: dict[str, Any] = {"ok": False, "backend": "elasticsearch", "url": self.url,
                                "articles": 0, "spooled": self._pending,
                                "spool_dir": str(self.spool.directory), "detail": ""}
        try:
            self._before_use()
            info["spooled"] = self._pending
            server = self._es.info()
            info["version"] = server.get("version", {}).get("number", "")
            info["articles"] = int(self._es.count(index=self.articles_index)["count"])
            info["alerts"] = int(self._es.count(index=self.indices["alerts"])["count"])
            info["schema_version"] = self.schema_version()
            info["ok"] = True
            info["detail"] = f"{info['articles']} articles in {self.articles_index} at {self.url}"
            if self._pending:
                info["detail"] += f"; {self._pending} spooled articles not yet replayed"
        except Exception as exc:  # health() never raises: it reports
            if unavailable(exc):
                self._mark_down(exc)
            info["detail"] = (f"Elasticsearch at {self.url} is unreachable or failing "
                              f"({one_line(exc)}); store degraded" + self._spool_note())
        return info

    def _mget(self, ids: list[str], **options: Any) -> Iterator[dict[str, Any]]:
        """The articles found among ``ids`` (``mget`` in chunks; ``options`` pick the source)."""
        for start in range(0, len(ids), ID_CHUNK):
            response = self._es.mget(index=self.articles_index, ids=ids[start:start + ID_CHUNK],
                                     **options)
            yield from (doc for doc in response["docs"] if doc.get("found"))

    # -- small indices ----------------------------------------------------------------------
    def _get(self, index: str, doc_id: str) -> dict[str, Any] | None:
        self._before_use()
        try:
            return self._es.get(index=self.indices[index], id=doc_id)["_source"]
        except NotFoundError:
            return None

    @store_errors
    def _scan_page(self, index: str, sort_field: str, after: list[Any] | None
                   ) -> list[dict[str, Any]]:
        self._before_use()
        if after is None:
            self._es.indices.refresh(index=self.indices[index])
        extra = {"search_after": after} if after is not None else {}
        return self._es.search(index=self.indices[index], size=PAGE,
                               sort=[{sort_field: "asc"}], **extra)["hits"]["hits"]

    def _scan(self, index: str, sort_field: str) -> Iterator[dict[str, Any]]:
        after: list[Any] | None = None
        while True:
            hits = self._scan_page(index, sort_field, after)
            for hit in hits:
                yield hit["_source"]
            if len(hits) < PAGE:
                return
            after = hits[-1]["sort"]
