"""GDELT Events 2.0 / GKG 2.1 files: streamed from zip, filtered to our cities, GDELT data kept."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from cityradar.records import Tags
from ingest.gdelt_files import (
    EVENT_COLUMNS,
    GKG_COLUMNS,
    ParseStats,
    apply_gdelt_cities,
    iter_events,
    iter_gkg,
    merge_duplicates,
    title_from_url,
)
from ingest.normalize import article_id, canonical_url
from nlp.gazetteer import load_cities
from tests.conftest import CONFIG_DIR


@pytest.fixture(scope="module")
def cities():
    return load_cities(CONFIG_DIR)


def event_row(event_id: str, url: str, full_name: str, country: str = "CH",
              feature_id: str = "", tone: str = "-3.5", num_articles: str = "10",
              sqldate: str = "20200123", dateadded: str = "20200124063000") -> str:
    """One Events 2.0 export line with the 61 columns of the codebook."""
    fields = [""] * EVENT_COLUMNS
    fields[0], fields[1], fields[2], fields[3] = event_id, sqldate, sqldate[:6], sqldate[:4]
    fields[26], fields[33], fields[34] = "0231", num_articles, tone
    fields[51], fields[52], fields[53] = "4", full_name, country
    fields[58], fields[59], fields[60] = feature_id, dateadded, url
    return "\t".join(fields)


def gkg_row(record_id: str, url: str, locations: list[tuple[str, str, str]],
            tone: str = "-2.5,1.2,3.7,4.9,20.1,0,500", themes: str = "",
            translation: str = "", date: str = "20200124061500", collection: str = "1",
            source_name: str = "example.com", v1_locations: str = "") -> str:
    """One GKG 2.1 line with the 27 columns of the codebook; locations are
    (full name, country, feature id)."""
    fields = [""] * GKG_COLUMNS
    fields[0], fields[1], fields[2], fields[3], fields[4] = (
        record_id, date, collection, source_name, url)
    fields[8] = themes
    fields[9] = v1_locations
    fields[10] = ";".join(f"4#{name}#{country}#CH12#13116#30.58#114.27#{feature}#120"
                          for name, country, feature in locations)
    fields[15], fields[25] = tone, translation
    return "\t".join(fields)


def zipped(lines: list[str], member: str = "data.CSV") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, "".join(line + "\n" for line in lines))
    return buffer.getvalue()


EVENTS = [
    event_row("1", "https://news.example.com/world/wuhan-lockdown-begins.html",
              "Wuhan, Hubei, China", tone="-6.25"),
    event_row("2", "https://news.example.com/world/wuhan-lockdown-begins.html",
              "Wuhan, Hubei, China", tone="-6.25"),  # a second event from the same article
    event_row("3", "https://news.example.com/asia/suzhou-anhui-floods", "Suzhou, Anhui, China"),
    event_row("4", "https://news.example.com/us/ohio-canton-fair", "Canton, Ohio, United States",
              country="US"),
    event_row("5", "https://news.example.com/china/xian-terracotta?utm_source=x",
              "Xi'an, Shaanxi, China", tone="2.0", sqldate="20200120"),
    "1\t20200123\tCH\ttoo few columns",
]


def test_events_keep_only_our_cities_with_gdelt_tone_and_counts(tmp_path: Path, cities) -> None:
    path = tmp_path / "20200124063000.export.CSV.zip"
    path.write_bytes(zipped(EVENTS))
    stats = ParseStats()
    articles = list(iter_events(path, cities, stats=stats))

    assert [a.extras["gdelt"]["cities"] for a in articles] == [["wuhan"], ["wuhan"], ["xian"]]
    assert (stats.rows, stats.matched, stats.broken) == (6, 3, 1)
    wuhan = articles[0]
    assert wuhan.id == article_id(canonical_url(wuhan.url))
    assert wuhan.extras["gdelt"]["tone"] == -6.25
    assert wuhan.extras["gdelt"]["num_articles"] == 10
    assert wuhan.extras["gdelt"]["sqldate"] == "20200123"
    assert wuhan.published_at.isoformat() == "2020-01-24T06:30:00+00:00"  # DATEADDED
    assert wuhan.title == "wuhan lockdown begins"
    assert "utm_source" not in articles[2].url  # canonical URL via ingest.normalize

    merged = merge_duplicates(articles)
    assert len(merged) == 2
    assert merged[0].extras["gdelt"]["event_ids"] == ["1", "2"]


def test_gkg_cities_language_tone_themes_from_a_file_object(cities) -> None:
    lines = [
        gkg_row("r1", "https://lemonde.example.fr/international/article/pekin-confinement",
                [("Beijing, Beijing, China", "CH", "-1898541"),
                 ("Paris, Ile-de-France, France", "FR", "-1456928")],
                themes="HEALTH_PANDEMIC,10;TAX_DISEASE,55;HEALTH_PANDEMIC,80",
                translation="srclc:fra;eng:GT-FRA 1.0"),
        gkg_row("r2", "https://example.com/suzhou-gardens-reopen",
                [("Suzhou, Jiangsu, China", "CH", "-1886760")], tone="3.1,5,1.9,6.9,20,0,300"),
        gkg_row("r3", "https://example.com/anhui-suzhou",
                [("Suzhou, Anhui, China", "CH", "-1886762")]),
        gkg_row("r4", "https://example.com/not-china", [("Berlin, Berlin, Germany", "GM", "1")]),
        gkg_row("r5", "ISBN 12345", [("Wuhan, Hubei, China", "CH", "-1")], collection="2"),
        gkg_row("r6", "https://example.com/v1-only-wuhan", [],
                v1_locations="4#Wuhan, Hubei, China#CH#CH12#30.58#114.27#-1930776"),
        "broken\tline\tabout #CH# only",
    ]
    stats = ParseStats()
    articles = list(iter_gkg(io.BytesIO(zipped(lines, "x.gkg.csv")), cities, stats=stats))

    assert [a.extras["gdelt"]["cities"] for a in articles] == [["beijing"], ["suzhou"],
                                                                ["wuhan"]]
    assert (stats.matched, stats.skipped, stats.broken) == (3, 1, 1)
    beijing = articles[0]
    assert beijing.language_hint == "fr"
    assert beijing.extras["gdelt"]["tone"] == -2.5
    assert beijing.extras["gdelt"]["themes"] == ["HEALTH_PANDEMIC", "TAX_DISEASE"]
    assert beijing.extras["gdelt"]["locations"] == ["Beijing, Beijing, China"]
    assert beijing.published_at.isoformat() == "2020-01-24T06:15:00+00:00"
    assert beijing.outlet == "example.com"
    assert articles[1].language_hint == "en"
    assert articles[1].extras["gdelt"]["tone"] == 3.1


def test_configured_feature_ids_win_over_names(cities) -> None:
    lines = [event_row("9", "https://example.com/a-b-c", "Hankou district, China",
                       feature_id="-9999")]
    articles = list(iter_events(io.BytesIO(zipped(lines)), cities,
                                feature_ids={"wuhan": ["-9999"]}))
    assert [a.extras["gdelt"]["cities"] for a in articles] == [["wuhan"]]


def test_plain_text_file_and_bad_bytes_do_not_lose_the_rest(tmp_path: Path, cities) -> None:
    path = tmp_path / "events.csv"
    good = event_row("1", "https://example.com/wuhan-news", "Wuhan, Hubei, China")
    path.write_bytes(b"\xff\xfe broken \tCH\t\n" + good.encode() + b"\n")
    stats = ParseStats()
    assert len(list(iter_events(path, cities, stats=stats))) == 1
    assert stats.broken == 1


def test_untagged_articles_get_gdelt_cities_and_tone(cities) -> None:
    lines = [event_row("1", "https://example.com/wuhan-news", "Wuhan, Hubei, China",
                       tone="-6")]
    article = apply_gdelt_cities(list(iter_events(io.BytesIO(zipped(lines)), cities)))[0]
    assert article.tags.cities == {"wuhan": 0.5}
    assert article.tags.sentiment == pytest.approx(-0.6)
    assert article.tags.sentiment_label == "negative"

    tagged = next(iter_events(io.BytesIO(zipped(lines)), cities))
    tagged.tags = Tags(language="en", cities={"beijing": 0.9}, sentiment=0.2)
    apply_gdelt_cities([tagged])
    assert tagged.tags.cities == {"beijing": 0.9, "wuhan": 0.5}


def test_title_from_url() -> None:
    assert title_from_url("https://x.com/2020/01/23/wuhan-virus-spreads.html") == (
        "wuhan virus spreads")
    assert title_from_url("https://x.com/a/12345") == ""
