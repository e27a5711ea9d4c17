"""`cityradar backtest SERIES.csv`: the detectors over a count series file."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cityradar.cli import cli
from tests.conftest import CONFIG_DIR

START = date(2019, 7, 1)
SURGE = date(2019, 11, 4)


def write_series(path: Path, skip_zero_days: bool = True, with_negative: bool = True) -> Path:
    """Two cities: "calm" (nothing happens) and "surging" (a surge from SURGE)."""
    rng = np.random.default_rng(21)
    lines = ["date,city,count,negative" if with_negative else "date,city,count"]
    for i in range(200):
        day = START + timedelta(days=i)
        for city, level in (("calm", 2.0), ("surging", 2.0)):
            count = int(rng.poisson(level))
            if city == "surging" and SURGE <= day < SURGE + timedelta(days=10):
                count = int(rng.poisson(40))
            negative = int(rng.binomial(count, 0.8 if count > 20 else 0.2))
            if count == 0 and skip_zero_days:
                continue  # missing dates mean 0
            lines.append(f"{day},{city},{count}" + (f",{negative}" if with_negative else ""))
    path.write_text("\n".join(lines) + "\n")
    return path


def run(*args: str):
    return CliRunner().invoke(cli, ["--config", str(CONFIG_DIR), "backtest", *args])


def test_json_lines_list_the_surge_with_exactly_the_episode_fields(tmp_path):
    result = run(str(write_series(tmp_path / "series.csv")), "--json")

    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert {(r["city"], r["kind"]) for r in rows} == {
        ("surging", "volume_surge"), ("surging", "negative_spike")
    }
    for row in rows:
        assert list(row) == ["city", "kind", "start", "peak", "end", "observed", "expected",
                             "severity"]
        start = date.fromisoformat(row["start"])
        assert abs((start - SURGE).days) <= 1
        assert date.fromisoformat(row["peak"]) <= date.fromisoformat(row["end"])
        assert row["observed"] > row["expected"]


def test_missing_dates_count_as_zero(tmp_path):
    sparse = run(str(write_series(tmp_path / "sparse.csv", skip_zero_days=True)), "--json")
    dense = run(str(write_series(tmp_path / "dense.csv", skip_zero_days=False)), "--json")

    assert sparse.exit_code == 0, sparse.output
    assert sparse.output == dense.output


def test_table_output_and_count_only_series(tmp_path):
    result = run(str(write_series(tmp_path / "s.csv", with_negative=False)))

    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert header.split() == ["city", "kind", "start", "peak", "end", "observed", "expected",
                              "severity"]
    assert len(rows) == 1
    assert rows[0].split()[:2] == ["surging", "volume_surge"]


def test_detector_settings_come_from_the_config_option(tmp_path):
    series = write_series(tmp_path / "s.csv")
    strict = tmp_path / "strict"
    strict.mkdir()
    (strict / "alerts.yaml").write_text(
        "volume:\n  min_ratio: 1000\n  run_min_ratio: 1000\n"
        "negative:\n  min_ratio: 1000\n  run_min_ratio: 1000\n"
    )

    result = run(str(series), "--json", "--config", str(strict))

    assert result.exit_code == 0, result.output
    assert result.output == ""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("date,city,count\n2020-01-01,wuhan,3\n2020-01-32,wuhan,4\n",
         "s.csv:3: date '2020-01-32' is not YYYY-MM-DD"),
        ("date,city,count\n2020-01-01,wuhan,many\n", "s.csv:2: count 'many' is not a number"),
        ("date,city,count\n2020-01-01,wuhan,-1\n", "s.csv:2: count '-1' is not a whole number"),
        ("date,city,count\n2020-01-01,wuhan\n", "s.csv:2: expected 3 fields, got 2"),
        ("date,city,count,negative\n2020-01-01,wuhan,3,5\n", "s.csv:2: negative 5 exceeds"),
        ("date,city,count\n2020-01-01,wuhan,3\n2020-01-01,wuhan,4\n",
         "s.csv:3: duplicate row for wuhan on 2020-01-01"),
        ("day,place,n\n2020-01-01,wuhan,3\n", "s.csv:1: header must be date,city,count"),
        ("", "s.csv: empty file"),
        ("date,city,count\n", "s.csv: no data rows"),
    ],
)
def test_malformed_series_is_a_one_line_error_naming_the_line(tmp_path, content, message):
    path = tmp_path / "s.csv"
    path.write_text(content)

    result = run(str(path))

    assert result.exit_code == 1
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_missing_file_is_a_usage_error(tmp_path):
    result = run(str(tmp_path / "nope.csv"))
    assert result.exit_code == 2
    assert "nope.csv" in result.output


def test_bad_alerts_config_is_a_one_line_error(tmp_path):
    series = write_series(tmp_path / "s.csv")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "alerts.yaml").write_text("episodes:\n  cooldown_days: 0\n")

    result = run(str(series), "--config", str(bad))

    assert result.exit_code == 1
    assert "cooldown_days must be >= 1" in result.output
