"""Detector robustness across demo seeds: the demo criteria (tests/test_demo.py) on the
generator's intended series for seeds 1..20, without the tagger, before (one-day test only)
and after (with the multi-day run test), with episode counts per language group.

Run directly or via `make bench` (benchmarks/run_all.py). About 2 s per seed and setting.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alerts.detectors import DetectorConfig
from benchmarks.demo_check import check_seed, format_verdicts

SEEDS = range(1, 21)
GROUPS = ("all", "en", "other")


def main() -> None:
    config_dir = Path(__file__).resolve().parents[1] / "config"
    after = DetectorConfig.load(config_dir)
    before = replace(after, volume=replace(after.volume, run_days=0),
                     negative=replace(after.negative, run_days=0))
    for name, config in (("before: one-day test only", before),
                         ("after: one-day + multi-day run test", after)):
        started = time.perf_counter()
        verdicts = [check_seed(seed, config, config_dir, GROUPS) for seed in SEEDS]
        print(f"== {name} ({time.perf_counter() - started:.1f} s)")
        print(format_verdicts(verdicts))


if __name__ == "__main__":
    main()
