"""`cityradar demo --no-ui` builds the SYNTHETIC corpus end to end (real tagger, real SQLite
store, real detector) and finds the Wuhan/Beijing 2020 pattern, and nothing much else."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def run_demo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cityradar.cli", *args],
        cwd=cwd, capture_output=True, text=True, timeout=290,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("CITYRADAR_")},
             "PYTHONPATH": str(REPO_ROOT)},
    )


def parse_table(stdout: str) -> list[dict[str, str]]:
    lines = [line for line in stdout.splitlines() if line.strip()]
    header_index = next(i for i, line in enumerate(lines) if line.split()[:2] == ["city", "kind"])
    header = lines[header_index].split()
    return [dict(zip(header, line.split(), strict=True)) for line in lines[header_index + 1:]]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], Path]:
    workdir = tmp_path_factory.mktemp("demo")
    db = workdir / "demo.db"
    result = run_demo("demo", "--no-ui", "--db", str(db), cwd=workdir)
    return result, db


def test_demo_finds_the_wuhan_and_beijing_surges(demo_run):
    result, _db = demo_run
    assert result.returncode == 0, result.stderr[-2000:]
    episodes = parse_table(result.stdout)
    whole = [e for e in episodes if e["group"] == "all"]

    def starts(city: str, kind: str) -> list[date]:
        return [date.fromisoformat(e["start"]) for e in whole
                if e["city"] == city and e["kind"] == kind]

    assert any(date(2019, 12, 31) <= d <= date(2020, 1, 23)
               for d in starts("wuhan", "volume_surge")), result.stdout
    # A multi-day run starts on its first high day: since tagger 1.9.0 that is 30 December,
    # when both background reports on Wuhan were negative (smog, a party chief replaced)
    # just before the outbreak stories begin on the 31st.
    assert any(date(2019, 12, 30) <= d <= date(2020, 1, 23)
               for d in starts("wuhan", "negative_spike")), result.stdout
    assert any(date(2020, 6, 11) <= d <= date(2020, 6, 16)
               for d in starts("beijing", "volume_surge")), result.stdout
    per_city = Counter(e["city"] for e in whole if e["city"] not in ("wuhan", "beijing"))
    assert all(n <= 1 for n in per_city.values()), result.stdout


def test_demo_reports_progress_and_step_timings(demo_run):
    result, db = demo_run
    assert "tag+store:" in result.stderr
    for step in ("generate", "tag", "store", "detect"):
        assert f"{step} " in result.stderr.split("timings:")[-1]
    with sqlite3.connect(db) as connection:
        (value,) = connection.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()
    assert value > 0


def test_demo_rebuilds_its_own_store_but_refuses_a_foreign_one(tmp_path):
    foreign = tmp_path / "precious.db"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
        connection.execute("INSERT INTO notes VALUES ('keep me')")
    result = run_demo("demo", "--no-ui", "--db", str(foreign), "--scale", "2000", cwd=tmp_path)
    assert result.returncode != 0
    assert "refusing to overwrite" in result.stderr
    with sqlite3.connect(foreign) as connection:
        assert connection.execute("SELECT text FROM notes").fetchall() == [("keep me",)]
