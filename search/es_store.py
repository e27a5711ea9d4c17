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

The backend is split by job, composed here: ``es_mapping`` (index template, small indices, the
indexed document of an article), ``es_connection`` (client, index setup, availability),
``es_writes`` (bulk indexing, spool, small-index writes), ``es_queries`` (the filter builder,
reads, aggregations, significant terms); text helpers shared with the SQLite backend live in
``search.text``.
"""

from __future__ import annotations

from search.es_mapping import (
    LANGUAGE_ANALYZERS,
    MULTI_ANALYZER,
    SCHEMA_VERSION,
    article_source,
    articles_template,
)
from search.es_queries import ElasticsearchQueries, filter_clauses, filter_query, text_clauses
from search.es_writes import ElasticsearchWrites

__all__ = ["LANGUAGE_ANALYZERS", "MULTI_ANALYZER", "SCHEMA_VERSION", "ElasticsearchStore",
           "article_source", "articles_template", "filter_clauses", "filter_query",
           "text_clauses"]


class ElasticsearchStore(ElasticsearchWrites, ElasticsearchQueries):
    """The Store protocol on an Elasticsearch 8.x cluster (see module docstring)."""

