"""Elasticsearch backend, part 3: writes.

Articles: bulk indexing with ``elasticsearch.helpers.streaming_bulk`` in chunks, retrying items
answered 429/503 with exponential backoff; other item errors are reported in
``UpsertResult.failed``; an article whose stored JSON is unchanged (same ``doc_hash``) is not
sent again. When the cluster is unreachable, articles go to a local durable spool
(:mod:`search.spool`) and are replayed in order before anything else once it answers again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from elasticsearch import ApiError, TransportError, helpers

from cityradar.records import Alert, Article, FetchState, SourceHealth
from search.es_connection import (
    ElasticsearchConnection,
    Unreachable,
    one_line,
    store_errors,
    unavailable,
)
from search.es_mapping import article_source, doc_id
from search.store import UpsertResult, upsert_batches

log = logging.getLogger("search.es_store")


class ElasticsearchWrites(ElasticsearchConnection):
    """The Store protocol's writes on Elasticsearch."""

    @store_errors
    def upsert_articles(self, articles: Iterable[Article]) -> UpsertResult:
        result = UpsertResult()
        for batch in upsert_batches(articles):
            self._upsert_batch({str(i): a for i, a in batch.items()}, result)
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
                raise Unreachable(RuntimeError(self._last_error), [])
            existing = self._existing_hashes(list(prepared))
        except (TransportError, ApiError, Unreachable) as exc:
            if isinstance(exc, Unreachable):
                self._mark_down(exc.cause)
            elif unavailable(exc):
                self._mark_down(exc)
            else:
                raise
            self._spool([a for a, _ in prepared.values()], result)
            return
        changed = {i: p for i, p in prepared.items() if existing.get(i) != p[1]["doc_hash"]}
        try:
            indexed = self._bulk(changed, result)
        except Unreachable as exc:
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
            log.warning("elasticsearch %s: refresh failed: %s", self.url, one_line(exc))

    def _spool(self, articles: list[Article], result: UpsertResult) -> None:
        if not articles:
            return
        result.spooled += self.spool.append(articles)
        self._pending = self.spool.pending()
        log.warning("elasticsearch %s unreachable (%s): %d articles spooled (%d waiting in %s)",
                    self.url, self._last_error, len(articles), self._pending, self.spool.path)

    def _existing_hashes(self, ids: list[str]) -> dict[str, str]:
        return {doc["_id"]: doc.get("_source", {}).get("doc_hash", "")
                for doc in self._mget(ids, source_includes=["doc_hash"])}

    def _bulk(self, items: dict[str, tuple[Article, dict[str, Any]]],
              result: UpsertResult) -> list[str]:
        """Index ``items``; returns the ids indexed. Item errors go to ``result.failed``.

        Raises Unreachable when the cluster stops answering part-way.
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
            if not unavailable(exc):
                raise
            remaining = [a for i, (a, _) in items.items() if i not in settled]
            raise Unreachable(exc, remaining, indexed) from exc
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
            except (Unreachable, TransportError, ApiError) as exc:
                if not isinstance(exc, Unreachable) and not unavailable(exc):
                    raise
                self._mark_down(exc.cause if isinstance(exc, Unreachable) else exc)
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
            if not unavailable(exc):
                raise
            self._mark_down(exc)
            return self._pending
        self._try_drain()
        return self._pending

    # -- alerts, ingest bookkeeping, metadata --------------------------------------------------
    @store_errors
    def upsert_alert(self, alert: Alert) -> None:
        self._before_use()
        self._es.index(index=self.indices["alerts"], id=doc_id(alert.id), refresh=True, document={
            "id": alert.id, "city": alert.city, "kind": alert.kind, "status": alert.status,
            "start": alert.start.isoformat(), "peak": alert.peak.isoformat(),
            "end": alert.end.isoformat(),
            "doc": alert.to_json(),
        })

    @store_errors
    def put_fetch_state(self, state: FetchState) -> None:
        self._before_use()
        self._es.index(index=self.indices["fetch-state"], id=doc_id(state.url), document={
            "url": state.url, "doc": state.to_json(),
        })

    @store_errors
    def put_source_health(self, health: SourceHealth) -> None:
        self._before_use()
        self._es.index(index=self.indices["source-health"], id=doc_id(health.source_id),
                       refresh=True, document={
                           "source_id": health.source_id,
                           "doc": health.to_json(),
                       })

    @store_errors
    def put_meta(self, key: str, value: str) -> None:
        self._before_use()
        self._es.index(index=self.indices["meta"], id=doc_id(key),
                       document={"key": key, "value": value})


def _item_reason(info: dict[str, Any]) -> str:
    error = info.get("error")
    if isinstance(error, dict):
        return f"HTTP {info.get('status')} {error.get('type')}: {error.get('reason')}"
    return f"HTTP {info.get('status')}: {error or info.get('exception') or 'rejected'}"

