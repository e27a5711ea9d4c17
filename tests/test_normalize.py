"""URL canonicalisation, stable ids, UTC dates and exact dedupe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from cityradar.records import RawItem
from ingest.dates import parse_date
from ingest.normalize import article_id, canonical_url, drop_repeated_urls, normalize_item
from search import open_store


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("HTTPS://WWW.Example.COM:443/World/Story?utm_source=rss&utm_medium=feed#comments",
         "https://www.example.com/World/Story"),
        ("https://example.com/a?id=42&fbclid=X&gclid=Y&ocid=Z&cmpid=Q&at_medium=rss&ns_mchannel=s",
         "https://example.com/a?id=42"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("http://example.com:8080//x", "http://example.com:8080/x"),
        ("https://news.google.com/url?url=https://www.lemonde.fr/asie/article/wuhan.html%3Fxtor%3DRSS"
         "&ct=ga", "https://www.lemonde.fr/asie/article/wuhan.html"),
    ],
)
def test_canonical_url(raw: str, canonical: str) -> None:
    assert canonical_url(raw) == canonical


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        # courlan's tracker list (s_cid, source, ref ...) on top of ours
        ("https://www.cdc.gov/mmwr/mm6943e2.htm?s_cid=mm6943e2_x",
         "https://www.cdc.gov/mmwr/mm6943e2.htm"),
        ("https://medium.com/x/story-150b6e?source=rss----d12c--food",
         "https://medium.com/x/story-150b6e"),
        # ours where courlan has none (ns_*, ocid, smid ...)
        ("https://www.bbc.co.uk/news/world-1?ns_campaign=bbc&ocid=socialflow&smid=tw",
         "https://www.bbc.co.uk/news/world-1"),
        # a parameter without a value can be the identity: kept (courlan would drop it)
        ("https://www.c-span.org/video/?469599-1%2Fdhs-budget=&start=2071",
         "https://www.c-span.org/video/?469599-1%2Fdhs-budget=&start=2071"),
        # IDN host read as Unicode (one form for both spellings); a password never kept
        ("https://xn--mnchen-3ya.de/a", "https://münchen.de/a"),
        ("https://user:secret@Example.org./p", "https://user@example.org/p"),
    ],
)
def test_canonical_url_uses_courlan_plus_our_rules(raw: str, canonical: str) -> None:
    assert canonical_url(raw) == canonical


def test_copies_differing_only_in_tracking_share_one_id() -> None:
    a = canonical_url("https://example.com/story?utm_campaign=a")
    b = canonical_url("https://EXAMPLE.com/story#top")
    assert article_id(a) == article_id(b)
    assert len(article_id(a)) == 20
    assert article_id(a) != article_id(canonical_url("https://example.com/story?page=2"))


def test_normalize_item_converts_dates_to_utc_and_keeps_unknown_dates_unknown() -> None:
    paris = timezone(timedelta(hours=2))
    dated = RawItem(url="https://x.org/a?utm_source=s", title="  Wuhan   reopens ",
                    published_at=datetime(2020, 4, 8, 9, 0, tzinfo=paris), source_id="s")
    article = normalize_item(dated, datetime(2020, 4, 8, 12, 0, tzinfo=UTC))
    assert article is not None
    assert article.url == "https://x.org/a" and article.title == "Wuhan reopens"
    assert article.published_at == datetime(2020, 4, 8, 7, 0, tzinfo=UTC)
    assert article.fetched_at == datetime(2020, 4, 8, 12, 0, tzinfo=UTC)
    undated = normalize_item(RawItem(url="https://x.org/b", title="t"))
    assert undated is not None and undated.published_at is None


def test_item_without_link_gets_a_stable_source_scoped_identity() -> None:
    item = RawItem(url="", title="한글 제목", source_id="kr")
    first, second = normalize_item(item), normalize_item(item)
    assert first is not None and second is not None
    assert first.id == second.id and first.url.startswith("urn:cityradar:kr:")
    assert normalize_item(RawItem(url="", title="")) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Seg, 24 Set 2018 19:42:40 -0300", datetime(2018, 9, 24, 22, 42, 40, tzinfo=UTC)),
        ("mer, 16 nov 2022 00:38:15 +0100", datetime(2022, 11, 15, 23, 38, 15, tzinfo=UTC)),
        ("Sat, Dec 16 2023 02:02:33 PM", datetime(2023, 12, 16, 14, 2, 33, tzinfo=UTC)),
        ("Fri, 17 May 2019 06:00:00 BST", datetime(2019, 5, 17, 5, 0, tzinfo=UTC)),
        ("22.11.2022 12:16:00", datetime(2022, 11, 22, 12, 16, tzinfo=UTC)),
        ("25/03/2020 08:00", datetime(2020, 3, 25, 8, 0, tzinfo=UTC)),
        ("08/02/2013 12:00:00", None),  # 8 February or 2 August: not guessed
        ("9 months ago", None),
        ("", None),
        ("not a date", None),
    ],
)
def test_odd_dates(raw: str, expected: datetime | None) -> None:
    assert parse_date(raw) == expected


def test_dedupe_within_batch_and_against_store(tmp_path) -> None:
    items = [RawItem(url=u, title="t") for u in (
        "https://a.org/1?utm_source=x", "https://a.org/1", "https://a.org/2", "https://a.org/3")]
    articles = [a for a in (normalize_item(i) for i in items) if a]
    with open_store(str(tmp_path / "d.db")) as store:
        store.upsert_articles([articles[2]])
        fresh = drop_repeated_urls(articles, store)
    assert [a.url for a in fresh] == ["https://a.org/1", "https://a.org/3"]
