"""Production Store backend: Elasticsearch 8.x through the official ``elasticsearch`` client.

Indices (``<prefix>`` defaults to ``cityradar``; all created idempotently on start):

- ``<prefix>-articles``: created from the index template ``<prefix>-articles`` (see
  :func:`articles_template`). One plain index, not a data stream: articles are re-tagged and
  replaced by id, which data streams (append-only) do not allow. Keyword fields for ids,
  cities, topics, language, outlet, country; ``published_at`` (date) and ``pub_us`` (epoch
  microseconds, exact sort key); ``sentiment`` (double). ``title``/``summary``/``body`` use the
  ``cityradar_multi`` analyzer (standard tokenizer, apostrophes split, CJK width folding,
  lowercase, ASCII folding, CJK bigrams): one analyzer that behaves sensibly for every script,
  without the ICU plugin a stock cluster lacks. ``lang_text.<lang>`` holds the text again under
  the language's own analyzer (english, french, … cjk) only for articles in that language,
  for stemmed relevance. ``city_mentions`` is nested (city, kind, per-city tone and the
  article's dimensions) so per-city aggregations use per-city tone; ``cities`` /
  ``place_cities`` are flat keyword copies for fast filtering. ``terms`` holds the
  title+summary terms (the same extraction as the SQLite backend) for ``significant_terms``.
  The article itself is kept as exact JSON in ``doc`` (not indexed).
- ``<prefix>-alerts``, ``<prefix>-fetch-state``, ``<prefix>-source-health``, ``<prefix>-meta``.

Writes: bulk indexing with ``elasticsearch.helpers.streaming_bulk`` in chunks, retrying items
answered 429/503 with exponential backoff; other item errors are reported in
``UpsertResult.failed``. When the cluster is unreachable, articles go to a local durable spool
(:mod:`search.spool`) and are replayed in order before anything else once it answers again.

Options come from keyword arguments, the store URL's query string
(``http://host:9200?prefix=x&compat=plain&spool=/dir``) or the environment: CITYRADAR_ES_API_KEY,
CITYRADAR_ES_USER / CITYRADAR_ES_PASSWORD, CITYRADAR_ES_CA_CERTS, CITYRADAR_ES_PLAIN_JSON,
CITYRADAR_ES_INDEX_PREFIX, CITYRADAR_ES_SPOOL_DIR.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from elasticsearch import (
    ApiError,
    BadRequestError,
    ConnectionTimeout,
    Elasticsearch,
    NotFoundError,
    TransportError,
    helpers,
)
from elasticsearch import ConnectionError as EsConnectionError

from cityradar.records import Alert, Article, FetchState, SourceHealth, utc
from search.es_transport import PlainJsonHttpNode, plain_json_wanted
from search.spool import Spool
from search.sqlite_store import terms_of
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
    market_group,
    market_rows,
)

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

SCHEMA_VERSION = 1
_SCHEMA_META_KEY = "cityradar.schema_version"
_ID_CHUNK = 500
_PAGE = 1000
_MAX_WINDOW = 10_000  # index.max_result_window
_MULTI_LEVEL_TERMS = 1000  # keys per level when grouping by several fields (documented cap)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Language code -> built-in analyzer for the lang_text.<code> sub-fields.
LANGUAGE_ANALYZERS: dict[str, str] = {
    "en": "english", "fr": "french", "de": "german", "es": "spanish", "it": "italian",
    "pt": "portuguese", "ru": "russian", "ar": "arabic", "zh": "cjk", "ja": "cjk", "ko": "cjk",
}

MULTI_ANALYZER = "cityradar_multi"
ANALYSIS: dict[str, Any] = {
    "char_filter": {
        # unicode61 in the SQLite backend splits "l'épidémie" into two words; so do we.
        "cityradar_apostrophes": {"type": "pattern_replace", "pattern": "['’]", "replacement": " "}
    },
    "analyzer": {
        MULTI_ANALYZER: {
            "type": "custom",
            "tokenizer": "standard",
            "char_filter": ["cityradar_apostrophes"],
            "filter": ["cjk_width", "lowercase", "asciifolding", "cjk_bigram"],
        }
    },
}

_KEYWORD = {"type": "keyword"}
_STORED_ONLY = {"type": "keyword", "index": False, "doc_values": False}
_TEXT = {"type": "text", "analyzer": MULTI_ANALYZER}

_GROUP_FIELDS: dict[str, str] = {
    "city": "city", "topic": "topics", "language": "language", "outlet": "outlet",
    "country": "country", "sentiment_label": "sentiment_label", "voice": "voice",
}
_MARKET_KEYS = 1_000_000  # market_aggregate keeps every cell the nested terms return
_QUERY_TOKEN = re.compile(r'"([^"]*)"?|(\S+)')
_WORD = re.compile(r"[^\W_]+")
_MISSING_ANALYZER = re.compile(r"analyzer \[([\w-]+)\]")


def articles_template(pattern: str, languages: dict[str, str]) -> dict[str, Any]:
    """The articles index template body (settings + mappings)."""
    mention = {
        "type": "nested",
        "properties": {
            "city": _KEYWORD, "kind": _KEYWORD, "relevance": {"type": "float"},
            "tone": {"type": "double"}, "published_at": {"type": "date"},
            "language": _KEYWORD, "outlet": _KEYWORD, "country": _KEYWORD,
            "sentiment_label": _KEYWORD, "voice": _KEYWORD, "topics": _KEYWORD,
        },
    }
    lang_fields = {code: {"type": "text", "analyzer": an} for code, an in languages.items()}
    return {
        "index_patterns": [pattern],
        "template": {
            "settings": {"number_of_shards": 1, "analysis": ANALYSIS},
            "mappings": {
                "dynamic": False,
                "_meta": {"cityradar_schema": SCHEMA_VERSION},
                "properties": {
                    "id": _KEYWORD, "url": _KEYWORD,
                    "title": _TEXT, "summary": _TEXT, "body": _TEXT,
                    "lang_text": {"properties": lang_fields},
                    "published_at": {"type": "date"}, "pub_us": {"type": "long"},
                    "language": _KEYWORD, "outlet": _KEYWORD, "domain": _KEYWORD,
                    "country": _KEYWORD, "source_id": _KEYWORD, "voice": _KEYWORD,
                    "sentiment": {"type": "double"}, "sentiment_label": _KEYWORD,
                    "dup_of": _KEYWORD, "cluster_id": _KEYWORD, "tagger_version": _KEYWORD,
                    "cities": _KEYWORD, "place_cities": _KEYWORD, "topics": _KEYWORD,
                    "city_mentions": mention, "terms": _KEYWORD,
                    "doc": _STORED_ONLY, "doc_hash": _KEYWORD,
                },
            },
        },
    }


_SMALL_INDICES: dict[str, dict[str, Any]] = {
    "alerts": {"id": _KEYWORD, "city": _KEYWORD, "kind": _KEYWORD, "status": _KEYWORD,
               "start": _KEYWORD, "peak": _KEYWORD, "end": _KEYWORD, "doc": _STORED_ONLY},
    "fetch-state": {"url": _KEYWORD, "doc": _STORED_ONLY},
    "source-health": {"source_id": _KEYWORD, "doc": _STORED_ONLY},
    "meta": {"key": _KEYWORD, "value": _STORED_ONLY},
}


_UNAVAILABLE_STATUS = (429, 502, 503, 504)


def _unavailable(exc: BaseException) -> bool:
    """The cluster cannot take requests now (down, unreachable, overloaded): spool, retry."""
    if isinstance(exc, EsConnectionError | ConnectionTimeout):
        return True
    return isinstance(exc, ApiError) and exc.status_code in _UNAVAILABLE_STATUS


class _Unreachable(Exception):
    """The cluster stopped answering: ``indexed`` made it, ``remaining`` did not."""

    def __init__(self, cause: Exception, remaining: list[Article],
                 indexed: list[str] | None = None) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.remaining = remaining
        self.indexed = indexed or []


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, ApiError):
        error = exc.body.get("error") if isinstance(exc.body, dict) else None
        if isinstance(error, dict):
            return f"HTTP {exc.status_code} {error.get('type')}: {error.get('reason')}"
        return f"HTTP {exc.status_code}: {exc.message}"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"


def _store_errors(method: Callable[P, R]) -> Callable[P, R]:
    """Turn client errors escaping a public method into a one-line StoreError."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        store: ElasticsearchStore = args[0]  # type: ignore[assignment]
        try:
            return method(*args, **kwargs)
        except (TransportError, ApiError) as exc:
            if not _unavailable(exc):
                raise StoreError(f"elasticsearch {store.url}: {_one_line(exc)}") from exc
            store._mark_down(exc)
            raise StoreError(
                f"elasticsearch {store.url}: unreachable ({_one_line(exc)})"
                + store._spool_note()
            ) from exc

    return wrapper


def _epoch_us(value: datetime | None) -> int | None:
    if value is None:
        return None
    delta = utc(value) - _EPOCH  # type: ignore[operator]
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _day_of_ms(ms: float) -> date:
    return datetime.fromtimestamp(ms / 1000, UTC).date()


def _doc_id(value: str) -> str:
    """Elasticsearch ids are at most 512 bytes: long keys are hashed."""
    if 0 < len(value.encode("utf-8")) <= 256:
        return value
    return "sha1:" + hashlib.sha1(value.encode("utf-8")).hexdigest()


def article_source(article: Article) -> dict[str, Any]:
    """The indexed document for one article (raises on articles that cannot be stored)."""
    if not article.id or not isinstance(article.id, str):
        raise ValueError("article has no id")
    doc = json.dumps(article.to_dict(), ensure_ascii=False, sort_keys=True)
    doc.encode("utf-8")  # lone surrogates cannot be sent; fail this article only
    tags = article.tags
    published = utc(article.published_at)
    language = tags.language if tags else "und"
    label = tags.sentiment_label if tags else ""
    source: dict[str, Any] = {
        "id": article.id, "url": article.url, "title": article.title,
        "summary": article.summary or "", "body": article.body or "",
        "language": language, "outlet": article.outlet or "", "domain": article.domain or "",
        "country": article.country or "", "source_id": article.source_id or "",
        "voice": article.voice, "sentiment_label": label,
        "tagger_version": tags.tagger_version if tags else "",
        "terms": sorted(terms_of(f"{article.title}\n{article.summary}")),
        "doc": doc, "doc_hash": hashlib.blake2b(doc.encode("utf-8"), digest_size=16).hexdigest(),
    }
    if published is not None:
        source["published_at"] = published.isoformat()
        source["pub_us"] = _epoch_us(published)
    if tags is not None:
        source["sentiment"] = tags.sentiment
    for name in ("dup_of", "cluster_id"):
        if getattr(article, name):
            source[name] = getattr(article, name)
    if language in LANGUAGE_ANALYZERS:
        text = "\n".join(p for p in (article.title, article.summary, article.body) if p)
        source["lang_text"] = {language: text}
    topics = sorted(tags.topics) if tags else []
    source["topics"] = topics
    mentions: list[dict[str, Any]] = []
    if tags:
        kinds: dict[str, str] = {}
        for mention in tags.mentions:
            if mention.kind == "place" or mention.city not in kinds:
                kinds[mention.city] = mention.kind
        relevance = dict(tags.cities)
        for city in kinds:
            relevance.setdefault(city, 0.0)
        for city, rel in relevance.items():
            entry = {
                "city": city, "kind": kinds.get(city, "place"), "relevance": float(rel),
                "tone": tags.city_sentiment.get(city, tags.sentiment), "language": language,
                "outlet": source["outlet"], "country": source["country"],
                "sentiment_label": label, "voice": article.voice, "topics": topics,
            }
            if published is not None:
                entry["published_at"] = source["published_at"]
            mentions.append(entry)
    source["city_mentions"] = mentions
    source["cities"] = sorted(m["city"] for m in mentions)
    source["place_cities"] = sorted(m["city"] for m in mentions if m["kind"] == "place")
    return source


def filter_clauses(filters: ArticleFilter) -> list[dict[str, Any]]:
    """Article-level bool filter clauses for an ArticleFilter."""
    clauses: list[dict[str, Any]] = []
    if filters.cities:
        field = "cities" if filters.include_government else "place_cities"
        clauses.append({"terms": {field: list(filters.cities)}})
    for field, values in (
        ("topics", filters.topics), ("language", filters.languages),
        ("sentiment_label", filters.sentiment_labels), ("outlet", filters.outlets),
        ("country", filters.countries),
    ):
        if values:
            clauses.append({"terms": {field: list(values)}})
    if filters.voice:
        clauses.append({"term": {"voice": filters.voice}})
    start, end = as_datetime_bounds(filters)
    bounds: dict[str, int] = {}
    if start is not None:
        bounds["gte"] = _epoch_us(start)  # type: ignore[assignment]
    if end is not None:
        bounds["lt"] = _epoch_us(end)  # type: ignore[assignment]
    if bounds:
        clauses.append({"range": {"pub_us": bounds}})
    if filters.unique_stories:
        clauses.append({"bool": {"must_not": [{"exists": {"field": "dup_of"}}]}})
    return clauses


def filter_query(filters: ArticleFilter | None) -> dict[str, Any]:
    clauses = filter_clauses(filters or ArticleFilter())
    return {"bool": {"filter": clauses}} if clauses else {"match_all": {}}


def text_clauses(text: str) -> list[dict[str, Any]]:
    """Words ANDed, "quoted phrases" kept, word* as prefix: one phrase clause per token."""
    clauses: list[dict[str, Any]] = []
    for match in _QUERY_TOKEN.finditer(text):
        phrase, word = match.group(1), match.group(2)
        raw = phrase if phrase is not None else word
        prefix = phrase is None and raw.endswith("*")
        raw = raw.rstrip("*") if prefix else raw
        if not _WORD.search(raw):
            continue
        clauses.append({"multi_match": {
            "query": raw, "type": "phrase_prefix" if prefix else "phrase",
            "fields": ["title^4", "summary^2", "body"],
        }})
    return clauses


class ElasticsearchStore:
    """The Store protocol on an Elasticsearch 8.x cluster (see module docstring)."""

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
        self.indices = {name: f"{self.index_prefix}-{name}" for name in _SMALL_INDICES}

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
            if not _unavailable(exc):
                self.spool.close()
                raise StoreError(f"elasticsearch {self.url}: cannot set up indices: "
                                 f"{_one_line(exc)}") from exc
            self._mark_down(exc)
            log.warning("elasticsearch %s unreachable at start (%s): articles will be spooled "
                        "to %s until it answers", self.url, _one_line(exc), self.spool.path)
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
            for name, properties in _SMALL_INDICES.items():
                index = self.indices[name]
                if not self._es.indices.exists(index=index):
                    self._create(index, mappings={"dynamic": False, "properties": properties},
                                 settings={"number_of_shards": 1})
            meta = self.indices["meta"]
            try:
                self._es.get(index=meta, id=_SCHEMA_META_KEY)
            except NotFoundError:
                self._es.index(index=meta, id=_SCHEMA_META_KEY, refresh=True,
                               document={"key": _SCHEMA_META_KEY, "value": str(SCHEMA_VERSION)})
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
                missing = _MISSING_ANALYZER.search(_one_line(exc))
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
            if "resource_already_exists" not in _one_line(exc):
                raise

    def _mark_down(self, exc: Exception) -> None:
        # Check the indices again when it answers: a rebuilt cluster may have lost them.
        self._ready = False
        self._down_until = time.monotonic() + self.reconnect_interval
        self._last_error = _one_line(exc)

    def _spool_note(self) -> str:
        return f"; {self._pending} articles spooled in {self.spool.directory}" if self._pending \
            else ""

    def _before_use(self) -> None:
        self._ensure_ready()
        if self._pending and time.monotonic() >= self._down_until:
            self._try_drain()

    @_store_errors
    def schema_version(self) -> int:
        self._ensure_ready()
        value = self.get_meta(_SCHEMA_META_KEY)
        return int(value) if value else SCHEMA_VERSION

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
            if _unavailable(exc):
                self._mark_down(exc)
            info["detail"] = (f"Elasticsearch at {self.url} is unreachable or failing "
                              f"({_one_line(exc)}); store degraded" + self._spool_note())
        return info

    # -- articles -------------------------------------------------------------------------
    @_store_errors
    def upsert_articles(self, articles: Iterable[Article]) -> UpsertResult:
        result = UpsertResult()
        batch: dict[str, Article] = {}
        for article in articles:
            batch[str(getattr(article, "id", "") or "")] = article  # last copy of an id wins
            if len(batch) >= 5000:
                self._upsert_batch(batch, result)
                batch = {}
        if batch:
            self._upsert_batch(batch, result)
        return result

    def _upsert_batch(self, batch: dict[str, Article], result: UpsertResult) -> None:
        prepared: dict[str, tuple[Article, dict[str, Any]]] = {}
        for article_id, article in batch.items():
            try:
                prepared[article_id] = (article, article_source(article))
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
                log.warning("elasticsearch store: article %r not stored: %s", article_id, reason)
                result.failed.append((article_id, reason))
        if not prepared:
            return
        if time.monotonic() < self._down_until:
            self._spool(list(a for a, _ in prepared.values()), result)
            return
        try:
            self._ensure_ready()
            if self._pending and not self._try_drain(result):
                raise _Unreachable(RuntimeError(self._last_error), [])
            existing = self._existing_hashes(list(prepared))
        except (TransportError, ApiError, _Unreachable) as exc:
            if isinstance(exc, _Unreachable):
                self._mark_down(exc.cause)
            elif _unavailable(exc):
                self._mark_down(exc)
            else:
                raise
            self._spool([a for a, _ in prepared.values()], result)
            return
        changed = {i: p for i, p in prepared.items() if existing.get(i) != p[1]["doc_hash"]}
        try:
            indexed = self._bulk(changed, result)
        except _Unreachable as exc:
            self._mark_down(exc.cause)
            indexed = exc.indexed
            self._spool(exc.remaining, result)
        for article_id in indexed:
            if article_id in existing:
                result.updated += 1
            else:
                result.inserted += 1
        if indexed and self.refresh:
            self._refresh_quietly()

    def _refresh_quietly(self) -> None:
        try:
            self._es.indices.refresh(index=self.articles_index)
        except (TransportError, ApiError) as exc:
            log.warning("elasticsearch %s: refresh failed: %s", self.url, _one_line(exc))

    def _spool(self, articles: list[Article], result: UpsertResult) -> None:
        if not articles:
            return
        result.spooled += self.spool.append(articles)
        self._pending = self.spool.pending()
        log.warning("elasticsearch %s unreachable (%s): %d articles spooled (%d waiting in %s)",
                    self.url, self._last_error, len(articles), self._pending, self.spool.path)

    def _existing_hashes(self, ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for start in range(0, len(ids), _ID_CHUNK):
            response = self._es.mget(index=self.articles_index, ids=ids[start:start + _ID_CHUNK],
                                     source_includes=["doc_hash"])
            for doc in response["docs"]:
                if doc.get("found"):
                    found[doc["_id"]] = doc.get("_source", {}).get("doc_hash", "")
        return found

    def _bulk(self, items: dict[str, tuple[Article, dict[str, Any]]],
              result: UpsertResult) -> list[str]:
        """Index ``items``; returns the ids indexed. Item errors go to ``result.failed``.

        Raises _Unreachable when the cluster stops answering part-way.
        """
        indexed: list[str] = []
        settled: set[str] = set()
        actions = (
            {"_op_type": "index", "_index": self.articles_index, "_id": article_id,
             "_source": source}
            for article_id, (_, source) in items.items()
        )
        try:
            for ok, item in helpers.streaming_bulk(
                self._es, actions, chunk_size=self.chunk_size,
                max_chunk_bytes=self.max_chunk_bytes, raise_on_error=False,
                raise_on_exception=True, max_retries=self.max_retries,
                initial_backoff=self.initial_backoff, max_backoff=self.max_backoff,
                retry_on_status=(429, 503),
            ):
                info = next(iter(item.values()))
                article_id = str(info.get("_id", ""))
                settled.add(article_id)
                if ok:
                    indexed.append(article_id)
                else:
                    reason = _item_reason(info)
                    log.error("elasticsearch %s: article %s not indexed: %s", self.url,
                              article_id, reason)
                    result.failed.append((article_id, reason))
        except (TransportError, ApiError) as exc:
            if not _unavailable(exc):
                raise
            remaining = [a for i, (a, _) in items.items() if i not in settled]
            raise _Unreachable(exc, remaining, indexed) from exc
        return indexed

    def _try_drain(self, result: UpsertResult | None = None) -> bool:
        """Replay the spool in order; True when it is empty afterwards."""
        if not self._drain_lock.acquire(blocking=False):
            return False
        try:
            replay_result = result or UpsertResult()

            def send(articles: list[Article]) -> None:
                items: dict[str, tuple[Article, dict[str, Any]]] = {}
                for article in articles:
                    try:
                        items[article.id] = (article, article_source(article))
                    except Exception as exc:
                        replay_result.failed.append((article.id, f"{type(exc).__name__}: {exc}"))
                self._bulk(items, replay_result)

            try:
                sent = self.spool.drain(send, batch_size=self.chunk_size)
            except (_Unreachable, TransportError, ApiError) as exc:
                if not isinstance(exc, _Unreachable) and not _unavailable(exc):
                    raise
                self._mark_down(exc.cause if isinstance(exc, _Unreachable) else exc)
                self._pending = self.spool.pending()
                return False
            self._pending = self.spool.pending()
            if sent:
                log.warning("elasticsearch %s is back: replayed %d spooled articles", self.url,
                            sent)
                if self.refresh:
                    self._refresh_quietly()
            return self._pending == 0
        finally:
            self._drain_lock.release()

    def flush_spool(self) -> int:
        """Replay spooled articles now; returns how many are still waiting."""
        self._down_until = 0.0
        try:
            self._ensure_ready()
        except (TransportError, ApiError) as exc:
            if not _unavailable(exc):
                raise
            self._mark_down(exc)
            return self._pending
        self._try_drain()
        return self._pending

    def _docs(self, hits: Iterable[dict[str, Any]]) -> list[Article]:
        return [Article.from_dict(json.loads(hit["_source"]["doc"])) for hit in hits]

    @_store_errors
    def get_article(self, article_id: str) -> Article | None:
        found = self.get_articles([article_id])
        return found[0] if found else None

    @_store_errors
    def get_articles(self, article_ids: Sequence[str]) -> list[Article]:
        """The stored articles among ``article_ids``, in the order asked (missing ids skipped)."""
        self._before_use()
        ids = list(dict.fromkeys(i for i in article_ids if i))
        found: dict[str, Article] = {}
        for start in range(0, len(ids), _ID_CHUNK):
            response = self._es.mget(index=self.articles_index, ids=ids[start:start + _ID_CHUNK],
                                     source_includes=["doc"])
            for doc in response["docs"]:
                if doc.get("found"):
                    found[doc["_id"]] = Article.from_dict(json.loads(doc["_source"]["doc"]))
        return [found[i] for i in ids if i in found]

    @_store_errors
    def has_articles(self, article_ids: Sequence[str]) -> set[str]:
        self._before_use()
        ids = list(dict.fromkeys(i for i in article_ids if i))
        found: set[str] = set()
        for start in range(0, len(ids), _ID_CHUNK):
            response = self._es.mget(index=self.articles_index, ids=ids[start:start + _ID_CHUNK],
                                     source=False)
            found.update(d["_id"] for d in response["docs"] if d.get("found"))
        return found

    def iter_articles(
        self, filters: ArticleFilter | None = None, batch_size: int = 1000
    ) -> Iterator[Article]:
        """Oldest first by (published_at, id); articles with unknown dates come last, by id."""
        clauses = filter_clauses(filters or ArticleFilter())
        dated = {"bool": {"filter": [*clauses, {"exists": {"field": "pub_us"}}]}}
        undated = {"bool": {"filter": clauses,
                            "must_not": [{"exists": {"field": "pub_us"}}]}}
        size = max(1, min(batch_size, _MAX_WINDOW))
        for query, sort in ((dated, [{"pub_us": "asc"}, {"id": "asc"}]),
                            (undated, [{"id": "asc"}])):
            after: list[Any] | None = None
            while True:
                hits = self._page(query, sort, size, after)
                yield from self._docs(hits)
                if len(hits) < size:
                    break
                after = hits[-1]["sort"]

    @_store_errors
    def _page(self, query: dict[str, Any], sort: list[Any], size: int,
              after: list[Any] | None) -> list[dict[str, Any]]:
        self._before_use()
        extra = {"search_after": after} if after is not None else {}
        response = self._es.search(index=self.articles_index, query=query, sort=sort, size=size,
                                   source_includes=["doc"], track_total_hits=False, **extra)
        return response["hits"]["hits"]

    @_store_errors
    def count(self, filters: ArticleFilter | None = None) -> int:
        self._before_use()
        return int(self._es.count(index=self.articles_index,
                                  query=filter_query(filters))["count"])

    @_store_errors
    def search(self, query: SearchQuery) -> SearchResult:
        """Sorts: newest = (published_at desc, id); oldest = (published_at asc, id); relevance =
        (score, published_at desc, id). Unknown dates sort last in every order."""
        self._before_use()
        must = text_clauses(query.text) if query.text.strip() else []
        bool_query: dict[str, Any] = {"filter": filter_clauses(query.filters)}
        if must:
            bool_query["must"] = must
            words = " ".join(_WORD.findall(query.text))
            bool_query["should"] = [
                {"match": {f"lang_text.{code}": words}} for code in self.languages
            ]
        newest = [{"pub_us": {"order": "desc", "missing": "_last"}}, {"id": "asc"}]
        if query.sort == "oldest":
            sort: list[Any] = [{"pub_us": {"order": "asc", "missing": "_last"}}, {"id": "asc"}]
        elif query.sort == "relevance" and must:
            sort = ["_score", *newest]
        else:
            sort = newest
        offset, limit = max(0, query.offset), max(0, query.limit)
        if offset + limit > _MAX_WINDOW:
            if offset >= _MAX_WINDOW:
                total = self._es.count(index=self.articles_index,
                                       query={"bool": bool_query})["count"]
                return SearchResult(total=int(total), articles=[])
            limit = _MAX_WINDOW - offset
        response = self._es.search(
            index=self.articles_index, query={"bool": bool_query}, sort=sort, from_=offset,
            size=limit, source_includes=["doc"], track_total_hits=True,
        )
        hits = response["hits"]
        return SearchResult(total=int(hits["total"]["value"]), articles=self._docs(hits["hits"]))

    @_store_errors
    def aggregate(
        self,
        filters: ArticleFilter | None = None,
        interval: Interval | None = "day",
        group_by: Sequence[GroupField] = (),
        size: int = 1000,
    ) -> list[AggRow]:
        """See Store.aggregate; same semantics as the SQLite backend. Grouping by several
        fields considers at most 1,000 keys per field and bucket before capping to ``size``."""
        filters = filters or ArticleFilter()
        unknown = [g for g in group_by if g not in _GROUP_FIELDS]
        if unknown:
            raise StoreError(f"cannot group by {unknown}: choose from {sorted(_GROUP_FIELDS)}")
        if interval is not None and interval not in ("day", "week", "month"):
            raise StoreError(f"unknown interval {interval!r}: choose day, week, month or None")
        self._before_use()
        by_city = "city" in group_by
        prefix = "city_mentions." if by_city else ""
        fields = [f"{prefix}{_GROUP_FIELDS[g]}" for g in group_by]
        includes: dict[int, list[str]] = {}
        for position, group in enumerate(group_by):
            if group == "topic" and filters.topics:
                includes[position] = list(filters.topics)
        leaf = {
            "tone": {"avg": {"field": f"{prefix}tone" if by_city else "sentiment"}},
            "neg": {"filter": {"term": {f"{prefix}sentiment_label": "negative"}}},
        }
        level_size = max(1, size) if len(group_by) == 1 else _MULTI_LEVEL_TERMS
        aggs = leaf
        for position in reversed(range(len(fields))):
            terms: dict[str, Any] = {"field": fields[position], "size": level_size,
                                     "order": [{"_count": "desc"}, {"_key": "asc"}]}
            if position in includes:
                terms["include"] = includes[position]
            aggs = {f"g{position}": {"terms": terms, "aggs": aggs}}
        if interval:
            bucket_agg: dict[str, Any] = {"date_histogram": {
                "field": f"{prefix}published_at", "calendar_interval": interval,
                "min_doc_count": 1, "time_zone": "UTC",
            }}
        else:
            bucket_agg = {"filter": {"match_all": {}}}
        top: dict[str, Any] = {"b": {**bucket_agg, "aggs": aggs}}
        if by_city:
            nested_filter: list[dict[str, Any]] = []
            if filters.cities:
                nested_filter.append({"terms": {"city_mentions.city": list(filters.cities)}})
            if not filters.include_government:
                nested_filter.append({"term": {"city_mentions.kind": "place"}})
            top = {"n": {"nested": {"path": "city_mentions"}, "aggs": {
                "f": {"filter": {"bool": {"filter": nested_filter}}, "aggs": top}}}}
        response = self._es.search(index=self.articles_index, query=filter_query(filters),
                                   size=0, aggs=top, track_total_hits=False)
        root = response["aggregations"]
        if by_city:
            root = root["n"]["f"]
        raw = root["b"]
        buckets = raw["buckets"] if interval else [raw]
        rows: list[AggRow] = []
        for bucket in buckets:
            day = _day_of_ms(bucket["key"]) if interval else None
            found = list(_leaves(bucket, len(fields), ()))
            if group_by:
                found.sort(key=lambda leaf: (-leaf[1]["doc_count"], leaf[0]))
                found = found[: max(0, size)]
                found.sort(key=lambda leaf: leaf[0])
            for keys, node in found:
                if node["doc_count"] == 0:
                    continue
                rows.append(AggRow(
                    bucket=day, key=dict(zip(group_by, keys, strict=True)),
                    count=int(node["doc_count"]),
                    mean_tone=None if node["tone"]["value"] is None
                    else float(node["tone"]["value"]),
                    negative=int(node["neg"]["doc_count"]),
                ))
        return rows

    def market_aggregate(
        self, filters: ArticleFilter | None = None, by: Market = "country"
    ) -> list[MarketRow]:
        """See Store.market_aggregate: one nested terms aggregation (city, market, topic,
        sentiment label) over the city mentions."""
        group_by = market_group(by)
        return market_rows(self.aggregate(filters, None, group_by, size=_MARKET_KEYS), by)

    @_store_errors
    def top_stories(self, filters: ArticleFilter | None = None, size: int = 10
                    ) -> list[StoryCount]:
        """See Store.top_stories: syndicated copies counted per ``dup_of`` (a terms
        aggregation; exact up to 10,000 stories with copies), plus each story's first-seen
        copy where it matches the filter; stories without copies fill the list by id."""
        self._before_use()
        size = max(0, size)
        if size == 0:
            return []
        clauses = filter_clauses(filters or ArticleFilter())
        response = self._es.search(
            index=self.articles_index, query={"bool": {"filter": clauses}}, size=0,
            track_total_hits=False,
            aggs={"copies": {
                "terms": {"field": "dup_of", "size": _MAX_WINDOW,
                          "order": [{"_count": "desc"}, {"_key": "asc"}]},
                "aggs": {"outlets": {"terms": {"field": "outlet", "size": TOP_STORY_OUTLETS,
                                               "order": {"_key": "asc"}}}},
            }},
        )
        counts: dict[str, int] = {}
        outlets: dict[str, set[str]] = {}
        for bucket in response["aggregations"]["copies"]["buckets"]:
            key = str(bucket["key"])
            counts[key] = int(bucket["doc_count"])
            outlets[key] = {str(b["key"]) for b in bucket["outlets"]["buckets"]}
        first_seen = [*clauses, {"bool": {"must_not": [{"exists": {"field": "dup_of"}}]}}]
        ids = list(counts)
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = ids[start:start + _ID_CHUNK]
            hits = self._es.search(
                index=self.articles_index, size=len(chunk), track_total_hits=False,
                query={"bool": {"filter": [*first_seen, {"terms": {"id": chunk}}]}},
                source_includes=["id", "outlet"],
            )["hits"]["hits"]
            for hit in hits:
                counts[hit["_source"]["id"]] += 1
                outlets[hit["_source"]["id"]].add(hit["_source"].get("outlet") or "")
        if sum(1 for n in counts.values() if n > 1) < size:  # count-1 stories may make the list
            hits = self._es.search(
                index=self.articles_index, size=size, track_total_hits=False,
                query={"bool": {"filter": first_seen,
                                "must_not": [{"terms": {"id": ids}}] if ids else []}},
                sort=[{"id": "asc"}], source_includes=["id", "outlet"],
            )["hits"]["hits"]
            for hit in hits:
                counts[hit["_source"]["id"]] = 1
                outlets[hit["_source"]["id"]] = {hit["_source"].get("outlet") or ""}
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:size]
        return [StoryCount(story=key, count=n,
                           outlets=sorted(o for o in outlets[key] if o)[:TOP_STORY_OUTLETS])
                for key, n in ranked]

    @_store_errors
    def date_range(self, filters: ArticleFilter | None = None) -> tuple[date, date] | None:
        self._before_use()
        response = self._es.search(
            index=self.articles_index, query=filter_query(filters), size=0,
            aggs={"lo": {"min": {"field": "pub_us"}}, "hi": {"max": {"field": "pub_us"}}},
            track_total_hits=False,
        )
        low, high = response["aggregations"]["lo"]["value"], response["aggregations"]["hi"]["value"]
        if low is None or high is None:
            return None
        return _day_of_ms(low / 1000), _day_of_ms(high / 1000)

    @_store_errors
    def term_stats(
        self,
        foreground: ArticleFilter,
        background: ArticleFilter | None = None,
        size: int = 20,
    ) -> list[TermStat]:
        """Significant terms (``significant_terms`` on the title+summary terms), scored by JLH
        ((fg% - bg%) * fg% / bg%) as in the SQLite backend, ties by term."""
        self._before_use()
        fg_total = self.count(foreground)
        if fg_total == 0:
            return []
        significant: dict[str, Any] = {
            "field": "terms", "size": max(1, size) * 3 + 20,
            "min_doc_count": 2 if fg_total >= 10 else 1, "jlh": {},
        }
        if background is not None and background != ArticleFilter():
            significant["background_filter"] = filter_query(background)
            bg_total = self.count(background)
        else:
            bg_total = self.count()
        if bg_total == 0:
            return []
        response = self._es.search(
            index=self.articles_index, query=filter_query(foreground), size=0,
            aggs={"s": {"significant_terms": significant}}, track_total_hits=False,
        )
        stats: list[TermStat] = []
        for bucket in response["aggregations"]["s"]["buckets"]:
            fg, bg = int(bucket["doc_count"]), int(bucket["bg_count"])
            fg_pct = fg / fg_total
            bg_pct = max(bg, 1) / bg_total
            if fg_pct <= bg_pct:
                continue
            score = (fg_pct - bg_pct) * (fg_pct / bg_pct)
            stats.append(TermStat(term=str(bucket["key"]), foreground=fg, background=bg,
                                  score=score))
        stats.sort(key=lambda s: (-s.score, -s.foreground, s.term))
        return stats[: max(0, size)]

    # -- alerts -----------------------------------------------------------------------------
    @_store_errors
    def upsert_alert(self, alert: Alert) -> None:
        self._before_use()
        self._es.index(index=self.indices["alerts"], id=_doc_id(alert.id), refresh=True, document={
            "id": alert.id, "city": alert.city, "kind": alert.kind, "status": alert.status,
            "start": alert.start.isoformat(), "peak": alert.peak.isoformat(),
            "end": alert.end.isoformat(),
            "doc": json.dumps(alert.to_dict(), ensure_ascii=False, sort_keys=True),
        })

    @_store_errors
    def get_alert(self, alert_id: str) -> Alert | None:
        doc = self._get("alerts", _doc_id(alert_id))
        return Alert.from_dict(json.loads(doc["doc"])) if doc else None

    @_store_errors
    def list_alerts(
        self,
        cities: Sequence[str] = (),
        kinds: Sequence[str] = (),
        statuses: Sequence[str] = (),
        since: date | None = None,
        limit: int = 500,
    ) -> list[Alert]:
        """Newest first: (start desc, peak desc, id asc). ``since`` keeps alerts whose episode
        ends on or after that day."""
        self._before_use()
        clauses = _alert_filter_clauses(cities, kinds, statuses, since)
        limit = max(0, min(limit, _MAX_WINDOW))
        if limit == 0:
            return []
        response = self._es.search(
            index=self.indices["alerts"], query={"bool": {"filter": clauses}}, size=limit,
            sort=[{"start": "desc"}, {"peak": "desc"}, {"id": "asc"}], source_includes=["doc"],
        )
        return [Alert.from_dict(json.loads(h["_source"]["doc"]))
                for h in response["hits"]["hits"]]

    def iter_alerts(
        self,
        cities: Sequence[str] = (),
        kinds: Sequence[str] = (),
        statuses: Sequence[str] = (),
        since: date | None = None,
        batch_size: int = 1000,
    ) -> Iterator[Alert]:
        """``list_alerts`` order, by search_after pages of ``batch_size``."""
        clauses = _alert_filter_clauses(cities, kinds, statuses, since)
        size = max(1, min(batch_size, _MAX_WINDOW))
        after: list[Any] | None = None
        while True:
            hits = self._alert_page({"bool": {"filter": clauses}}, size, after)
            for hit in hits:
                yield Alert.from_dict(json.loads(hit["_source"]["doc"]))
            if len(hits) < size:
                return
            after = hits[-1]["sort"]

    @_store_errors
    def _alert_page(self, query: dict[str, Any], size: int,
                    after: list[Any] | None) -> list[dict[str, Any]]:
        self._before_use()
        extra = {"search_after": after} if after is not None else {}
        response = self._es.search(
            index=self.indices["alerts"], query=query, size=size,
            sort=[{"start": "desc"}, {"peak": "desc"}, {"id": "asc"}], source_includes=["doc"],
            **extra)
        return response["hits"]["hits"]

    # -- ingest bookkeeping -------------------------------------------------------------------
    def _get(self, index: str, doc_id: str) -> dict[str, Any] | None:
        self._before_use()
        try:
            return self._es.get(index=self.indices[index], id=doc_id)["_source"]
        except NotFoundError:
            return None

    @_store_errors
    def get_fetch_state(self, url: str) -> FetchState | None:
        doc = self._get("fetch-state", _doc_id(url))
        if not doc:
            return None
        data = json.loads(doc["doc"])
        data["fetched_at"] = utc(data.get("fetched_at"))
        return FetchState(**data)

    @_store_errors
    def put_fetch_state(self, state: FetchState) -> None:
        self._before_use()
        self._es.index(index=self.indices["fetch-state"], id=_doc_id(state.url), document={
            "url": state.url, "doc": json.dumps(_plain_dict(state), ensure_ascii=False),
        })

    @_store_errors
    def get_source_health(self, source_id: str) -> SourceHealth | None:
        doc = self._get("source-health", _doc_id(source_id))
        return _source_health(doc["doc"]) if doc else None

    @_store_errors
    def put_source_health(self, health: SourceHealth) -> None:
        self._before_use()
        self._es.index(index=self.indices["source-health"], id=_doc_id(health.source_id),
                       refresh=True, document={
                           "source_id": health.source_id,
                           "doc": json.dumps(_plain_dict(health), ensure_ascii=False),
                       })

    def list_source_health(self) -> list[SourceHealth]:
        """Every source's health, by source id."""
        return [_source_health(source["doc"]) for source in self._scan("source-health",
                                                                         "source_id")]

    def list_fetch_state(self) -> Iterator[FetchState]:
        """Every remembered fetch state (for migration), by URL."""
        for source in self._scan("fetch-state", "url"):
            data = json.loads(source["doc"])
            data["fetched_at"] = utc(data.get("fetched_at"))
            yield FetchState(**data)

    def list_meta(self) -> dict[str, str]:
        """Every metadata key and value (for migration)."""
        return {s["key"]: s["value"] for s in self._scan("meta", "key")}

    @_store_errors
    def _scan_page(self, index: str, sort_field: str, after: list[Any] | None
                   ) -> list[dict[str, Any]]:
        self._before_use()
        if after is None:
            self._es.indices.refresh(index=self.indices[index])
        extra = {"search_after": after} if after is not None else {}
        return self._es.search(index=self.indices[index], size=_PAGE,
                               sort=[{sort_field: "asc"}], **extra)["hits"]["hits"]

    def _scan(self, index: str, sort_field: str) -> Iterator[dict[str, Any]]:
        after: list[Any] | None = None
        while True:
            hits = self._scan_page(index, sort_field, after)
            for hit in hits:
                yield hit["_source"]
            if len(hits) < _PAGE:
                return
            after = hits[-1]["sort"]

    # -- key/value metadata ----------------------------------------------------------------
    @_store_errors
    def get_meta(self, key: str) -> str | None:
        doc = self._get("meta", _doc_id(key))
        return doc["value"] if doc else None

    @_store_errors
    def put_meta(self, key: str, value: str) -> None:
        self._before_use()
        self._es.index(index=self.indices["meta"], id=_doc_id(key),
                       document={"key": key, "value": value})

    def __enter__(self) -> ElasticsearchStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _leaves(node: dict[str, Any], depth: int, keys: tuple[str, ...]
            ) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """(group key values, leaf bucket) pairs under one time bucket."""
    level = len(keys)
    if level == depth:
        yield keys, node
        return
    for child in node[f"g{level}"]["buckets"]:
        yield from _leaves(child, depth, (*keys, str(child["key"])))


def _item_reason(info: dict[str, Any]) -> str:
    error = info.get("error")
    if isinstance(error, dict):
        return f"HTTP {info.get('status')} {error.get('type')}: {error.get('reason')}"
    return f"HTTP {info.get('status')}: {error or info.get('exception') or 'rejected'}"


def _plain_dict(record: FetchState | SourceHealth) -> dict[str, Any]:
    return {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in dataclasses.asdict(record).items()
    }


def _source_health(doc: str) -> SourceHealth:
    data = json.loads(doc)
    for key in ("last_attempt", "last_success", "last_error_at"):
        data[key] = utc(data.get(key))
    return SourceHealth(**data)


def _alert_filter_clauses(cities: Sequence[str], kinds: Sequence[str], statuses: Sequence[str],
                          since: date | None) -> list[dict[str, Any]]:
    """Bool-filter clauses of ``list_alerts``/``iter_alerts``."""
    clauses: list[dict[str, Any]] = []
    for field, values in (("city", cities), ("kind", kinds), ("status", statuses)):
        if values:
            clauses.append({"terms": {field: list(values)}})
    if since is not None:
        clauses.append({"range": {"end": {"gte": since.isoformat()}}})
    return clauses
