"""Backtest the detectors on a count series file: ``date,city,count[,negative]`` CSV.

Uses the same code path as ``update_alerts`` (``alerts.run_detection.detect_cities``), so thresholds
tuned here behave the same on stored coverage. Missing dates count as 0.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from alerts.detectors import DailySeries, DetectorConfig
from alerts.episodes import Episode
from alerts.run_detection import detect_cities
from cityradar.files import read_utf8_text

REQUIRED_COLUMNS = ("date", "city", "count")
ROW_FIELDS = ("city", "kind", "start", "peak", "end", "observed", "expected", "severity")


class SeriesFileError(ValueError):
    """The series file cannot be used; the message names the file and line."""


@dataclass(slots=True)
class BacktestRow:
    city: str
    episode: Episode

    def as_dict(self) -> dict[str, object]:
        return {"city": self.city, **self.episode.as_row()}


def _number(text: str, column: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SeriesFileError(f"{where}: {column} {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or value != int(value):
        raise SeriesFileError(f"{where}: {column} {text!r} is not a whole number >= 0")
    return value


def read_series_csv(path: Path) -> dict[str, DailySeries]:
    """Per-city daily series over the file's whole date range (missing days are 0)."""
    text = read_utf8_text(path, SeriesFileError)
    counts: dict[str, dict[date, float]] = defaultdict(dict)
    negative: dict[str, dict[date, float]] = defaultdict(dict)
    with io.StringIO(text, newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            raise SeriesFileError(f"{path}: empty file (expected header date,city,count)") from None
        except csv.Error as exc:
            raise SeriesFileError(f"{path}:1: unreadable header ({exc})") from exc
        if tuple(header[:3]) != REQUIRED_COLUMNS or header[3:] not in ([], ["negative"]):
            raise SeriesFileError(
                f"{path}:1: header must be date,city,count[,negative], got {','.join(header)}"
            )
        has_negative = len(header) == 4
        try:
            for row in reader:
                where = f"{path}:{reader.line_num}"
                if not row or all(not cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise SeriesFileError(
                        f"{where}: expected {len(header)} fields, got {len(row)}"
                    )
                day_text, city, count_text = (cell.strip() for cell in row[:3])
                try:
                    day = date.fromisoformat(day_text)
                except ValueError:
                    raise SeriesFileError(
                        f"{where}: date {day_text!r} is not YYYY-MM-DD"
                    ) from None
                if not city:
                    raise SeriesFileError(f"{where}: empty city")
                if day in counts[city]:
                    raise SeriesFileError(f"{where}: duplicate row for {city} on {day}")
                counts[city][day] = _number(count_text, "count", where)
                if has_negative:
                    value = _number(row[3].strip(), "negative", where)
                    if value > counts[city][day]:
                        raise SeriesFileError(f"{where}: negative {value:g} exceeds count")
                    negative[city][day] = value
        except csv.Error as exc:
            raise SeriesFileError(f"{path}:{reader.line_num}: unreadable row ({exc})") from exc
    if not counts:
        raise SeriesFileError(f"{path}: no data rows")
    first = min(min(days) for days in counts.values())
    last = max(max(days) for days in counts.values())
    return {
        city: DailySeries.from_days(
            counts[city], negative[city] if has_negative else None, start=first, end=last
        )
        for city in sorted(counts)
    }


def backtest(series_by_city: dict[str, DailySeries], config: DetectorConfig) -> list[BacktestRow]:
    """Every episode both detectors find, ordered by city, start, kind."""
    rows = [
        BacktestRow(city, episode)
        for city, detections in detect_cities(series_by_city, config).items()
        for detection in detections
        for episode in detection.episodes
    ]
    rows.sort(key=lambda r: (r.city, r.episode.start, r.episode.kind))
    return rows


def json_lines(rows: list[BacktestRow]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(row.as_dict(), ensure_ascii=False)


def format_table(rows: list[BacktestRow]) -> str:
    if not rows:
        return "no episodes"
    cells = [list(ROW_FIELDS)]
    for row in rows:
        data = row.as_dict()
        cells.append([
            str(data["city"]), str(data["kind"]), str(data["start"]), str(data["peak"]),
            str(data["end"]) + (" (open)" if row.episode.is_open else ""),
            f"{row.episode.observed:g}", f"{row.episode.expected:.1f}",
            f"{row.episode.severity:.1f}",
        ])
    widths = [max(len(line[i]) for line in cells) for i in range(len(ROW_FIELDS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    )
