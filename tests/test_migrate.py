"""``cityradar migrate`` copies a whole store across backends, both ways, and checks counts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from cityradar.cli import cli
from cityradar.records import FetchState, SourceHealth
from search.es_store import ElasticsearchStore
from search.sqlite_store import SQLiteStore
from tests.contract.es_backend import shared_emulator
from tests.contract.factories import make_alert, make_article


def fill(store: SQLiteStore) -> list:
    articles = [make_article(title=f"Story {i} on Wuhan", published_at=f"2020-01-{1 + i % 28:02d}")
                for i in range(250)]
    articles.append(make_article(published_at=None, title="Undated 上海 story"))
    store.upsert_articles(articles)
    store.upsert_alert(make_alert())
    store.upsert_alert(make_alert(city="beijing", status="acknowledged"))
    store.put_fetch_state(FetchState(url="https://feeds.example.com/a.xml", etag='"e1"',
                                     fetched_at=datetime(2020, 1, 2, tzinfo=UTC)))
    store.put_source_health(SourceHealth(source_id="feed-a", items_seen=4, total_items=40))
    store.put_meta("tagger_version", "v3")
    return articles


def es_url(tmp_path: Path, prefix: str) -> str:
    return f"{shared_emulator().url}?compat=plain&prefix={prefix}&spool={tmp_path / 'spool'}"


def test_migrate_sqlite_to_elasticsearch_and_back(tmp_path: Path) -> None:
    source = SQLiteStore(tmp_path / "a.db")
    articles = fill(source)
    source.close()
    prefix = f"m{uuid.uuid4().hex[:10]}"
    runner = CliRunner()

    there = runner.invoke(cli, ["migrate", "--from", f"sqlite:///{tmp_path / 'a.db'}",
                                "--to", es_url(tmp_path, prefix), "--batch-size", "100"])
    assert there.exit_code == 0, there.output
    assert "251 articles" in there.output and "count check ok" in there.output
    assert "articles 251/251" in there.output  # progress on stderr (mixed in by CliRunner)

    back = runner.invoke(cli, ["migrate", "--from", es_url(tmp_path, prefix),
                               "--to", f"sqlite:///{tmp_path / 'b.db'}"])
    assert back.exit_code == 0, back.output

    copy = SQLiteStore(tmp_path / "b.db")
    es = ElasticsearchStore(es_url(tmp_path, prefix))
    try:
        assert sorted(a.id for a in copy.iter_articles()) == sorted(a.id for a in articles)
        assert copy.get_article(articles[7].id) == articles[7]
        assert [a.id for a in copy.list_alerts()] == [a.id for a in es.list_alerts()]
        assert len(copy.list_alerts()) == 2
        assert copy.get_fetch_state("https://feeds.example.com/a.xml").etag == '"e1"'
        assert copy.get_source_health("feed-a").total_items == 40
        assert copy.get_meta("tagger_version") == "v3"
        assert es.count() == 251
    finally:
        copy.close()
        es.drop_indices()
        es.close()


def test_migrate_reports_unreachable_target_and_bad_urls(tmp_path: Path) -> None:
    source = SQLiteStore(tmp_path / "a.db")
    source.upsert_articles([make_article()])
    source.close()
    runner = CliRunner()
    down = runner.invoke(cli, ["migrate", "--from", f"sqlite:///{tmp_path / 'a.db'}",
                               "--to", f"http://127.0.0.1:9?compat=plain&spool={tmp_path / 's'}"])
    assert down.exit_code != 0
    assert "unreachable" in down.output and "spooled" in down.output

    same = runner.invoke(cli, ["migrate", "--from", "sqlite:///x.db", "--to", "sqlite:///x.db"])
    assert same.exit_code == 2 and "same store" in same.output

    missing = runner.invoke(cli, ["migrate", "--from", f"sqlite:///{tmp_path / 'none.db'}",
                                  "--to", f"sqlite:///{tmp_path / 'b.db'}"])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    assert not (tmp_path / "none.db").exists()
