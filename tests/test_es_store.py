"""Elasticsearch backend specifics beyond the shared contract (tests/contract/): transport
media types, URL options and credentials, partial bulk failures, the index layout."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from search import open_store
from search.es_store import ElasticsearchStore
from search.es_transport import PlainJsonHttpNode, plain_json_wanted, plain_media_type
from search.store import ArticleFilter, SearchQuery, StoreError
from tests.contract.es_backend import REAL_CLUSTER_ENV, open_es_store, shared_emulator
from tests.contract.factories import make_article


@pytest.fixture
def store(tmp_path: Path):
    opened = open_es_store(tmp_path / "spool")
    yield opened
    opened.drop_indices()
    opened.close()


def test_vendor_media_types_become_plain_json() -> None:
    assert plain_media_type("application/vnd.elasticsearch+json; compatible-with=8") == (
        "application/json"
    )
    assert plain_media_type("application/vnd.elasticsearch+x-ndjson; compatible-with=8") == (
        "application/x-ndjson"
    )
    assert plain_media_type("text/plain") == "text/plain"


def test_plain_json_is_off_by_default_and_switched_by_env_or_url(monkeypatch) -> None:
    monkeypatch.delenv("CITYRADAR_ES_PLAIN_JSON", raising=False)
    assert plain_json_wanted() is False
    monkeypatch.setenv("CITYRADAR_ES_PLAIN_JSON", "1")
    assert plain_json_wanted() is True
    assert plain_json_wanted("default") is False  # the URL option wins over the environment
    monkeypatch.delenv("CITYRADAR_ES_PLAIN_JSON")
    assert plain_json_wanted("plain") is True


def test_emulator_rejects_compatible_with_media_type_without_the_plain_node(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("CITYRADAR_ES_PLAIN_JSON", raising=False)
    url = shared_emulator().url
    with pytest.raises(StoreError, match="406"):
        ElasticsearchStore(url, index_prefix="strict", spool_dir=tmp_path)
    monkeypatch.setenv("CITYRADAR_ES_PLAIN_JSON", "1")
    store = ElasticsearchStore(url, index_prefix=f"e{uuid.uuid4().hex[:8]}", spool_dir=tmp_path)
    try:
        assert store._es.transport.node_pool.all()[0].__class__ is PlainJsonHttpNode
        assert store.health()["ok"] is True
    finally:
        store.drop_indices()
        store.close()


def test_open_store_dispatches_urls_with_options_and_credentials(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CITYRADAR_ES_API_KEY", "a2V5OnNlY3JldA==")
    url = f"{shared_emulator().url}/?compat=plain&prefix=opt{uuid.uuid4().hex[:6]}&spool={tmp_path}"
    store = open_store(url)
    try:
        assert isinstance(store, ElasticsearchStore)
        assert store.url == shared_emulator().url + "/"
        assert store.articles_index.startswith("opt") and store.spool.directory == tmp_path
        sent = store._es._headers  # what the client adds to every request
        assert sent["authorization"] == "ApiKey a2V5OnNlY3JldA=="
    finally:
        store.drop_indices()
        store.close()
    monkeypatch.setenv("CITYRADAR_ES_CA_CERTS", str(tmp_path / "missing-ca.crt"))
    with pytest.raises(StoreError, match=r"CA file .* does not exist"):
        open_store(url)
    with pytest.raises(StoreError, match="index prefix"):
        ElasticsearchStore(shared_emulator().url, index_prefix="Bad Prefix", spool_dir=tmp_path)


def test_one_bad_article_is_reported_by_id_and_the_rest_are_stored(store) -> None:
    good = [make_article() for _ in range(5)]
    bad = make_article()
    assert bad.tags is not None
    bad.tags.sentiment = "very negative"  # type: ignore[assignment]  # not a number
    result = store.upsert_articles([*good[:2], bad, *good[2:]])
    assert result.inserted == 5
    assert [article_id for article_id, _ in result.failed] == [bad.id]
    assert "sentiment" in result.failed[0][1] or "parse" in result.failed[0][1].lower()
    assert store.has_articles([a.id for a in good] + [bad.id]) == {a.id for a in good}


def test_search_paging_past_the_result_window_is_empty_not_an_error(store) -> None:
    store.upsert_articles([make_article() for _ in range(3)])
    far = store.search(SearchQuery(limit=50, offset=20_000))
    assert (far.total, far.articles) == (3, [])


def test_per_language_fields_and_city_mentions_are_indexed(store) -> None:
    article = make_article(title="Outbreaks spread", summary="Hospitals fill up.",
                           cities=["wuhan"], government=["beijing"],
                           city_sentiment={"wuhan": -0.8, "beijing": 0.1}, sentiment=-0.5)
    store.upsert_articles([article])
    source = store._es.get(index=store.articles_index, id=article.id)["_source"]
    assert source["lang_text"] == {"en": "Outbreaks spread\nHospitals fill up."}
    assert {(m["city"], m["kind"], m["tone"]) for m in source["city_mentions"]} == {
        ("wuhan", "place", -0.8), ("beijing", "government", 0.1)
    }
    assert store.count(ArticleFilter(cities=["beijing"], include_government=False)) == 0
    mapping = store._es.indices.get_mapping(index=store.articles_index)
    properties = mapping[store.articles_index]["mappings"]["properties"]
    assert properties["city_mentions"]["type"] == "nested"
    assert {"en", "fr", "de", "ru", "zh"} <= set(properties["lang_text"]["properties"])


def test_health_and_schema_version(store) -> None:
    info = store.health()
    assert info["ok"] is True and info["backend"] == "elasticsearch"
    assert info["spooled"] == 0 and store.schema_version() == 1


@pytest.mark.skipif(not os.environ.get(REAL_CLUSTER_ENV),
                    reason=f"needs a real Elasticsearch 8 cluster: set {REAL_CLUSTER_ENV}")
def test_real_cluster_is_elasticsearch_8_with_every_language_analyzer(store) -> None:
    assert store.health()["version"].startswith("8.")
    assert "ar" in store.languages  # stock Elasticsearch ships the arabic analyzer
    store.upsert_articles([make_article(title="Hospitals overwhelmed", language="en")])
    result = store.search(SearchQuery(text="hospital*", sort="relevance"))
    assert result.total == 1
