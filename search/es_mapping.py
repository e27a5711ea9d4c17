"""Elasticsearch backend, part 1: what is stored (index template, small indices, the
indexed document of an article). See ``search.es_store`` for the whole backend."""

from __future__ import annotations

import hashlib
from typing import Any

from cityradar.records import Article, utc
from search.store import content_hash, epoch_us
from search.text import terms_of

SCHEMA_VERSION = 1
SCHEMA_META_KEY = "cityradar.schema_version"

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


SMALL_INDICES: dict[str, dict[str, Any]] = {
    "alerts": {"id": _KEYWORD, "city": _KEYWORD, "kind": _KEYWORD, "status": _KEYWORD,
               "start": _KEYWORD, "peak": _KEYWORD, "end": _KEYWORD, "doc": _STORED_ONLY},
    "fetch-state": {"url": _KEYWORD, "doc": _STORED_ONLY},
    "source-health": {"source_id": _KEYWORD, "doc": _STORED_ONLY},
    "meta": {"key": _KEYWORD, "value": _STORED_ONLY},
}


def doc_id(value: str) -> str:
    """Elasticsearch ids are at most 512 bytes: long keys are hashed."""
    if 0 < len(value.encode("utf-8")) <= 256:
        return value
    return "sha1:" + hashlib.sha1(value.encode("utf-8")).hexdigest()


def article_source(article: Article) -> dict[str, Any]:
    """The indexed document for one article (raises on articles that cannot be stored)."""
    if not article.id or not isinstance(article.id, str):
        raise ValueError("article has no id")
    doc = article.to_json()
    doc_hash = content_hash(doc)  # encodes: lone surrogates cannot be sent; fail this article only
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
        "doc": doc, "doc_hash": doc_hash,
    }
    if published is not None:
        source["published_at"] = published.isoformat()
        source["pub_us"] = epoch_us(published)
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
    for city, kind, rel, tone in tags.per_city() if tags else ():
        entry = {
            "city": city, "kind": kind, "relevance": rel, "tone": tone, "language": language,
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

