"""Elasticsearch backend, part 4: the filter builder and the reads (articles, full-text
search, aggregations, top stories, significant terms, alerts, ingest bookkeeping, metadata).

``filter_clauses`` is the backend's one bool-filter builder for an ``ArticleFilter``;
``alert_filter_clauses`` the one for alert listings.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

from cityradar.records import Alert, Article, FetchState, SourceHealth
from search.es_connection import ID_CHUNK, MAX_WINDOW, ElasticsearchConnection, store_errors
from search.es_mapping import doc_id
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
    StoryCount,
    TermStat,
    check_aggregate_arguments,
    epoch_us_bounds,
    market_group,
    market_rows,
)
from search.text import WORD, query_tokens, words_of

_MULTI_LEVEL_TERMS = 1000  # keys per level when grouping by several fields (documented cap)
_GROUP_FIELDS: dict[str, str] = {
    "city": "city", "topic": "topics", "language": "language", "outlet": "outlet",
    "country": "country", "sentiment_label": "sentiment_label", "voice": "voice",
}
_MARKET_KEYS = 1_000_000  # market_aggregate keeps every cell the nested terms return


def _day_of_ms(ms: float) -> date:
    return datetime.fromtimestamp(ms / 1000, UTC).date()


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
    start, end = epoch_us_bounds(filters)
    bounds: dict[str, int] = {}
    if start is not None:
        bounds["gte"] = start
    if end is not None:
        bounds["lt"] = end
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
    for raw, prefix in query_tokens(text):
        if not WORD.search(raw):
            continue
        clauses.append({"multi_match": {
            "query": raw, "type": "phrase_prefix" if prefix else "phrase",
            "fields": ["title^4", "summary^2", "body"],
        }})
    return clauses


def alert_filter_clauses(cities: Sequence[str], kinds: Sequence[str], statuses: Sequence[str],
                          since: date | None) -> list[dict[str, Any]]:
    """Bool-filter clauses of ``list_alerts``/``iter_alerts``."""
    clauses: list[dict[str, Any]] = []
    for field, values in (("city", cities), ("kind", kinds), ("status", statuses)):
        if values:
            clauses.append({"terms": {field: list(values)}})
    if since is not None:
        clauses.append({"range": {"end": {"gte": since.isoformat()}}})
    return clauses


class ElasticsearchQueries(ElasticsearchConnection):
    """The Store protocol's reads on Elasticsearch."""

    def _docs(self, hits: Iterable[dict[str, Any]]) -> list[Article]:
        return [Article.from_json(hit["_source"]["doc"]) for hit in hits]

    @store_errors
    def get_article(self, article_id: str) -> Article | None:
        found = self.get_articles([article_id])
        return found[0] if found else None

    @store_errors
    def get_articles(self, article_ids: Sequence[str]) -> list[Article]:
        """The stored articles among ``article_ids``, in the order asked (missing ids skipped)."""
        self._before_use()
        ids = list(dict.fromkeys(i for i in article_ids if i))
        found = {doc["_id"]: Article.from_json(doc["_source"]["doc"])
                 for doc in self._mget(ids, source_includes=["doc"])}
        return [found[i] for i in ids if i in found]

    @store_errors
    def has_articles(self, article_ids: Sequence[str]) -> set[str]:
        self._before_use()
        ids = list(dict.fromkeys(i for i in article_ids if i))
        return {doc["_id"] for doc in self._mget(ids, source=False)}

    def iter_articles(
        self, filters: ArticleFilter | None = None, batch_size: int = 1000
    ) -> Iterator[Article]:
        """Oldest first by (published_at, id); articles with unknown dates come last, by id."""
        clauses = filter_clauses(filters or ArticleFilter())
        dated = {"bool": {"filter": [*clauses, {"exists": {"field": "pub_us"}}]}}
        undated = {"bool": {"filter": clauses,
                            "must_not": [{"exists": {"field": "pub_us"}}]}}
        size = max(1, min(batch_size, MAX_WINDOW))
        for query, sort in ((dated, [{"pub_us": "asc"}, {"id": "asc"}]),
                            (undated, [{"id": "asc"}])):
            after: list[Any] | None = None
            while True:
                hits = self._page(query, sort, size, after)
                yield from self._docs(hits)
                if len(hits) < size:
                    break
                after = hits[-1]["sort"]

    @store_errors
    def _page(self, query: dict[str, Any], sort: list[Any], size: int,
              after: list[Any] | None) -> list[dict[str, Any]]:
        self._before_use()
        extra = {"search_after": after} if after is not None else {}
        response = self._es.search(index=self.articles_index, query=query, sort=sort, size=size,
                                   source_includes=["doc"], track_total_hits=False, **extra)
        return response["hits"]["hits"]

    @store_errors
    def count(self, filters: ArticleFilter | None = None) -> int:
        self._before_use()
        return int(self._es.count(index=self.articles_index,
                                  query=filter_query(filters))["count"])

    @store_errors
    def search(self, query: SearchQuery) -> SearchResult:
        """Sorts: newest = (published_at desc, id); oldest = (published_at asc, id); relevance =
        (score, published_at desc, id). Unknown dates sort last in every order."""
        self._before_use()
        must = text_clauses(query.text) if query.text.strip() else []
        bool_query: dict[str, Any] = {"filter": filter_clauses(query.filters)}
        if must:
            bool_query["must"] = must
            words = " ".join(words_of(query.text))
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
        if offset + limit > MAX_WINDOW:
            if offset >= MAX_WINDOW:
                total = self._es.count(index=self.articles_index,
                                       query={"bool": bool_query})["count"]
                return SearchResult(total=int(total), articles=[])
            limit = MAX_WINDOW - offset
        response = self._es.search(
            index=self.articles_index, query={"bool": bool_query}, sort=sort, from_=offset,
            size=limit, source_includes=["doc"], track_total_hits=True,
        )
        hits = response["hits"]
        return SearchResult(total=int(hits["total"]["value"]), articles=self._docs(hits["hits"]))

    @store_errors
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
        check_aggregate_arguments(interval, group_by)
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

    @store_errors
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
                "terms": {"field": "dup_of", "size": MAX_WINDOW,
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
        for start in range(0, len(ids), ID_CHUNK):
            chunk = ids[start:start + ID_CHUNK]
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

    @store_errors
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

    @store_errors
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
    @store_errors
    def get_alert(self, alert_id: str) -> Alert | None:
        doc = self._get("alerts", doc_id(alert_id))
        return Alert.from_json(doc["doc"]) if doc else None

    @store_errors
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
        clauses = alert_filter_clauses(cities, kinds, statuses, since)
        limit = max(0, min(limit, MAX_WINDOW))
        if limit == 0:
            return []
        response = self._es.search(
            index=self.indices["alerts"], query={"bool": {"filter": clauses}}, size=limit,
            sort=[{"start": "desc"}, {"peak": "desc"}, {"id": "asc"}], source_includes=["doc"],
        )
        return [Alert.from_json(h["_source"]["doc"])
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
        clauses = alert_filter_clauses(cities, kinds, statuses, since)
        size = max(1, min(batch_size, MAX_WINDOW))
        after: list[Any] | None = None
        while True:
            hits = self._alert_page({"bool": {"filter": clauses}}, size, after)
            for hit in hits:
                yield Alert.from_json(hit["_source"]["doc"])
            if len(hits) < size:
                return
            after = hits[-1]["sort"]

    @store_errors
    def _alert_page(self, query: dict[str, Any], size: int,
                    after: list[Any] | None) -> list[dict[str, Any]]:
        self._before_use()
        extra = {"search_after": after} if after is not None else {}
        response = self._es.search(
            index=self.indices["alerts"], query=query, size=size,
            sort=[{"start": "desc"}, {"peak": "desc"}, {"id": "asc"}], source_includes=["doc"],
            **extra)
        return response["hits"]["hits"]

    @store_errors
    def get_fetch_state(self, url: str) -> FetchState | None:
        doc = self._get("fetch-state", doc_id(url))
        return FetchState.from_json(doc["doc"]) if doc else None

    @store_errors
    def get_source_health(self, source_id: str) -> SourceHealth | None:
        doc = self._get("source-health", doc_id(source_id))
        return SourceHealth.from_json(doc["doc"]) if doc else None

    def list_source_health(self) -> list[SourceHealth]:
        """Every source's health, by source id."""
        return [SourceHealth.from_json(source["doc"])
                for source in self._scan("source-health", "source_id")]

    def list_fetch_state(self) -> Iterator[FetchState]:
        """Every remembered fetch state (for migration), by URL."""
        for source in self._scan("fetch-state", "url"):
            yield FetchState.from_json(source["doc"])

    def list_meta(self) -> dict[str, str]:
        """Every metadata key and value (for migration)."""
        return {s["key"]: s["value"] for s in self._scan("meta", "key")}

    @store_errors
    def get_meta(self, key: str) -> str | None:
        doc = self._get("meta", doc_id(key))
        return doc["value"] if doc else None


def _leaves(node: dict[str, Any], depth: int, keys: tuple[str, ...]
            ) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """(group key values, leaf bucket) pairs under one time bucket."""
    level = len(keys)
    if level == depth:
        yield keys, node
        return
    for child in node[f"g{level}"]["buckets"]:
        yield from _leaves(child, depth, (*keys, str(child["key"])))

