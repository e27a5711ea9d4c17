"""`cityradar export`: articles and alerts streamed from a real SQLite store as JSON lines,
CSV and Parquet, read back with json, csv and pyarrow."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from cityradar.cli import cli
from search import open_store
from tests.contract.factories import make_alert, make_article


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "export.db"
    articles = [make_article(published_at=f"2020-01-{1 + i:02d}",
                             cities=["wuhan"] if i % 3 else ["beijing"],
                             language="en" if i % 2 else "ru", sentiment=-0.5 if i % 4 else 0.3)
                for i in range(25)]
    articles[0].title = "=HYPERLINK(\"http://evil.example\",\"click\")"
    articles[1].title = "Вспышка коронавируса в Ухане"
    articles[1].extras = {"translation": {"model": "tiny-marian", "target": "en",
                                          "title": "Coronavirus outbreak in Wuhan"}}
    articles[2].body = "Full text of the third story, read from its page."
    articles[2].extras = {"fulltext": {"status": "ok", "excerpt": "Full text"}}
    alerts = [make_alert(city=c, start=s) for c, s in
              (("wuhan", date(2020, 1, 20)), ("beijing", date(2020, 6, 11)))]
    alerts[0].notes.append("=cmd|' /C calc'!A0")
    with open_store(str(path)) as store:
        store.upsert_articles(articles)
        for alert in alerts:
            store.upsert_alert(alert)
    return path


def run(db: Path, *args: str) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(cli, ["--db", str(db), "export", *args])
    return result.exit_code, result.stdout_bytes, result.stderr


def test_articles_jsonl_to_stdout_with_filters(db: Path) -> None:
    code, out, err = run(db, "articles", "--city", "wuhan", "--from", "2020-01-05",
                         "--to", "2020-01-20")
    assert code == 0, err
    records = [json.loads(line) for line in out.decode().splitlines()]
    days = [r["published_at"][:10] for r in records]
    assert days == sorted(days) and days[0] >= "2020-01-05" and days[-1] <= "2020-01-20"
    assert all("wuhan" in r["tags"]["cities"] for r in records)
    with open_store(str(db)) as store:
        from search.store import ArticleFilter

        expected = store.count(ArticleFilter(cities=["wuhan"], date_from=date(2020, 1, 5),
                                             date_to=date(2020, 1, 20)))
    assert len(records) == expected > 0
    assert f"exported {expected} articles as jsonl" in err


def test_articles_csv_is_spreadsheet_safe_and_carries_translations(db: Path,
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "articles.csv"
    code, _out, err = run(db, "articles", "--format", "csv", "--out", str(out), "--with-body")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 25
    by_title = {r["title"]: r for r in rows}
    assert "'=HYPERLINK(\"http://evil.example\",\"click\")" in by_title  # not a formula
    russian = by_title["Вспышка коронавируса в Ухане"]
    assert russian["title_translated"] == "Coronavirus outbreak in Wuhan"
    assert russian["translation_model"] == "tiny-marian"
    bodies = [r for r in rows if r["body"]]
    assert len(bodies) == 1 and bodies[0]["full_text_status"] == "ok"
    assert not (tmp_path / "articles.csv.partial").exists()


def test_articles_parquet_in_batches(db: Path, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import search.export

    monkeypatch.setattr(search.export, "PARQUET_BATCH", 4)  # several row groups
    out = tmp_path / "articles.parquet"
    code, _out, err = run(db, "articles", "--format", "parquet", "--out", str(out),
                          "--language", "ru")
    assert code == 0, err
    parquet = pq.ParquetFile(out)
    table = parquet.read()
    assert table.num_rows == 13 and parquet.num_row_groups == 4
    assert set(table.column("language").to_pylist()) == {"ru"}
    assert str(table.schema.field("published_at").type) == "timestamp[us, tz=UTC]"
    assert "body" not in table.column_names


def test_alerts_csv_and_jsonl(db: Path, tmp_path: Path) -> None:
    code, out, err = run(db, "alerts", "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out.decode("utf-8"))))
    assert [r["city"] for r in rows] == ["beijing", "wuhan"]  # newest first
    assert rows[1]["notes"].startswith("'=cmd")
    assert rows[1]["stories"] == "a1;a2"
    code, out, _err = run(db, "alerts", "--city", "wuhan")
    (record,) = [json.loads(line) for line in out.decode().splitlines()]
    assert record["city"] == "wuhan" and record["evidence"]["stories"] == ["a1", "a2"]


def test_bad_input_is_one_line(db: Path, tmp_path: Path) -> None:
    code, _out, err = run(db, "articles", "--format", "parquet")
    assert code == 2 and "--out FILE" in err
    code, _out, err = run(db, "articles", "--from", "2020-02-01", "--to", "2020-01-01")
    assert code == 2 and "--from is after --to" in err
    code, _out, err = run(db, "alerts", "--format", "xml")
    assert code == 2
    code, _out, err = run(db, "articles", "--out", str(tmp_path / "missing" / "x.jsonl"))
    assert code == 1 and "cannot write" in err and len(err.strip().splitlines()) == 1
