"""`cityradar topics` on a hand-made SQLite store."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from cityradar.cli import cli
from search.sqlite_store import SQLiteStore
from tests.test_planner import COMPARE, PERIOD, _market_story


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "store.db"
    store = SQLiteStore(path)
    _market_story(store)
    store.close()
    return str(path)


def run(db: str, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["--db", db, "topics", *args])


def test_json_lists_markets_topics_by_kind_and_changes(db: str) -> None:
    result = run(db, "--city", "chengdu", "--city", "chongqing", "--from", str(PERIOD[0]),
                 "--to", str(PERIOD[1]), "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["comparison"] == [str(COMPARE[0]), str(COMPARE[1])]
    assert "binomial" in doc["test"]
    markets = doc["markets"]["chengdu"]
    assert [m["market"] for m in markets][:2] == ["JP", "US"]
    japan = markets[0]
    assert japan["rising"] == ["food"]
    us = markets[1]
    assert [t["topic"] for t in us["topics"]] == ["sport_events", "crime_safety"]
    assert [t["topic"] for t in us["risk"]] == ["crime_safety"]
    assert any(p["city"] == "chongqing" and p["market"] == "JP" for p in doc["peers"])
    assert doc["picked_up"] == {"chengdu": [], "chongqing": []}


def test_csv_and_table_and_default_period(db: str) -> None:
    result = run(db, "--city", "chengdu", "--by", "language", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert rows and {r["market"] for r in rows} == {"en"}
    table = run(db, "--city", "chengdu", "--from", str(PERIOD[0]), "--to", str(PERIOD[1]))
    assert table.exit_code == 0, table.output
    assert "== chengdu ==" in table.output and "rising" in table.output
    # a planner reads topic names and labelled columns, not ids
    assert re.search(r"opportunity Food & cuisine +\d+ +\d+ [+-]\d\.\d\d", table.output)
    assert "kind        topic                    reports  before  tone  neg  trend" in table.output


@pytest.mark.parametrize(("args", "message"), [
    (["--city", "atlantis"], "unknown city atlantis"),
    (["--city", "chengdu", "--from", "2020-13-01"], "not a date"),
    (["--city", "chengdu", "--from", "2020-03-10", "--to", "2020-03-01"], "before it starts"),
    (["--city", "chengdu", "--compare-from", "2020-01-01"], "give both"),
])
def test_bad_input_is_one_line(db: str, args: list[str], message: str) -> None:
    result = run(db, *args)
    assert result.exit_code == 2
    assert message in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and message in errors[0]  # one line saying why
