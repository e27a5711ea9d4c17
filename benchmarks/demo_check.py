"""Check the detectors against the SYNTHETIC demo corpus across seeds, without the tagger
(a benchmark harness: benchmarks/bench_detect_seeds.py and a slow test use it; nothing that
runs in production imports it).

``ingest.demo_corpus.generate(seed)`` records the generator's intent in ``extras["truth"]``
(city, tone, mention kind, language). Daily series built from it (foreign voice, place mentions
of each city; negative = intended tone negative) are what a perfect tagger would store, so the
detectors can be judged on many seeds in seconds, against the same criteria as
``tests/test_demo.py``:

* a Wuhan volume surge and a Wuhan negative spike starting 31 Dec 2019 - 23 Jan 2020,
* a Beijing volume surge starting 11-16 June 2020,
* at most one episode (of either kind) for any other city, language group "all".
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from alerts.detectors import LANGUAGE_GROUPS, DailySeries, DetectorConfig, detect_all
from alerts.episodes import Episode
from alerts.run_detection import language_group_of

WUHAN_WINDOW = (date(2019, 12, 31), date(2020, 1, 23))
BEIJING_WINDOW = (date(2020, 6, 11), date(2020, 6, 16))
SURGE_CITIES = ("wuhan", "beijing")


def truth_series(seed: int, config_dir: Path | None = None,
                 groups: tuple[str, ...] = ("all",)) -> dict[str, dict[str, DailySeries]]:
    """{language group: {city: daily series}} from the demo corpus' intended tags."""
    from ingest.demo_corpus import generate

    counts: dict[tuple[str, str], Counter[date]] = defaultdict(Counter)
    negative: dict[tuple[str, str], Counter[date]] = defaultdict(Counter)
    for article in generate(seed=seed, config_dir=config_dir):
        truth = article.extras.get("truth", {})
        if truth.get("mention") != "place" or article.voice != "foreign" or article.day is None:
            continue
        language_group = language_group_of(str(truth.get("language", "")))
        for group in groups:
            if group not in ("all", language_group):
                continue
            key = (group, truth["city"])
            counts[key][article.day] += 1
            if truth.get("tone") == "negative":
                negative[key][article.day] += 1
    if not counts:
        return {}
    first = min(min(days) for days in counts.values())
    last = max(max(days) for days in counts.values())
    result: dict[str, dict[str, DailySeries]] = defaultdict(dict)
    for (group, city), by_day in sorted(counts.items()):
        result[group][city] = DailySeries.from_days(by_day, negative[(group, city)], first, last)
    return dict(result)


@dataclass(slots=True)
class SeedVerdict:
    seed: int
    wuhan_surge: list[date] = field(default_factory=list)
    wuhan_negative: list[date] = field(default_factory=list)
    beijing_surge: list[date] = field(default_factory=list)
    other_episodes: dict[str, int] = field(default_factory=dict)  # city -> episodes ("all")
    group_episodes: dict[str, int] = field(default_factory=dict)  # group -> episodes, all cities

    @property
    def passed(self) -> bool:
        def within(days: list[date], window: tuple[date, date]) -> bool:
            return any(window[0] <= day <= window[1] for day in days)

        return (within(self.wuhan_surge, WUHAN_WINDOW)
                and within(self.wuhan_negative, WUHAN_WINDOW)
                and within(self.beijing_surge, BEIJING_WINDOW)
                and all(n <= 1 for n in self.other_episodes.values()))


def judge(seed: int, episodes: dict[str, dict[str, list[Episode]]]) -> SeedVerdict:
    """The demo criteria over {group: {city: episodes}}."""
    whole = episodes.get("all", {})

    def starts(city: str, kind: str) -> list[date]:
        return [e.start for e in whole.get(city, []) if e.kind == kind]

    return SeedVerdict(
        seed,
        wuhan_surge=starts("wuhan", "volume_surge"),
        wuhan_negative=starts("wuhan", "negative_spike"),
        beijing_surge=starts("beijing", "volume_surge"),
        other_episodes={city: len(found) for city, found in whole.items()
                        if city not in SURGE_CITIES and found},
        group_episodes={group: sum(len(found) for found in by_city.values())
                        for group, by_city in episodes.items()},
    )


def check_seed(seed: int, config: DetectorConfig, config_dir: Path | None = None,
               groups: tuple[str, ...] = ("all",)) -> SeedVerdict:
    series = truth_series(seed, config_dir, groups)
    episodes = {
        group: {city: [e for d in detect_all(s, config) for e in d.episodes]
                for city, s in by_city.items()}
        for group, by_city in series.items()
    }
    return judge(seed, episodes)


def format_verdicts(verdicts: list[SeedVerdict]) -> str:
    def days(values: list[date]) -> str:
        return ",".join(d.strftime("%m-%d") for d in values) or "-"

    lines = [f"{'seed':>4}  {'ok':<3} {'wuhan surge':<12} {'wuhan negative':<18} "
             f"{'beijing':<12} other cities (all)     episodes per group"]
    for v in verdicts:
        others = ",".join(f"{c}:{n}" for c, n in sorted(v.other_episodes.items())) or "-"
        groups = " ".join(f"{g}={v.group_episodes.get(g, 0)}" for g in LANGUAGE_GROUPS
                          if g in v.group_episodes)
        lines.append(f"{v.seed:>4}  {'yes' if v.passed else 'NO':<3} {days(v.wuhan_surge):<12} "
                     f"{days(v.wuhan_negative):<18} {days(v.beijing_surge):<12} "
                     f"{others:<22} {groups}")
    passed = sum(v.passed for v in verdicts)
    lines.append(f"{passed}/{len(verdicts)} seeds meet the demo criteria")
    return "\n".join(lines)
