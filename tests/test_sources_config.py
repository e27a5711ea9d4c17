"""config/sources.yaml: the shipped default loads; bad entries fail with one-line errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from cityradar.config import ConfigError
from ingest.sources import city_query, load_sources
from nlp.gazetteer import load_cities
from tests.conftest import CONFIG_DIR


def test_shipped_sources_cover_many_countries_and_expand_news_search() -> None:
    config = load_sources(CONFIG_DIR)
    feeds = [s for s in config.sources if s.kind == "feed"]
    assert len(feeds) >= 24
    assert len({s.country for s in feeds}) >= 10
    assert {s.voice for s in feeds} == {"foreign", "own"}
    cities = load_cities(CONFIG_DIR)
    searches = [s for s in config.sources if s.kind == "news_search"]
    assert len(searches) == len(cities) * 11
    wuhan_fr = next(s for s in searches if s.id == "gnews:wuhan:fr-FR")
    assert wuhan_fr.city_hint == "wuhan" and wuhan_fr.language == "fr"
    assert "hl=fr&gl=FR&ceid=FR:fr" in wuhan_fr.url and "Wuhan" in wuhan_fr.url
    assert not any(s.enabled for s in config.sources if s.id == "shine")
    assert "shine" not in {s.id for s in config.select()}


def test_query_uses_the_city_names_of_the_edition_language() -> None:
    beijing = next(c for c in load_cities(CONFIG_DIR) if c.id == "beijing")
    query = city_query(beijing, "fr")
    assert '"Pékin"' in query and '"Beijing"' in query


def write(tmp_path: Path, document: object) -> Path:
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump(document, allow_unicode=True))
    return tmp_path


GOOD = {"id": "bbc", "url": "https://feeds.bbci.co.uk/news/rss.xml", "outlet": "BBC",
        "country": "GB", "language": "en"}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({**GOOD, "url": "ftp://x"}, "feeds[0].url: expected an http(s) URL"),
        ({k: v for k, v in GOOD.items() if k != "outlet"}, "feeds[0].outlet: missing"),
        ({**GOOD, "country": "Britain"}, "feeds[0].country: expected ISO alpha-2"),
        ({**GOOD, "voice": "local"}, "feeds[0].voice: expected foreign or own"),
        ({**GOOD, "enabled": "yes"}, "feeds[0].enabled: expected true or false"),
        ({**GOOD, "id": "BBC News"}, "feeds[0].id:"),
        ({**GOOD, "language": "English"}, "feeds[0].language:"),
    ],
)
def test_invalid_feed_entries_name_the_field(tmp_path: Path, entry: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        load_sources(write(tmp_path, {"feeds": [entry]}), cities=[])
    assert "\n" not in str(info.value)


def test_duplicate_ids_and_bad_fetch_settings_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="duplicate source id 'bbc'"):
        load_sources(write(tmp_path, {"feeds": [GOOD, GOOD]}), cities=[])
    with pytest.raises(ConfigError, match=r"fetch.timeout_s: expected a number"):
        load_sources(write(tmp_path, {"fetch": {"timeout_s": "slow"}, "feeds": [GOOD]}))
    with pytest.raises(ConfigError, match=r"fetch.retry: unknown setting"):
        load_sources(write(tmp_path, {"fetch": {"retry": 3}, "feeds": [GOOD]}))


def test_news_search_template_needs_query_and_editions(tmp_path: Path) -> None:
    entry = {"id": "gn", "url": "https://news.example/rss?hl={hl}", "outlet": "GN",
             "editions": [{"gl": "US", "language": "en"}]}
    with pytest.raises(ConfigError, match=r"news_search\[0\].url: .*\{query\}"):
        load_sources(write(tmp_path, {"news_search": [entry]}), cities=[])
    entry["url"] = "https://news.example/rss?q={query}&x={nope}"
    with pytest.raises(ConfigError, match=r"editions\[0\]: template placeholder 'nope'"):
        load_sources(write(tmp_path, {"news_search": [entry]}),
                     cities=load_cities(CONFIG_DIR)[:1])


def test_unknown_source_selection_is_an_error() -> None:
    with pytest.raises(ConfigError, match="unknown source id"):
        load_sources(CONFIG_DIR).select(["no-such-source"])
