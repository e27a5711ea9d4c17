"""Surge detectors over a city's daily article counts: pure functions, no store.

A series is a start date plus one count per day (missing days are 0). For every day ``t`` the
detectors fit a baseline to the trailing ``baseline.days`` non-episode days that end
``guard_days`` before ``t``, then test the day against it:

* level: trimmed mean of the baseline counts (robust to a freak day, unlike the mean; unlike
  the median it still moves at 1 article/day, where the median is stuck on an integer);
* weekday factors: each weekday's share of the baseline, shrunk toward 1 by ``weekday_prior``
  pseudo-counts so four Mondays with 1-2 articles do not produce a 2x "Monday effect";
* test: negative binomial upper tail ``P(X >= observed)`` with mean ``level * factor`` and a
  dispersion ``phi`` (variance ``mu + phi mu^2``) estimated from the baseline by moments.

Why negative binomial rather than EARS C2/C3 or CUSUM: news counts are over-dispersed (one
story is syndicated and echoed for days), which a Poisson or Gaussian (EARS) test mistakes for
surges on small counts. The NB tail is exact at 1 article/day, where EARS' standard-deviation
test breaks down (a baseline of zeros has sd 0), and its p-value doubles as a severity. A CUSUM
reacts faster to slow drifts, which is exactly what we do not want to alert on (coverage of all
cities rose slowly in 2019-2020). A p-value alone alerts on statistically certain but trivial
rises of a big city's coverage, so a day is an alarm only if it also has ``min_observed``
articles and ``min_ratio`` times the expected count.

Slow ramp-ups (Wuhan from 31 Dec 2019: 5, 6, 7, 9 articles a day against 1 expected) are
certain over a few days while no single day is: a second, multi-day test puts the sum of the
last ``run_days`` days against the sum of their expectations, with its own thresholds, and an
episode it opens starts on the run's first high day. The sum keeps the one-day dispersion
(variance ``M + phi M^2``, as if the days' over-dispersion were fully shared: a story echoed
for three days is one story), which is conservative: treating the days as independent found
the ramps a few days sooner but also raised false alarms on small cities. A run must end
today and hold two high days, so a single freak day does not echo as a three-day alarm.

Negative spikes need both the negative count (same NB test on the negative series) AND the
negative share (binomial upper tail of today's negatives among today's articles against the
baseline share, and an increase of at least ``min_share_increase``): a volume surge with the
usual mix of tone is not a negative spike, and a tone shift at flat volume is.

Days inside an open episode are kept out of later baselines (alerts/episodes.py), so a long
surge is tested against the normal before it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import AfterValidator
from scipy import stats

from alerts.episodes import Episode, EpisodeTracker
from cityradar.config import ConfigError, build, check, load_yaml, schema_for, validate

VOLUME_SURGE = "volume_surge"
NEGATIVE_SPIKE = "negative_spike"
LANGUAGE_GROUPS: tuple[str, ...] = ("all", "en", "other")


@dataclass(frozen=True, slots=True)
class BaselineConfig:
    days: int = 28
    dispersion_days: int = 91
    guard_days: int = 3
    min_days: int = 14
    max_lookback_days: int = 180
    trim: float = 0.1
    weekday_prior: float = 10.0
    min_expected: float = 0.3
    min_dispersion: float = 0.05
    max_dispersion: float = 0.5
    exclude_pvalue: float = 0.01


@dataclass(frozen=True, slots=True)
class VolumeConfig:
    alpha: float = 1e-5
    min_observed: int = 8
    min_ratio: float = 2.5
    run_days: int = 3
    run_alpha: float = 1e-6
    run_min_observed: int = 15
    run_min_ratio: float = 3.0


@dataclass(frozen=True, slots=True)
class NegativeConfig:
    alpha: float = 1e-4
    min_observed: int = 6
    min_ratio: float = 2.5
    min_share_increase: float = 0.15
    run_days: int = 3
    run_alpha: float = 1e-5
    run_min_observed: int = 10
    run_min_ratio: float = 3.0


@dataclass(frozen=True, slots=True)
class EpisodeConfig:
    cooldown_days: int = 14
    min_alarm_days: int = 2
    confirm_days: int = 7
    severity_cap: float = 16.0


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """All detection thresholds; loaded from ``config/alerts.yaml`` (documented defaults)."""

    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    volume: VolumeConfig = field(default_factory=VolumeConfig)
    negative: NegativeConfig = field(default_factory=NegativeConfig)
    episodes: EpisodeConfig = field(default_factory=EpisodeConfig)
    # "all" (every language), "en" (English), "other" (every other language)
    language_groups: tuple[str, ...] = ("all", "en", "other")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None, where: str = "alerts.yaml") -> (
        DetectorConfig
    ):
        config = build(cls, validate(AlertsFile, data, where))
        config.validate(where)
        return config

    @classmethod
    def load(cls, config_dir: Path | None) -> DetectorConfig:
        """``<config_dir>/alerts.yaml``, or the defaults when the directory has none."""
        if config_dir is None:
            return cls()
        path = Path(config_dir) / "alerts.yaml"
        if not path.exists():
            return cls()
        return cls.from_mapping(load_yaml(path), str(path))

    def validate(self, where: str) -> None:
        b = self.baseline
        checks = [
            (b.days >= 7, "baseline.days must be at least 7"),
            (1 <= b.min_days <= b.days, "baseline.min_days must be between 1 and baseline.days"),
            (b.guard_days >= 0, "baseline.guard_days must be >= 0"),
            (b.dispersion_days >= b.days, "baseline.dispersion_days must be >= days"),
            (b.max_lookback_days >= b.dispersion_days,
             "baseline.max_lookback_days must be >= dispersion_days"),
            (0 <= b.trim < 0.5, "baseline.trim must be in [0, 0.5)"),
            (b.min_expected > 0, "baseline.min_expected must be > 0"),
            (0 <= b.min_dispersion <= b.max_dispersion, "baseline dispersion bounds invalid"),
            (0 < b.exclude_pvalue < 1, "baseline.exclude_pvalue must be in (0, 1)"),
            (0 < self.volume.alpha < 1, "volume.alpha must be in (0, 1)"),
            (0 < self.negative.alpha < 1, "negative.alpha must be in (0, 1)"),
            (0 < self.volume.run_alpha < 1, "volume.run_alpha must be in (0, 1)"),
            (0 < self.negative.run_alpha < 1, "negative.run_alpha must be in (0, 1)"),
            (0 <= self.volume.run_days <= b.guard_days + 1,
             "volume.run_days must be between 0 (off) and baseline.guard_days + 1"),
            (0 <= self.negative.run_days <= b.guard_days + 1,
             "negative.run_days must be between 0 (off) and baseline.guard_days + 1"),
            (self.episodes.cooldown_days >= 1, "episodes.cooldown_days must be >= 1"),
            (self.episodes.confirm_days >= 1, "episodes.confirm_days must be >= 1"),
            (self.episodes.min_alarm_days >= 1, "episodes.min_alarm_days must be >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"{where}: {message}")


# The schema of alerts.yaml: the fields and defaults of the dataclasses above.
_GROUPS = Annotated[
    list[Literal[LANGUAGE_GROUPS]],  # type: ignore[valid-type]
    check(lambda groups: bool(groups) and len(set(groups)) == len(groups),
          f"expected a list of distinct values from {', '.join(LANGUAGE_GROUPS)}"),
    AfterValidator(tuple)]


class AlertsFile(schema_for(DetectorConfig, language_groups=_GROUPS)):  # type: ignore[misc]
    """alerts.yaml; its ``notify:`` section is validated by NotifyConfig (alerts/notifiers.py,
    which validates this whole file first; this module does not import it)."""

    notify: dict[str, Any] | None = None


@dataclass(slots=True)
class DailySeries:
    """Counts per day from ``start``; ``negative`` (same length) is optional."""

    start: date
    counts: np.ndarray
    negative: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.counts = np.asarray(self.counts, dtype=float)
        if self.negative is not None:
            self.negative = np.asarray(self.negative, dtype=float)
            if self.negative.shape != self.counts.shape:
                raise ValueError("negative counts must have the same length as counts")

    def __len__(self) -> int:
        return len(self.counts)

    def day(self, index: int) -> date:
        return self.start + timedelta(days=index)

    @property
    def end(self) -> date:
        return self.day(len(self) - 1)

    @classmethod
    def from_days(
        cls,
        counts: Mapping[date, float],
        negative: Mapping[date, float] | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> DailySeries:
        """Dense series from sparse per-day counts: days with no entry are 0."""
        known = list(counts) + list(negative or {})
        first = start or (min(known) if known else date.today())
        last = end or (max(known) if known else first)
        length = max((last - first).days + 1, 0)
        dense = np.zeros(length)
        dense_negative = np.zeros(length) if negative is not None else None
        for day, value in counts.items():
            if first <= day <= last:
                dense[(day - first).days] += value
        if negative is not None and dense_negative is not None:
            for day, value in negative.items():
                if first <= day <= last:
                    dense_negative[(day - first).days] += value
        return cls(first, dense, dense_negative)


@dataclass(slots=True)
class Detection:
    """One detector's verdict on one series: per-day expectation and p-value, and episodes."""

    kind: str
    start: date
    observed: np.ndarray
    expected: np.ndarray  # NaN before the baseline has warmed up
    pvalue: np.ndarray
    alarm: np.ndarray
    episodes: list[Episode]
    excluded: np.ndarray  # days kept out of the baseline (episodes, suspicious days)


@dataclass(slots=True)
class Baseline:
    level: float
    weekday_factors: np.ndarray  # 7 values, mean 1
    dispersion: float

    def expected(self, weekday: int) -> float:
        return self.level * float(self.weekday_factors[weekday])


def fit_baseline(
    values: np.ndarray,
    weekdays: np.ndarray,
    config: BaselineConfig,
    dispersion: float | None = None,
) -> Baseline:
    """Robust level, shrunk weekday factors and NB dispersion of a baseline window.

    ``dispersion`` given (estimated over a longer window, see ``_scan``) is used as is.
    """
    level = max(_upper_trimmed_mean(values, config.trim), config.min_expected)
    sums = np.bincount(weekdays, weights=values, minlength=7)
    days = np.bincount(weekdays, minlength=7)
    prior = config.weekday_prior
    factors = (sums + prior) / (days * level + prior)
    factors = factors / factors.mean()
    if dispersion is not None:
        return Baseline(level, factors, dispersion)
    means = level * factors[weekdays]
    dispersion = (float(np.sum((values - means) ** 2)) - float(means.sum())) / float(
        np.sum(means**2)
    )
    dispersion = min(max(dispersion, config.min_dispersion), config.max_dispersion)
    return Baseline(level, factors, dispersion)


def _upper_trimmed_mean(values: np.ndarray, fraction: float) -> float:
    """Mean without the highest ``fraction`` of days: counts are right-skewed, so cutting the
    low end too (a symmetric trimmed mean) would underestimate the level, and underestimating
    it on small counts is what makes false alarms."""
    keep = len(values) - int(fraction * len(values))
    return float(np.mean(np.sort(values)[:keep])) if keep > 0 else 0.0


def nb_upper_tail(observed: float, mean: float, dispersion: float) -> float:
    """P(X >= observed) for X ~ NB with this mean and variance ``mean + dispersion mean^2``."""
    if observed <= 0:
        return 1.0
    size = 1.0 / dispersion
    return float(stats.nbinom.sf(observed - 1, size, size / (size + mean)))


def _weekdays(start: date, length: int) -> np.ndarray:
    return (start.weekday() + np.arange(length)) % 7


@dataclass(frozen=True, slots=True)
class RunRule:
    """The multi-day test: the sum of the last ``days`` days against the sum of their
    expectations. ``test(window, means, baseline_index, baseline) -> pvalue``."""

    days: int
    alpha: float
    min_observed: int
    min_ratio: float  # a day of the run counts as high from this ratio to its expectation
    test: Callable[[np.ndarray, np.ndarray, np.ndarray, Baseline], float]


def _scan(
    kind: str,
    series: DailySeries,
    observed: np.ndarray,
    config: DetectorConfig,
    min_observed: int,
    alpha: float,
    test: Any,
    exclude: np.ndarray | None = None,
    run: RunRule | None = None,
) -> Detection:
    """Walk the series day by day: fit the baseline, test, feed the episode tracker.

    ``test(t, baseline_index, mean, baseline) -> pvalue`` is the detector's test (1.0 when the
    day is not even a candidate). A day is an alarm when the p-value is below ``alpha`` and
    it has ``min_observed`` items, or when ``run`` (the sum of the last few days) passes its
    own test: a slow ramp-up of 6, 7, 9 articles a day against 1 expected is certain over three
    days while no single day is. An episode opened by the run starts on the run's first day
    above expectation. A day that is merely suspicious (p below ``baseline.exclude_pvalue``,
    e.g. the first days of a ramp-up still under the minimum volume) is also kept out of later
    baselines, so a slow start cannot lift the baseline and the dispersion before the surge is
    big enough to be called. ``exclude`` marks days to keep out of the baseline from the start
    (another detector's episodes).
    """
    b = config.baseline
    length = len(observed)
    weekdays = _weekdays(series.start, length)
    excluded = np.zeros(length, dtype=bool)
    suspicious = np.zeros(length, dtype=bool) if exclude is None else exclude.copy()
    expected = np.full(length, np.nan)
    pvalues = np.ones(length)
    alarms = np.zeros(length, dtype=bool)
    episodes = config.episodes
    tracker = EpisodeTracker(
        kind,
        episodes.cooldown_days,
        episodes.severity_cap,
        episodes.min_alarm_days,
        episodes.confirm_days,
    )
    run_days = run.days if run is not None and run.days > 1 else 0
    for t in range(length):
        window_end = t - b.guard_days
        alarm = False
        run_start: date | None = None
        if window_end >= b.min_days:
            lo = max(0, window_end - b.max_lookback_days)
            usable = np.flatnonzero(~excluded[lo:window_end]) + lo
            if len(usable) < b.min_days:
                # Nothing normal left in the look-back (a level shift that lasted months):
                # the recent days become the new normal.
                usable = np.arange(max(0, window_end - b.days), window_end)
            index = usable[-b.days :]
            # A month of days pins the level but not the tail: the dispersion comes from a
            # longer window (28 days underestimate it by a third, hence false alarms).
            long_index = usable[-b.dispersion_days :]
            dispersion = fit_baseline(observed[long_index], weekdays[long_index], b).dispersion
            baseline = fit_baseline(observed[index], weekdays[index], b, dispersion)
            mean = baseline.expected(int(weekdays[t]))
            expected[t] = mean
            pvalues[t] = test(t, index, mean, baseline)
            alarm = bool(pvalues[t] < alpha and observed[t] >= min_observed)
            suspicious[t] |= pvalues[t] < b.exclude_pvalue
            if run is not None and run_days and t + 1 >= run_days:
                window = np.arange(t - run_days + 1, t + 1)
                means = baseline.level * baseline.weekday_factors[weekdays[window]]
                run_p = run.test(window, means, index, baseline)
                elevated = window[observed[window] >= run.min_ratio * means]
                # A run is several high days ending today: one freak day inside the window is
                # the single-day test's business, and must not echo for ``days`` more days.
                is_run = len(elevated) >= 2 and elevated[-1] == t
                if is_run and run_p < b.exclude_pvalue:
                    suspicious[elevated] = True
                if is_run and run_p < run.alpha and observed[window].sum() >= run.min_observed:
                    if not alarm:  # the run, not today alone: it starts on its first high day
                        run_start = series.day(int(elevated[0]) if len(elevated) else t)
                    alarm = True
                    pvalues[t] = min(pvalues[t], run_p)
        alarms[t] = alarm
        inside, released = tracker.step(
            t, series.day(t), alarm, float(observed[t]), float(expected[t]), float(pvalues[t]),
            start=run_start,
        )
        excluded[t] = inside
        if released:
            excluded[released.start : released.stop] = False
        excluded |= suspicious
    return Detection(
        kind, series.start, observed, expected, pvalues, alarms, tracker.finish(), excluded
    )


def detect_volume_surges(series: DailySeries, config: DetectorConfig) -> Detection:
    """Days whose article count (or the sum of the last few days' counts) is far above the
    city's weekday-aware trailing baseline."""
    cfg = config.volume
    counts = series.counts

    def test(t: int, _index: np.ndarray, mean: float, baseline: Baseline) -> float:
        if counts[t] < cfg.min_ratio * mean:
            return 1.0
        return nb_upper_tail(counts[t], mean, baseline.dispersion)

    def run_test(window: np.ndarray, means: np.ndarray, _index: np.ndarray,
                 baseline: Baseline) -> float:
        total, mean = float(counts[window].sum()), float(means.sum())
        if total < cfg.run_min_ratio * mean:
            return 1.0
        return nb_upper_tail(total, mean, baseline.dispersion)

    run = RunRule(cfg.run_days, cfg.run_alpha, cfg.run_min_observed, cfg.run_min_ratio,
                  run_test)
    return _scan(VOLUME_SURGE, series, counts, config, cfg.min_observed, cfg.alpha, test,
                 run=run)


def detect_negative_spikes(
    series: DailySeries, config: DetectorConfig, volume: Detection | None = None
) -> Detection:
    """Days whose negative count AND negative share are far above the city's own baseline
    (one day, or the sum of the last few days).

    With the city's ``volume`` detection, its surge days stay out of the negative baseline
    too: the baseline share is that of the city's normal coverage, not of a ramp-up.
    """
    if series.negative is None:
        raise ValueError("negative-spike detection needs negative counts")
    cfg = config.negative
    counts = series.counts
    negative = series.negative

    def negative_p(observed: float, total: float, mean: float, ratio: float,
                   index: np.ndarray, dispersion: float) -> float:
        if observed < ratio * mean:
            return 1.0
        # Share of negative coverage in the baseline, with one pseudo-article each way so a
        # baseline with no negative coverage does not make any negative story "infinitely" new.
        base_share = (float(negative[index].sum()) + 1.0) / (float(counts[index].sum()) + 2.0)
        total = max(total, observed)
        if observed / total - base_share < cfg.min_share_increase:
            return 1.0
        count_p = nb_upper_tail(observed, mean, dispersion)
        share_p = float(stats.binom.sf(observed - 1, int(total), base_share))
        return max(count_p, share_p)

    def test(t: int, index: np.ndarray, mean: float, baseline: Baseline) -> float:
        return negative_p(float(negative[t]), float(counts[t]), mean, cfg.min_ratio, index,
                          baseline.dispersion)

    def run_test(window: np.ndarray, means: np.ndarray, index: np.ndarray,
                 baseline: Baseline) -> float:
        return negative_p(float(negative[window].sum()), float(counts[window].sum()),
                          float(means.sum()), cfg.run_min_ratio, index, baseline.dispersion)

    exclude = None if volume is None else volume.excluded
    run = RunRule(cfg.run_days, cfg.run_alpha, cfg.run_min_observed, cfg.run_min_ratio,
                  run_test)
    return _scan(
        NEGATIVE_SPIKE, series, negative, config, cfg.min_observed, cfg.alpha, test, exclude,
        run=run,
    )


def detect_all(series: DailySeries, config: DetectorConfig) -> list[Detection]:
    """Volume surges, and negative spikes when the series has negative counts."""
    volume = detect_volume_surges(series, config)
    if series.negative is None:
        return [volume]
    return [volume, detect_negative_spikes(series, config, volume)]
