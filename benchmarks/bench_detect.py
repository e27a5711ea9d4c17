"""Detection speed: 15 cities x 365 days x 2 detectors from a synthetic series.

Prints seconds and series/s (one series = one city through one detector). Run directly or via
`make bench` (benchmarks/run_all.py).
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerts.detectors import DailySeries, DetectorConfig
from alerts.run_detection import detect_cities

CITIES = 15
DAYS = 365
REPEATS = 3


def synthetic_series(seed: int = 2020) -> dict[str, DailySeries]:
    rng = np.random.default_rng(seed)
    series = {}
    for city in range(CITIES):
        level = rng.uniform(1, 40)
        counts = rng.negative_binomial(5, 5 / (5 + level), DAYS).astype(float)
        counts[200:260] += rng.poisson(level * 5, 60) if city % 5 == 0 else 0
        negative = rng.binomial(counts.astype(int), 0.3).astype(float)
        series[f"city{city:02d}"] = DailySeries(date(2019, 7, 1), counts, negative)
    return series


def main() -> None:
    config = DetectorConfig.load(Path(__file__).resolve().parents[1] / "config")
    series = synthetic_series()
    best = float("inf")
    episodes = 0
    for _ in range(REPEATS):
        started = time.perf_counter()
        detections = detect_cities(series, config)
        best = min(best, time.perf_counter() - started)
        episodes = sum(len(d.episodes) for ds in detections.values() for d in ds)
    runs = CITIES * 2
    print(f"detect: {CITIES} cities x {DAYS} days x 2 detectors in {best:.3f} s "
          f"(best of {REPEATS}), {runs / best:.1f} series/s, {episodes} episodes")


if __name__ == "__main__":
    main()
