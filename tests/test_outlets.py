"""The outlet registry: foreign outlets vs the cities' and China's own voice."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cityradar.config import ConfigError
from cityradar.records import Article
from ingest.normalize import article_id
from ingest.outlets import OUTLET_TYPES, OutletRegistry
from search import ArticleFilter, open_store
from tests.conftest import CONFIG_DIR


@pytest.fixture(scope="module")
def registry() -> OutletRegistry:
    return OutletRegistry.from_config(CONFIG_DIR)


def make(url: str, **fields) -> Article:
    return Article(id=article_id(url), url=url, title="Wuhan story", **fields)


def test_shipped_registry_covers_the_world_and_the_own_channels(registry) -> None:
    foreign = [o for o in registry if o.voice == "foreign"]
    own = {o.domain for o in registry if o.voice == "own"}
    assert len(foreign) >= 300
    assert len({o.country for o in foreign}) >= 25
    assert {o.type for o in registry} == OUTLET_TYPES
    wires = {o.name for o in foreign if o.type == "wire"}
    assert {"Reuters", "Associated Press", "Agence France-Presse", "Kyodo News", "Yonhap",
            "TASS", "Press Trust of India", "Bernama", "Agencia EFE", "ANSA"} <= wires
    assert {"cgtn.com", "chinadaily.com.cn", "globaltimes.cn", "news.cn", "shine.cn",
            "sixthtone.com", "ichongqing.info", "eyeshenzhen.com", "ecns.cn"} <= own
    by_country = Counter(o.country for o in foreign)
    for country in ("US", "GB", "FR", "DE", "JP", "KR", "IN", "RU", "BR", "ZA", "NG", "NO"):
        assert by_country[country] >= 3, country


@pytest.mark.parametrize("address, domain", [
    ("https://www.bbc.co.uk/news/world-asia-china-51403795", "bbc.co.uk"),
    ("http://news.bbc.co.uk/2/hi/asia-pacific/1.stm", "bbc.co.uk"),
    ("WWW.Reuters.com", "reuters.com"),
    ("https://english.news.cn/20200121/abc/c.htm", "english.news.cn"),  # longest suffix wins
    ("https://www.xinhuanet.com/english/2020-01/21/c_1.htm", "xinhuanet.com"),
    ("https://global.chinadaily.com.cn/a/202001/21/WS1.html", "chinadaily.com.cn"),
    ("https://www.shine.cn:443/news/metro/2001211234/", "shine.cn"),
])
def test_lookup_matches_subdomains_to_the_registered_domain(registry, address, domain) -> None:
    outlet = registry.lookup(address)
    assert outlet is not None and outlet.domain == domain


@pytest.mark.parametrize("address", ["https://co.uk/x", "https://notbbc.co.uk/", "localhost",
                                     "https://example.org/news", ""])
def test_lookup_does_not_match_lookalikes(registry, address) -> None:
    assert registry.lookup(address) is None


def test_apply_fills_only_what_the_source_left_empty(registry) -> None:
    bare = registry.apply(make("https://www.lemonde.fr/international/article/1.html"))
    assert (bare.outlet, bare.country, bare.language_hint, bare.voice) == \
        ("Le Monde", "FR", "fr", "foreign")
    given = registry.apply(make("https://www.lemonde.fr/x", outlet="Le Monde (feed)",
                                country="FR", language_hint="en"))
    assert (given.outlet, given.language_hint) == ("Le Monde (feed)", "en")
    unknown = make("https://example.org/x")
    assert registry.apply(unknown) is unknown


def test_own_channels_are_own_voice_however_they_arrive(registry) -> None:
    via_search = registry.apply(make("https://www.ecns.cn/news/2020-01-21/detail-1.shtml",
                                     outlet="ECNS", domain="ecns.cn", source_id="gnews-wuhan"))
    assert via_search.voice == "own"
    # an aggregator's link with the outlet's domain kept by the source
    aggregated = registry.apply(make("https://news.example.net/r/123", domain="globaltimes.cn"))
    assert aggregated.voice == "own" and aggregated.outlet == "Global Times"
    # a source configured as own stays own
    configured = registry.apply(make("https://visit.example.org/x", voice="own"))
    assert configured.voice == "own"


def test_counts_split_by_voice_on_the_sqlite_store(tmp_path: Path, registry) -> None:
    urls = [
        "https://www.nytimes.com/2020/01/21/world/asia/wuhan.html",
        "https://www.theguardian.com/world/2020/jan/21/wuhan",
        "https://www.spiegel.de/ausland/wuhan-a-1.html",
        "https://www.cgtn.com/news/2020-01-21/wuhan",
        "https://www.shine.cn/news/nation/2001211/",
    ]
    day = datetime(2020, 1, 21, 9, tzinfo=UTC)
    articles = [registry.apply(make(url, published_at=day)) for url in urls]
    store = open_store(str(tmp_path / "radar.db"))
    try:
        store.upsert_articles(articles)
        rows = store.aggregate(interval="day", group_by=("voice",))
        counts = {row.key["voice"]: row.count for row in rows}
        assert counts == {"foreign": 3, "own": 2}
        assert store.count(ArticleFilter(voice="foreign")) == 3
        by_country = store.aggregate(ArticleFilter(voice="own"), interval=None,
                                     group_by=("country",))
        assert {r.key["country"]: r.count for r in by_country} == {"CN": 2}
    finally:
        store.close()


def test_invalid_registry_is_a_one_line_config_error(tmp_path: Path) -> None:
    (tmp_path / "outlets.yaml").write_text(
        "groups:\n  - country: GB\n    outlets:\n      bbc.co.uk: [BBC, en, tabloid]\n")
    with pytest.raises(ConfigError, match=r"bbc\.co\.uk: type 'tabloid'"):
        OutletRegistry.from_config(tmp_path)
    (tmp_path / "outlets.yaml").write_text(
        "groups:\n  - country: GB\n    outlets:\n      bbc.co.uk: [BBC, en, broadcaster]\n"
        "  - country: US\n    outlets:\n      bbc.co.uk: [BBC, en, broadcaster]\n")
    with pytest.raises(ConfigError, match="registered twice"):
        OutletRegistry.from_config(tmp_path)
