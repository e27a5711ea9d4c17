"""`cityradar import FILE`: news-database exports and JSON lines into the real SQLite store."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from cityradar.cli import cli
from ingest.file_import import cell_date, decode_bytes
from search import ArticleFilter, open_store
from tests.conftest import CONFIG_DIR

CITIES = ["Wuhan", "Beijing", "Shanghai", "Chengdu", "Shenzhen"]
TOPICS = ["metro line", "panda base", "tech fair", "marathon", "food festival", "airport",
          "hospital", "university", "bridge", "museum"]


def export_rows(count: int) -> list[list[str]]:
    """A Factiva-like export: distinct stories with their own headline, link and date."""
    rows = []
    for i in range(count):
        city, topic = CITIES[i % len(CITIES)], TOPICS[i % len(TOPICS)]
        rows.append([
            f"{city} {topic} story number {i} draws attention",
            f"https://www.example{i % 7}.com/world/{i}?utm_source=export",
            f"{1 + i % 28:02d}/0{1 + i % 6}/2020 10:{i % 60:02d}",
            f"Example Outlet {i % 7}",
            f"Report {i}: the {topic} in {city} was discussed by {i * 3 + 7} residents "
            f"and officials on day {i}.",
        ])
    return rows


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8",
              delimiter: str = ",") -> Path:
    with path.open("w", encoding=encoding, newline="") as out:
        writer = csv.writer(out, delimiter=delimiter)
        writer.writerow(["Headline", "Link", "Date", "Source", "Lead Paragraph"])
        writer.writerows(rows)
    return path


def run(tmp_path: Path, *args: str):
    return CliRunner().invoke(cli, ["--db", str(tmp_path / "radar.db"), "--config",
                                    str(CONFIG_DIR), "import", *args])


def stored(tmp_path: Path, filters: ArticleFilter | None = None) -> int:
    store = open_store(str(tmp_path / "radar.db"))
    try:
        return store.count(filters or ArticleFilter())
    finally:
        store.close()


MAPPING = "title=Headline,url=Link,published_at=Date,outlet=Source,summary=Lead Paragraph"


def test_csv_with_one_percent_broken_rows_imports_the_rest_and_names_the_lines(tmp_path):
    rows = export_rows(300)
    rows[49][2] = "the 32nd of Smarch"  # line 51: an unreadable date
    rows[149] = rows[149][:2]  # line 151: a truncated row
    rows[249][1] = "javascript:void(0)"  # line 251: not a link
    path = write_csv(tmp_path / "export.csv", rows)
    errors = tmp_path / "bad.csv"

    result = run(tmp_path, str(path), "--map", MAPPING, "--date-format", "%d/%m/%Y %H:%M",
                 "--errors", str(errors), "--no-tag")

    assert result.exit_code == 0, result.output
    assert "297 imported" in result.stdout
    assert "3 bad rows on lines 51, 151, 251" in result.stdout
    assert "line 51: " in result.stderr and "line 151: expected 5 fields" in result.stderr
    assert stored(tmp_path) == 297
    bad = list(csv.reader(errors.open(encoding="utf-8")))
    assert bad[0][0] == "Headline" and len(bad) == 4
    assert bad[1][2] == "the 32nd of Smarch"


def test_import_again_adds_nothing_and_still_succeeds(tmp_path):
    path = write_csv(tmp_path / "export.csv", export_rows(20))
    assert run(tmp_path, str(path), "--map", MAPPING, "--no-tag").exit_code == 0
    again = run(tmp_path, str(path), "--map", MAPPING, "--no-tag")
    assert again.exit_code == 0
    assert "(0 new, 20 already stored" in again.stdout
    assert stored(tmp_path) == 20


def test_a_file_with_no_good_row_exits_1(tmp_path):
    rows = [["", "", "2020-01-01", "X", ""], ["", "ftp://x/y", "2020-01-01", "X", ""]]
    result = run(tmp_path, str(write_csv(tmp_path / "bad.csv", rows)), "--no-tag")
    assert result.exit_code == 1
    assert "nothing imported" in result.output


def test_windows_1252_semicolon_export_without_mapping_is_read(tmp_path):
    rows = [["Pékin: la fête du printemps à Chaoyang réunit des milliers de visiteurs",
             "https://www.lemonde.fr/international/article/1", "2020-01-25", "",
             "Les habitants de Pékin célèbrent le Nouvel An lunaire malgré l'épidémie."]]
    path = write_csv(tmp_path / "lemonde.csv", rows * 1 + export_rows(3), "cp1252", ";")
    result = run(tmp_path, str(path), "--no-tag")
    assert result.exit_code == 0, result.output
    store = open_store(str(tmp_path / "radar.db"))
    try:
        titles = {a.title: a for a in store.iter_articles()}
    finally:
        store.close()
    lemonde = titles[rows[0][0]]  # accents intact: the encoding was detected
    assert lemonde.outlet == "Le Monde" and lemonde.country == "FR"  # from the outlet registry


def test_utf8_bom_header_is_recognised(tmp_path):
    path = write_csv(tmp_path / "bom.csv", export_rows(5), "utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    result = run(tmp_path, str(path), "--map", "summary=Lead Paragraph", "--no-tag")
    assert result.exit_code == 0, result.output
    assert stored(tmp_path) == 5


def test_jsonl_keeps_given_tags_tags_the_rest_and_reports_bad_lines(tmp_path):
    tagged = {"url": "https://www.bbc.com/news/world-asia-china-1", "title":
              "Wuhan lockdown lifted after 76 days", "published_at": "2020-04-08T00:00:00Z",
              "tags": {"language": "en", "cities": {"wuhan": 1.0}, "sentiment": 0.2,
                       "sentiment_label": "positive", "tagger_version": "given"}}
    minimal = {"url": "https://www.cgtn.com/news/2", "title":
               "Chengdu giant panda base welcomes visitors back", "published_at": "2020-04-09"}
    lines = [json.dumps(tagged), "{not json", json.dumps(minimal), json.dumps(["a list"])]
    path = tmp_path / "articles.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = run(tmp_path, str(path))

    assert result.exit_code == 0, result.output
    assert "line 2: invalid JSON" in result.stderr and "line 4: expected a JSON object" in \
        result.stderr
    store = open_store(str(tmp_path / "radar.db"))
    try:
        by_url = {a.url: a for a in store.iter_articles()}
    finally:
        store.close()
    kept = by_url["https://www.bbc.com/news/world-asia-china-1"]
    assert kept.tags is not None and kept.tags.tagger_version == "given"
    cgtn = by_url["https://www.cgtn.com/news/2"]
    assert cgtn.voice == "own" and cgtn.tags is not None and cgtn.tags.tagger_version != "given"
    assert stored(tmp_path, ArticleFilter(voice="own")) == 1


def test_syndicated_copies_in_an_export_are_one_story(tmp_path):
    summary = ("Authorities in Wuhan said on Tuesday that 17 new infections had been found and "
               "residents of three districts would be tested as schools remained closed.")
    rows = [[f"Wuhan widens testing after new cases - Outlet {i}",
             f"https://outlet{i}.example/wuhan", f"2020-05-1{i % 3} 08:00",
             f"Outlet {i}", summary.replace("Tuesday", "Tuesday" if i % 2 else "Tue")]
            for i in range(10)]
    path = write_csv(tmp_path / "wire.csv", rows)
    result = run(tmp_path, str(path), "--map", MAPPING, "--no-tag")
    assert result.exit_code == 0, result.output
    assert "9 syndicated copies" in result.stdout
    assert stored(tmp_path) == 10
    assert stored(tmp_path, ArticleFilter(unique_stories=True)) == 1


def test_bad_options_are_one_line_usage_errors(tmp_path):
    path = write_csv(tmp_path / "x.csv", export_rows(2))
    unknown = run(tmp_path, str(path), "--map", "headline=Headline")
    assert unknown.exit_code == 2 and "unknown field 'headline'" in unknown.output
    missing = run(tmp_path, str(path), "--map", "title=Titel")
    assert missing.exit_code == 1 and "no such column" in missing.output
    absent = run(tmp_path, str(tmp_path / "nope.csv"))
    assert absent.exit_code == 1 and "no such file" in absent.output


@pytest.mark.parametrize("text, expected", [
    ("2020-01-21T10:00:00+08:00", datetime(2020, 1, 21, 2, 0, tzinfo=UTC)),
    ("21 January 2020", datetime(2020, 1, 21, tzinfo=UTC)),
    ("Jan 21, 2020 10:00 AM", datetime(2020, 1, 21, 10, 0, tzinfo=UTC)),
    ("1579600800", datetime(2020, 1, 21, 10, 0, tzinfo=UTC)),
    ("", None),
])
def test_dates_in_export_formats(text, expected):
    assert cell_date(text) == expected


def test_unreadable_date_is_an_error_not_a_guess():
    with pytest.raises(ValueError):
        cell_date("sometime last week")
    with pytest.raises(ValueError):
        cell_date("2020-01-21", "%d/%m/%Y")


def test_encodings():
    assert decode_bytes("Ухань".encode("utf-16")) == ("Ухань", "utf-16")
    chinese = "武汉市新增病例，全市开展核酸检测。北京、上海也加强防控。"
    text, encoding = decode_bytes(chinese.encode("gb18030"))
    assert "武汉" in text and encoding.lower().replace("_", "") in {"gb18030", "gbk", "gb2312"}
