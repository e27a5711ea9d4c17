"""Every real feed in ../shared/realdata/feeds, served over loopback, ingests correctly."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html import unescape
from pathlib import Path

import pytest

from ingest.pipeline import ingest_once
from search import open_store
from tests.conftest import REALDATA
from tests.feedserver import FeedServer, feed_server_fixture  # noqa: F401
from tests.test_ingest_pipeline import feed_entry, write_config

FEED_FILES = sorted(
    p.relative_to(REALDATA / "feeds").as_posix()
    for p in (REALDATA / "feeds").glob("*/*")
    if p.suffix in (".xml", ".rss", ".atom")
) if REALDATA.is_dir() else []

# Files that are not RSS/Atom at all or break off before any item: a recorded source error.
UNREADABLE = {
    "feed-rs/rss_2.0_invalid_1.xml",  # truncated Reuters feed: channel header, then HTML
    "rss-parser/unrecognized.rss",  # an HTML "Document Moved" page
    "jmanuelbr-chrome-extension/lavanguardia__8483ccd5f1.xml",  # NewsML, not RSS/Atom
    "jmanuelbr-chrome-extension/slashdot__413cf2d165.xml",  # Slashdot "backslash" XML
}

# Hand-checked expectations for the encoding cases: (source feed, text that must appear).
ENCODED_TEXT = {
    "feedparser-chardet/euckr.xml": "한글닉네임 표시하기",
    "feedparser-chardet/gb2312.xml": "不归移民漫画系列：专业工作",
    "feedparser-chardet/windows1255.xml": "האם תדפיס נייר של אתר אינטרנט",
    "rss-parser/encoding-gb2312.xml": "拟298亿元重组盛大游戏后 世纪华通发20亿回购预案",
    "miniflux/encoding_WINDOWS-1251.xml": "Цитата #17703",
    "node-feedparser/iconv.xml": "В Бузулуке главные стройплощадки",
    "miniflux/no_encoding_ISO-8859-1.xml": "Perturbateurs endocriniens : quels effets",
    "miniflux/encoding_ISO-8859-1.xml": "Red Dead Redemption 2: Hinweise auf PC-Umsetzung",
    "rss-parser/encoding.rss": "Mãe de utente é a nova presidente da Raríssimas",
    "rss-parser/uolNoticias.rss": "simulações de 2º turno",
    "feed-rs/rss_1.0_iso8859.xml": "Glasfaserförderung",
    "prof18-RSS-Parser/feed-test-greek.xml": "«Πορτραίτα καραντίνας»",
    "rss-parser/latin2.rss": "ZAŻÓŁĆ GĘSLĄ JAŹŃ",
    "feed-rs/rss_2.0_ilmessaggero.xml": "Missili Polonia, cosa è successo?",
    # UTF-8 read as Latin-1 by the publisher ("corrupciÃ³n"), repaired on ingest
    "jmanuelbr-chrome-extension/eldiario__413cf2d165.xml": "detenidos por corrupción internacional",
}
# Dates feedparser cannot read alone (Portuguese/Italian names, 12-hour clocks, zone names).
ODD_DATES = {
    "rss-parser/uolNoticias.rss": datetime(2018, 9, 24, 22, 42, 40, tzinfo=UTC),
    "feed-rs/rss_2.0_ilmessaggero.xml": datetime(2022, 11, 15, 23, 38, 15, tzinfo=UTC),
    "feed-rs/rss_2.0_nbcny.xml": datetime(2023, 12, 16, 14, 2, 33, tzinfo=UTC),
    "prof18-RSS-Parser/feed-test-xsl.xml": datetime(2019, 5, 17, 5, 0, tzinfo=UTC),
}
# Ambiguous numeric dates (08/02/2013: February or August?) stay "date unknown".
UNKNOWN_DATES = {
    "node-feedparser/rss2sample-odddatetime.xml",
    "prof18-RSS-Parser/feed-test-time.xml",
}


RFC822_ZONES = {"GMT", "UT", "UTC", "Z", "EST", "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT"}


def _rfc822_safe(text: str) -> bool:
    """email.utils reads this date right (no 12-hour clock, no zone name it does not know)."""
    zone = re.search(r"\b([A-Z]{1,5})\s*$", text.strip())
    return not re.search(r"\b[AP]M\b", text) and (zone is None or zone.group(1) in RFC822_ZONES)


def _xml_items(data: bytes) -> list[tuple[str, datetime | None]] | None:
    """Titles and RFC 822 dates of the first items, read with xml.etree (None: not parseable)."""
    try:
        root = ET.fromstring(data)
    except (ET.ParseError, ValueError):  # ill-formed, or a multi-byte encoding etree lacks
        return None
    found = []
    for item in root.iter():
        tag = item.tag.rsplit("}", 1)[-1]
        if tag not in ("item", "entry"):
            continue
        title = next((c for c in item if c.tag.rsplit("}", 1)[-1] == "title"), None)
        date = next((c for c in item if c.tag.rsplit("}", 1)[-1] == "pubDate"), None)
        when = None
        if date is not None and date.text and _rfc822_safe(date.text):
            try:
                when = parsedate_to_datetime(date.text.strip()).astimezone(UTC)
            except (TypeError, ValueError):
                when = None
        text = "".join(title.itertext()) if title is not None else ""
        found.append((" ".join(re.sub(r"<[^>]+>", "", unescape(text)).split()), when))
    return found


@pytest.mark.realdata
@pytest.mark.parametrize("name", FEED_FILES)
def test_real_feed_ingests_with_correct_text_and_dates(
    name: str, realdata: Path, feed_server: FeedServer, tmp_path: Path
) -> None:
    data = (realdata / "feeds" / name).read_bytes()
    url = feed_server.add("/" + name, data, content_type="application/xml")
    config = write_config(tmp_path / "cfg", [feed_entry("real", url, language=None)],
                          fetch={"max_bytes": 5_000_000})
    with open_store(str(tmp_path / "real.db")) as store:
        report = ingest_once(config, store)
        outcome = report.sources[0]
        articles = list(store.iter_articles())
        health = store.get_source_health("real")

    if name in UNREADABLE:
        assert outcome.error and not articles
        assert health.last_error == outcome.error and health.consecutive_failures == 1
        return
    assert outcome.error is None, outcome.error
    assert outcome.new == len(articles) and health.last_success is not None
    titles = {a.title for a in articles}
    texts = " ".join(f"{a.title} {a.summary}" for a in articles)
    for article in articles:
        assert "\ufffd" not in article.title and "Ã" not in article.title
        assert article.published_at is None or article.published_at.tzinfo == UTC

    expected = _xml_items(data)
    if expected:
        for title, when in expected[:5]:
            if not title or "Ã" in title:  # mojibake in the source: see ENCODED_TEXT
                continue
            assert title in titles
            if when is not None:
                match = [a for a in articles if a.title == title]
                assert any(a.published_at == when for a in match), (title, when)
    if name in ENCODED_TEXT:
        assert ENCODED_TEXT[name] in texts
    if name in ODD_DATES:
        assert ODD_DATES[name] in {a.published_at for a in articles}
    if name in UNKNOWN_DATES:
        assert all(a.published_at is None for a in articles)


@pytest.mark.realdata
def test_big5_feed_title_is_decoded(realdata: Path) -> None:
    from ingest.feeds import parse_feed
    from ingest.sources import Source

    source = Source(id="big5", kind="feed", url="http://127.0.0.1/", outlet="x", domain="x")
    parsed = parse_feed((realdata / "feeds/feedparser-chardet/big5.xml").read_bytes(), source)
    assert parsed.error is None and parsed.title.startswith("我希望")
    assert "成中文" in parsed.title
