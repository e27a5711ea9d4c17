"""Storage stage: the Store protocol and its backends."""

from search.store import (
    AggRow,
    ArticleFilter,
    SearchQuery,
    SearchResult,
    Store,
    StoreError,
    TermStat,
    UpsertResult,
)

__all__ = [
    "AggRow",
    "ArticleFilter",
    "SearchQuery",
    "SearchResult",
    "Store",
    "StoreError",
    "TermStat",
    "UpsertResult",
    "open_store",
]


def open_store(url: str, **options: object) -> Store:
    """Open a store by URL: ``sqlite:///path/to.db`` (or a bare path) or ``http(s)://host:9200``."""
    if url.startswith(("http://", "https://")):
        from search.es_store import ElasticsearchStore

        return ElasticsearchStore(url, **options)  # type: ignore[arg-type]
    from search.sqlite_store import SQLiteStore

    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
    return SQLiteStore(path, **options)  # type: ignore[arg-type]
