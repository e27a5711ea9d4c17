"""The City International Communication Influence Index (CICII) of the study (domain.md).

Four weighted dimensions, each the weighted mean of its indicators' scores; every indicator is
standardized on a log scale against a benchmark B: ``score = 100 * ln(x) / ln(B)``, clipped to
[0, 100] (x <= 1 scores 0). Dimensions, weights, indicators, benchmarks and tiers live in
``config/cicii.yaml``.

The two media indicators are measured from the store for the period (foreign voice; reach or
unique stories, as configured); every other value comes from an indicators CSV
(``city,indicator,value``), where a media value overrides the measured one. A city lacking a
value is listed in ``missing`` and gets no total, rank or tier (never a silent 0).

Imported indicator files are kept in the store's metadata under ``cicii:indicators:FROM:TO``
so the monthly report and the Overview page can show the index for their period.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from cityradar.config import ConfigError, ConfigModel, check, load_yaml, validate
from cityradar.files import read_utf8_text

META_PREFIX = "cicii:indicators:"
DIMENSION_IDS = ("media", "social", "innovation", "cognition")


class CiciiInputError(ValueError):
    """A bad indicators / benchmarks / dimensions file: the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Indicator:
    id: str
    label: str
    dimension: str
    weight: float
    benchmark: float
    measured: str | None = None  # "english" | "other": measured from the store


@dataclass(frozen=True, slots=True)
class Dimension:
    id: str
    label: str
    weight: float
    indicators: tuple[Indicator, ...]


@dataclass(frozen=True, slots=True)
class CiciiConfig:
    dimensions: tuple[Dimension, ...]
    tiers: tuple[float, ...]  # lower bounds of tiers 1, 2, ... (descending)
    media_measure: str = "reach"  # "reach" | "unique"

    @property
    def indicators(self) -> dict[str, Indicator]:
        return {i.id: i for d in self.dimensions for i in d.indicators}

    @classmethod
    def load(cls, config_dir: Path | str) -> CiciiConfig:
        path = Path(config_dir) / "cicii.yaml"
        data = validate(CiciiFile, load_yaml(path), path)
        dimensions: list[Dimension] = []
        seen: set[str] = set()
        for dim_id, dim in data.dimensions.items():
            indicators: list[Indicator] = []
            for ind_id, ind in dim.indicators.items():
                if ind_id in seen:
                    raise ConfigError(
                        f"{path}: dimensions.{dim_id}.indicators.{ind_id}: indicator listed twice")
                seen.add(ind_id)
                indicators.append(Indicator(ind_id, ind.label or ind_id, dim_id, ind.weight,
                                            ind.benchmark, ind.measured))
            dimensions.append(Dimension(dim_id, dim.label or dim_id, dim.weight,
                                        tuple(indicators)))
        total_weight = sum(d.weight for d in dimensions)
        if not math.isclose(total_weight, 1.0, abs_tol=1e-6):
            raise ConfigError(f"{path}: dimension weights sum to {total_weight}, not 1")
        return cls(tuple(dimensions), tuple(data.tiers), data.media_measure)


# The schema of cicii.yaml (cityradar.config.validate turns its errors into ConfigErrors).
class IndicatorSchema(ConfigModel):
    label: str | None = None
    weight: Annotated[float, Field(gt=0)]
    benchmark: Annotated[float, Field(gt=1)]
    measured: Literal["english", "other"] | None = None  # measured from the store


class DimensionSchema(ConfigModel):
    label: str | None = None
    weight: float
    indicators: Annotated[dict[str, IndicatorSchema],
                          check(bool, "at least one indicator is needed")]


class CiciiFile(ConfigModel):
    dimensions: dict[str, DimensionSchema]
    tiers: Annotated[list[float], check(lambda tiers: tiers == sorted(tiers, reverse=True),
                                        "must be descending lower bounds")]
    media_measure: Literal["reach", "unique"] = "reach"


def score(value: float, benchmark: float) -> float:
    """``100 * ln(x) / ln(B)`` clipped to [0, 100]; x <= 1 scores 0."""
    if benchmark <= 1:
        raise ValueError(f"benchmark must be > 1, got {benchmark}")
    if value <= 1:
        return 0.0
    return min(100.0, max(0.0, 100.0 * math.log(value) / math.log(benchmark)))


def tier_of(total: float, tiers: Sequence[float]) -> int:
    for number, bound in enumerate(tiers, start=1):
        if total >= bound:
            return number
    return len(tiers) + 1


# -- reading the CSV inputs ---------------------------------------------------------------------


def _rows(path: Path | str, columns: Sequence[str]) -> Iterable[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row; the header must hold ``columns``."""
    text = read_utf8_text(path, CiciiInputError)
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise CiciiInputError(f"{path}: empty file (expected a header {','.join(columns)})")
    names = [h.strip().lower() for h in header]
    if names[: len(columns)] != list(columns):
        raise CiciiInputError(f"{path}:1: header must be {','.join(columns)}, "
                              f"got {','.join(header)}")
    for row in reader:
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            raise CiciiInputError(f"{path}:{line}: expected {len(columns)} fields "
                                  f"({','.join(columns)}), got {len(row)}")
        yield line, {c: cell.strip() for c, cell in zip(columns, row, strict=True)}


def _number(text: str, path: Path | str, line: int, what: str) -> float:
    try:
        value = float(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise CiciiInputError(f"{path}:{line}: {what} is not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise CiciiInputError(f"{path}:{line}: {what} must be a finite number >= 0: {text!r}")
    return value


class CityNames:
    """Resolves a city written as id, English name or Chinese name to its id."""

    def __init__(self, cities: Iterable[Any]) -> None:
        self.ids: list[str] = []
        self.lookup: dict[str, str] = {}
        for city in cities:
            self.ids.append(city.id)
            for form in (city.id, city.name, city.zh, getattr(city, "zh_hant", "")):
                if form:
                    self.lookup[_fold(form)] = city.id

    def resolve(self, text: str) -> str | None:
        return self.lookup.get(_fold(text))


def _fold(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def read_indicators(path: Path | str, config: CiciiConfig, cities: CityNames
                    ) -> dict[str, dict[str, float]]:
    """city id -> indicator id -> value from a ``city,indicator,value`` CSV."""
    known = config.indicators
    values: dict[str, dict[str, float]] = {}
    for line, row in _rows(path, ("city", "indicator", "value")):
        city = cities.resolve(row["city"])
        if city is None:
            raise CiciiInputError(f"{path}:{line}: unknown city {row['city']!r}")
        if row["indicator"] not in known:
            raise CiciiInputError(f"{path}:{line}: unknown indicator {row['indicator']!r} "
                                  f"(known: {', '.join(known)})")
        value = _number(row["value"], path, line, "value")
        if row["indicator"] in values.get(city, {}):
            raise CiciiInputError(f"{path}:{line}: {city} {row['indicator']} given twice")
        values.setdefault(city, {})[row["indicator"]] = value
    return values


def read_benchmarks(path: Path | str, config: CiciiConfig) -> dict[str, float]:
    known = config.indicators
    found: dict[str, float] = {}
    for line, row in _rows(path, ("indicator", "benchmark")):
        if row["indicator"] not in known:
            raise CiciiInputError(f"{path}:{line}: unknown indicator {row['indicator']!r} "
                                  f"(known: {', '.join(known)})")
        value = _number(row["benchmark"], path, line, "benchmark")
        if value <= 1:
            raise CiciiInputError(f"{path}:{line}: benchmark must be > 1, got {value:g}")
        found[row["indicator"]] = value
    return found


def read_dimensions(path: Path | str, config: CiciiConfig, cities: CityNames
                    ) -> dict[str, dict[str, float]]:
    """city id -> dimension id -> score (0-100) from a ``city,<dimension ids>`` CSV."""
    dims = [d.id for d in config.dimensions]
    found: dict[str, dict[str, float]] = {}
    for line, row in _rows(path, ("city", *dims)):
        city = cities.resolve(row["city"])
        if city is None:
            raise CiciiInputError(f"{path}:{line}: unknown city {row['city']!r}")
        scores = {}
        for dim in dims:
            value = _number(row[dim], path, line, dim)
            if value > 100:
                raise CiciiInputError(f"{path}:{line}: {dim} score must be 0-100, got {value:g}")
            scores[dim] = value
        if city in found:
            raise CiciiInputError(f"{path}:{line}: {city} given twice")
        found[city] = scores
    return found


# -- the index --------------------------------------------------------------------------------


@dataclass(slots=True)
class CityIndex:
    city: str
    indicators: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> value, score…
    dimensions: dict[str, float | None] = field(default_factory=dict)
    total: float | None = None
    rank: int | None = None
    tier: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"city": self.city, "indicators": self.indicators,
                "dimensions": {k: _round(v) for k, v in self.dimensions.items()},
                "total": _round(self.total), "rank": self.rank, "tier": self.tier}


@dataclass(slots=True)
class IndexResult:
    cities: list[CityIndex]
    missing: list[dict[str, str]]
    mean_total: float | None
    gdp_correlation: dict[str, float | None]
    period: tuple[date, date] | None = None
    media_measure: str = ""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "cities": [c.to_dict() for c in self.cities],
            "mean_total": _round(self.mean_total),
            "gdp_correlation": {k: None if v is None else round(v, 6)
                                for k, v in self.gdp_correlation.items()},
            "missing": self.missing,
        }
        if self.period:
            data["period"] = {"from": self.period[0].isoformat(), "to": self.period[1].isoformat()}
        if self.media_measure:
            data["media_measure"] = self.media_measure
        return data


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def rank_and_correlate(cities: list[CityIndex], config: CiciiConfig,
                       gdp: Mapping[str, float]) -> tuple[float | None, dict[str, float | None]]:
    """Sets rank and tier on every city with a total (by total, highest first; ties by id) and
    sorts ``cities`` in rank order (unscored last). Returns the mean total and the Pearson
    correlation of the totals with GDP (r, p) over the cities that have both."""
    scored = sorted((c for c in cities if c.total is not None),
                    key=lambda c: (-(c.total or 0.0), c.city))
    for rank, city in enumerate(scored, start=1):
        city.rank = rank
        city.tier = tier_of(city.total or 0.0, config.tiers)
    unscored = sorted((c for c in cities if c.total is None), key=lambda c: c.city)
    cities[:] = [*scored, *unscored]
    mean = sum(c.total or 0.0 for c in scored) / len(scored) if scored else None
    pairs = [(c.total, gdp[c.city]) for c in scored if gdp.get(c.city)]
    correlation: dict[str, float | None] = {"r": None, "p": None, "n": len(pairs)}
    if len(pairs) >= 3:
        from scipy.stats import pearsonr

        totals, gdps = zip(*pairs, strict=True)
        if len(set(totals)) > 1 and len(set(gdps)) > 1:
            result = pearsonr(totals, gdps)
            correlation = {"r": float(result.statistic), "p": float(result.pvalue),
                           "n": len(pairs)}
    return mean, correlation


def from_dimensions(scores: Mapping[str, Mapping[str, float]], config: CiciiConfig,
                    gdp: Mapping[str, float]) -> IndexResult:
    """Totals, ranks and tiers from given dimension scores (a published table, a partner's)."""
    cities = []
    for city, dims in scores.items():
        entry = CityIndex(city=city, dimensions={d.id: dims.get(d.id) for d in config.dimensions})
        entry.total = sum(d.weight * float(dims[d.id]) for d in config.dimensions)
        cities.append(entry)
    mean, correlation = rank_and_correlate(cities, config, gdp)
    return IndexResult(cities, [], mean, correlation)


def compute_index(values: Mapping[str, Mapping[str, float]], config: CiciiConfig,
                  gdp: Mapping[str, float], city_ids: Sequence[str],
                  benchmarks: Mapping[str, float] | None = None,
                  sources: Mapping[str, Mapping[str, str]] | None = None) -> IndexResult:
    """The index from indicator values (city -> indicator -> raw value) for ``city_ids``.

    ``sources`` optionally says where each value came from (e.g. "store", "csv")."""
    benchmarks = dict(benchmarks or {})
    cities: list[CityIndex] = []
    missing: list[dict[str, str]] = []
    for city in city_ids:
        entry = CityIndex(city=city)
        complete = True
        for dim in config.dimensions:
            weighted, weights, dim_complete = 0.0, 0.0, True
            for ind in dim.indicators:
                raw = values.get(city, {}).get(ind.id)
                if raw is None:
                    missing.append({"city": city, "indicator": ind.id})
                    dim_complete = False
                    continue
                bench = benchmarks.get(ind.id, ind.benchmark)
                ind_score = score(raw, bench)
                entry.indicators[ind.id] = {
                    "value": raw, "score": round(ind_score, 4), "benchmark": bench,
                    "source": (sources or {}).get(city, {}).get(ind.id, "csv"),
                }
                weighted += ind.weight * ind_score
                weights += ind.weight
            entry.dimensions[dim.id] = weighted / weights if dim_complete else None
            complete = complete and dim_complete
        if complete:
            entry.total = sum(d.weight * (entry.dimensions[d.id] or 0.0)
                              for d in config.dimensions)
        cities.append(entry)
    mean, correlation = rank_and_correlate(cities, config, gdp)
    return IndexResult(cities, missing, mean, correlation)


# -- measured media indicators and the stored imports ---------------------------------------------


def measure_media(store: Any, city_ids: Sequence[str], date_from: date, date_to: date,
                  measure: str = "reach") -> dict[str, dict[str, float]]:
    """English and other-language report counts per city (foreign voice, the city as a
    place) over the period, from the store's aggregations."""
    from search.store import ArticleFilter

    filters = ArticleFilter(cities=list(city_ids), include_government=False, voice="foreign",
                            date_from=date_from, date_to=date_to,
                            unique_stories=measure == "unique")
    counts: dict[str, dict[str, float]] = {c: {"english": 0.0, "other": 0.0} for c in city_ids}
    for row in store.aggregate(filters, interval=None, group_by=("city", "language"),
                               size=100_000):
        city = row.key.get("city", "")
        if city in counts:
            part = "english" if row.key.get("language") == "en" else "other"
            counts[city][part] += row.count
    return counts


def store_indicators(store: Any, date_from: date, date_to: date,
                     values: Mapping[str, Mapping[str, float]], source: str) -> str:
    """Keep imported indicator values in the store's metadata for their period."""
    key = f"{META_PREFIX}{date_from.isoformat()}:{date_to.isoformat()}"
    store.put_meta(key, json.dumps({"from": date_from.isoformat(), "to": date_to.isoformat(),
                                    "source": source, "values": values},
                                   ensure_ascii=False, sort_keys=True))
    return key


def stored_periods(store: Any) -> list[tuple[date, date]]:
    periods = []
    for key in store.list_meta():
        if key.startswith(META_PREFIX):
            start, _, end = key.removeprefix(META_PREFIX).partition(":")
            try:
                periods.append((date.fromisoformat(start), date.fromisoformat(end)))
            except ValueError:
                continue
    return sorted(periods)


def load_stored(store: Any, date_from: date, date_to: date) -> dict[str, dict[str, float]]:
    raw = store.get_meta(f"{META_PREFIX}{date_from.isoformat()}:{date_to.isoformat()}")
    if not raw:
        return {}
    data = json.loads(raw)
    return {c: {k: float(v) for k, v in inds.items()} for c, inds in data["values"].items()}


def period_covering(store: Any, day: date) -> tuple[date, date] | None:
    """The latest-ending stored indicator period that contains ``day``."""
    covering = [p for p in stored_periods(store) if p[0] <= day <= p[1]]
    return max(covering, key=lambda p: (p[1], p[0])) if covering else None


def index_for_period(store: Any, config_dir: Path | str, date_from: date, date_to: date,
                     city_ids: Sequence[str] | None = None,
                     imported: Mapping[str, Mapping[str, float]] | None = None,
                     benchmarks: Mapping[str, float] | None = None) -> IndexResult:
    """The index for a period: media indicators measured from the store, the rest from
    ``imported`` (or, if None, the values stored for exactly that period); imported media
    values override the measured ones."""
    from nlp.gazetteer import load_cities

    config = CiciiConfig.load(config_dir)
    cities = load_cities(Path(config_dir))
    ids = list(city_ids or [c.id for c in cities])
    gdp = {c.id: c.gdp_2019 for c in cities}
    if imported is None:
        imported = load_stored(store, date_from, date_to)
    measured = measure_media(store, ids, date_from, date_to, config.media_measure)
    values: dict[str, dict[str, float]] = {}
    sources: dict[str, dict[str, str]] = {}
    for city in ids:
        values[city], sources[city] = {}, {}
        for ind in config.indicators.values():
            if ind.measured:
                values[city][ind.id] = measured[city][ind.measured]
                sources[city][ind.id] = f"store ({config.media_measure})"
        for ind_id, value in imported.get(city, {}).items():
            values[city][ind_id] = value
            sources[city][ind_id] = "csv"
    result = compute_index(values, config, gdp, ids, benchmarks, sources)
    result.period = (date_from, date_to)
    result.media_measure = config.media_measure
    return result
