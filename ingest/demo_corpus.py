"""The calibrated demo corpus. Everything this module yields is SYNTHETIC.

It fabricates foreign-media coverage of the 15 study cities (July 2019 - June 2020) whose
monthly volumes follow the study figures in domain.md at 1:``scale`` (default 1:100):

* Wuhan: ~3,202 reports a month in 2019; first reports of the pneumonia cluster on
  31 Dec 2019; a steep rise 20-23 Jan 2020 (human-to-human transmission confirmed, lockdown);
  ~100,148 a month on average over Jan-May 2020, receding through spring and a little lower
  in June as attention shifts to Beijing. The surge is dominated by negative public health.
* Beijing: background coverage, then the Xinfadi market outbreak from 11 June 2020 bringing
  June to ~88,061 reports (negative public health). Separately, "Beijing said..." stories
  where Beijing stands for the Chinese government (politics) run all year; they are not
  coverage of the city and are excluded from the calibrated counts.
* The 13 other cities: a per-city monthly average of 5,156 (Jul-Dec 2019) and 7,206
  (Jan-Jun 2020), slowly rising, split among them by weights from their CICII media scores.

Daily counts are drawn from a Poisson-gamma (negative binomial) around the expected value,
with weekends at ~65 % of weekdays. Text is built from per-language templates in
``config/demo/<lang>.yaml`` (topic x tone) with slot fillers from ``config/demo/cities.yaml``;
outlets come from ``config/demo/outlets.yaml``. Planners' markets differ
(``MARKET_LANGUAGE_BOOST``, ``MARKET_TOPIC_BOOST``: e.g. food and pandas for Chengdu in
Japanese and Korean outlets, trade for Tianjin in German ones), and a few own-voice stories of
``config/demo/pickups.yaml`` are picked up by foreign outlets days later. Articles are
untagged: tags must come from the tagger. Every article carries
``extras["synthetic"] = True`` and, for evaluating the tagger, the generator's intent under
``extras["truth"]`` (city, topic, tone, mention kind).
"""

from __future__ import annotations

import logging
import random
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from cityradar.config import ConfigError, load_yaml, require
from cityradar.records import Article
from cityradar.settings import DEFAULT_CONFIG_DIR
from ingest.normalize import article_id, canonical_url

log = logging.getLogger(__name__)

DEMO_SOURCE_ID = "demo"

# Study figures (domain.md), reports per month at 1:1.
WUHAN_2019_MONTHLY = 3_202
WUHAN_JAN_MAY_2020_TOTAL = 500_742
BEIJING_JUNE_2020_TOTAL = 88_061
OTHERS_MONTHLY_H2_2019 = 5_156
OTHERS_MONTHLY_H1_2020 = 7_206
SURGE_CITIES = ("wuhan", "beijing")

WEEKEND_RATIO = 0.65  # weekend days carry ~65 % of a weekday's coverage
DISPERSION = 25.0  # gamma shape of the Poisson-gamma draw (smaller = burstier days)
MEDIA_SCORE_SLOPE = 0.09  # weight ~ exp(slope * media score): Shanghai ~10x Zhengzhou
GOVERNMENT_STORIES_PER_DAY = 150.0  # "Beijing said..." items at 1:1

# Surge shapes at 1:1 (reports/day before calibration), linearly interpolated between knots.
WUHAN_SURGE_KNOTS = (
    (date(2019, 12, 30), 0.0),
    (date(2019, 12, 31), 300.0),  # first reports of the pneumonia cluster
    (date(2020, 1, 9), 500.0),  # novel coronavirus identified
    (date(2020, 1, 19), 700.0),
    (date(2020, 1, 20), 1_800.0),  # human-to-human transmission confirmed
    (date(2020, 1, 21), 3_000.0),
    (date(2020, 1, 22), 4_500.0),
    (date(2020, 1, 23), 6_500.0),  # lockdown
    (date(2020, 1, 28), 8_000.0),
    (date(2020, 2, 10), 7_000.0),
    (date(2020, 2, 29), 5_000.0),
    (date(2020, 3, 31), 2_800.0),
    (date(2020, 4, 8), 3_000.0),  # lockdown lifted
    (date(2020, 4, 30), 2_000.0),
    (date(2020, 5, 31), 1_700.0),
    (date(2020, 6, 30), 1_300.0),
)
BEIJING_SURGE_KNOTS = (
    (date(2020, 6, 10), 0.0),
    (date(2020, 6, 11), 800.0),  # Xinfadi market cluster reported
    (date(2020, 6, 13), 3_000.0),
    (date(2020, 6, 15), 5_500.0),
    (date(2020, 6, 18), 5_000.0),
    (date(2020, 6, 24), 3_000.0),
    (date(2020, 6, 30), 1_800.0),
    (date(2020, 7, 15), 0.0),
)

# Background topic mix and tone (negative, neutral, positive) per topic.
BACKGROUND_TOPICS: dict[str, float] = {
    "economy_business": 0.22,
    "technology": 0.12,
    "tourism": 0.12,
    "culture_heritage": 0.10,
    "food": 0.08,
    "sport_events": 0.08,
    "politics_diplomacy": 0.08,
    "environment_disasters": 0.07,
    "crime_safety": 0.06,
    "pandas_wildlife": 0.01,
}
TOPIC_TONES: dict[str, tuple[float, float, float]] = {
    "economy_business": (0.2, 0.5, 0.3),
    "technology": (0.0, 0.5, 0.5),
    "tourism": (0.0, 0.35, 0.65),
    "culture_heritage": (0.0, 0.4, 0.6),
    "food": (0.0, 0.0, 1.0),
    "sport_events": (0.0, 0.35, 0.65),
    "politics_diplomacy": (0.25, 0.75, 0.0),
    "environment_disasters": (0.7, 0.0, 0.3),
    "crime_safety": (1.0, 0.0, 0.0),
    "pandas_wildlife": (0.0, 0.0, 1.0),
    "public_health": (0.4, 0.45, 0.15),
}
CITY_TOPIC_BOOST: dict[str, dict[str, float]] = {
    "chengdu": {"pandas_wildlife": 12.0, "food": 2.0},
    "chongqing": {"food": 2.0, "pandas_wildlife": 2.0},
    "changsha": {"food": 2.0},
    "shenzhen": {"technology": 2.5},
    "hangzhou": {"technology": 1.8, "tourism": 1.3},
    "xian": {"tourism": 2.2, "culture_heritage": 1.5},
    "suzhou": {"tourism": 1.6, "culture_heritage": 1.5},
    "shanghai": {"economy_business": 1.4},
    "beijing": {"politics_diplomacy": 1.5, "culture_heritage": 1.3},
    "tianjin": {"economy_business": 1.2},
}
# Per-market differences (what planners look for): in some markets a city is covered more
# often (language share multiplied) and for other topics (topic weight multiplied) than
# elsewhere. Volumes per city and day are unchanged: only the mix within a city moves.
MARKET_LANGUAGE_BOOST: dict[str, dict[str, float]] = {
    "chengdu": {"ja": 3.0, "ko": 3.0},
    "tianjin": {"de": 3.0},
    "chongqing": {"ja": 2.0},
}
# ... and from a day on, a market's interest grows (something rising for planners to find).
MARKET_SHIFTS: list[tuple[str, str, date, float]] = [
    ("chengdu", "ja", date(2020, 4, 1), 5.0),  # food and pandas in Japanese media, spring 2020
    ("tianjin", "de", date(2020, 5, 1), 2.5),  # trade and the port in German media
]
MARKET_TOPIC_BOOST: dict[tuple[str, str], dict[str, float]] = {
    ("chengdu", "ja"): {"food": 5.0, "pandas_wildlife": 3.0, "culture_heritage": 2.0},
    ("chengdu", "ko"): {"food": 5.0, "pandas_wildlife": 3.0, "sport_events": 2.0},
    ("chongqing", "ja"): {"food": 4.0, "tourism": 2.0},
    ("tianjin", "de"): {"economy_business": 4.0},
    ("chengdu", "fr"): {"sport_events": 3.0},
    ("chengdu", "es"): {"sport_events": 3.0},
    ("chengdu", "it"): {"sport_events": 3.0},
}
SURGE_TONE_EARLY = (0.78, 0.18, 0.04)
SURGE_TONE_RECOVERY = (0.5, 0.3, 0.2)  # Wuhan after the lockdown was lifted (8 Apr 2020)
GOVERNMENT_TONE = (0.4, 0.6, 0.0)
TONES = ("negative", "neutral", "positive")


@dataclass(slots=True)
class CityProfile:
    id: str
    media: float
    names: dict[str, str]
    districts: list[str]
    landmarks: list[str]
    foods: list[str]
    events: list[str]
    gazetteer_names: dict[str, list[str]] = field(default_factory=dict)

    def name_in(self, language: str, rng: random.Random) -> str:
        """The city's usual name in ``language``; English text sometimes uses a spelling
        variant known to the gazetteer (Xian, Canton), as real coverage does."""
        variants = self.gazetteer_names.get("en", []) if language == "en" else []
        if len(variants) > 1 and rng.random() < 0.2:
            return rng.choice(variants)
        own = self.names.get(language)
        if own:
            return own
        forms = self.gazetteer_names.get(language)
        return forms[0] if forms else self.names["en"]


@dataclass(slots=True)
class Outlet:
    name: str
    domain: str
    country: str
    language: str
    voice: str = "foreign"
    city: str | None = None


@dataclass(slots=True)
class Template:
    title: str
    summary: str


@dataclass(slots=True)
class DemoConfig:
    cities: dict[str, CityProfile]
    language_weights: dict[str, float]
    own_voice_share: float
    outlets: list[Outlet]
    templates: dict[str, dict[tuple[str, str], list[Template]]]  # lang -> (topic, tone)
    government: dict[str, dict[str, list[Template]]]  # lang -> tone -> templates

    @classmethod
    def load(cls, config_dir: Path | None = None) -> DemoConfig:
        """Read ``<config_dir>/demo/*.yaml``; a ConfigError names the file and field at fault."""
        demo_dir = Path(config_dir or DEFAULT_CONFIG_DIR) / "demo"
        cities_doc = require(load_yaml(demo_dir / "cities.yaml"), "cities", dict, "cities.yaml")
        cities = {}
        for city_id, spec in cities_doc.items():
            where = f"{demo_dir / 'cities.yaml'}: cities.{city_id}"
            names = require(spec, "names", dict, where)
            if "en" not in names:
                raise ConfigError(f"{where}.names.en: missing")
            cities[city_id] = CityProfile(
                id=city_id,
                media=float(require(spec, "media", (int, float), where)),
                names={str(k): str(v) for k, v in names.items()},
                districts=list(require(spec, "districts", list, where)),
                landmarks=list(require(spec, "landmarks", list, where)),
                foods=list(require(spec, "foods", list, where)),
                events=list(require(spec, "events", list, where)),
            )
        outlets_path = demo_dir / "outlets.yaml"
        outlets_doc = load_yaml(outlets_path)
        weights = require(outlets_doc, "languages", dict, str(outlets_path))
        outlets = [
            Outlet(**{k: str(v) for k, v in spec.items()})
            for spec in require(outlets_doc, "outlets", list, str(outlets_path))
        ]
        templates: dict[str, dict[tuple[str, str], list[Template]]] = {}
        government: dict[str, dict[str, list[Template]]] = {}
        for language in weights:
            path = demo_dir / f"{language}.yaml"
            doc = load_yaml(path)
            by_pair: dict[tuple[str, str], list[Template]] = {}
            for topic, tones in require(doc, "templates", dict, str(path)).items():
                for tone, items in tones.items():
                    if tone not in TONES:
                        raise ConfigError(f"{path}: templates.{topic}.{tone}: unknown tone")
                    by_pair[(topic, tone)] = [_template(item, f"{path}: {topic}.{tone}")
                                              for item in items]
            templates[language] = by_pair
            government[language] = {
                tone: [_template(item, f"{path}: government.{tone}") for item in items]
                for tone, items in (doc.get("government") or {}).items()
            }
        if "en" not in templates:
            raise ConfigError(f"{outlets_path}: languages: English templates are required")
        needed = [(topic, tone) for topic, weights in TOPIC_TONES.items()
                  for tone, weight in zip(TONES, weights, strict=True) if weight > 0]
        for topic, tone in needed:
            if not templates["en"].get((topic, tone)):
                raise ConfigError(f"{demo_dir / 'en.yaml'}: templates.{topic}.{tone}: missing")
        for tone, weight in zip(TONES, GOVERNMENT_TONE, strict=True):
            if weight > 0 and not government.get("en", {}).get(tone):
                raise ConfigError(f"{demo_dir / 'en.yaml'}: government.{tone}: missing")
        config = cls(
            cities=cities,
            language_weights={str(k): float(v) for k, v in weights.items()},
            own_voice_share=float(outlets_doc.get("own_voice_share", 0.0)),
            outlets=outlets,
            templates=templates,
            government=government,
        )
        config._attach_gazetteer(Path(config_dir or DEFAULT_CONFIG_DIR))
        return config

    def _attach_gazetteer(self, config_dir: Path) -> None:
        """Prefer the gazetteer's name forms when the nlp stage's cities.yaml is present."""
        try:
            from nlp.gazetteer import load_cities
        except ImportError:
            return
        try:
            gazetteer = load_cities(config_dir)
        except Exception as exc:  # a broken gazetteer must not stop the demo: own table is used
            log.warning("demo corpus: gazetteer not usable (%s); using config/demo names", exc)
            return
        for city in gazetteer:
            profile = self.cities.get(str(city.id))
            if profile is not None:
                profile.gazetteer_names = {
                    lang: [str(n) for n in forms] for lang, forms in city.names.items() if forms
                }


def _template(item: Any, where: str) -> Template:
    return Template(
        title=str(require(item, "title", str, where)),
        summary=str(require(item, "summary", str, where)),
    )


@dataclass(slots=True)
class ExpectedVolumes:
    """Expected reports per day at 1:scale, per city (coverage of the city as a place)."""

    days: list[date]
    background: dict[str, np.ndarray]
    surge: dict[str, np.ndarray]
    government: np.ndarray  # "Beijing said..." stories (not coverage of the city)

    def total(self, city: str) -> np.ndarray:
        return self.background[city] + self.surge[city]


def _interpolate(days: list[date], knots: tuple[tuple[date, float], ...]) -> np.ndarray:
    ordinals = np.array([d.toordinal() for d in days], dtype=float)
    xs = np.array([d.toordinal() for d, _ in knots], dtype=float)
    ys = np.array([v for _, v in knots], dtype=float)
    return np.interp(ordinals, xs, ys, left=0.0, right=0.0)


def _mask(days: list[date], first: date, last: date) -> np.ndarray:
    return np.array([first <= d <= last for d in days])


def expected_volumes(
    scale: int = 100,
    start: date = date(2019, 7, 1),
    end: date = date(2020, 6, 30),
    config: DemoConfig | None = None,
) -> ExpectedVolumes:
    """The calibrated expectation behind ``generate`` (before the random daily draw).

    Calibration always runs over the study window (Jul 2019 - Jun 2020) so that a shorter or
    longer ``start``..``end`` keeps the same daily levels.
    """
    if scale < 1:
        raise ValueError("scale must be >= 1")
    if end < start:
        raise ValueError("end is before start")
    config = config or DemoConfig.load()
    study_start, study_end = date(2019, 7, 1), date(2020, 6, 30)
    first, last = min(start, study_start), max(end, study_end)
    days = [first + timedelta(n) for n in range((last - first).days + 1)]
    weekday = np.array([1.0 if d.weekday() < 5 else WEEKEND_RATIO for d in days])
    weekday *= 7.0 / (5.0 + 2.0 * WEEKEND_RATIO)  # keep the weekly mean
    months = np.array([(d - study_start).days / 30.44 for d in days])

    # Mean per-city level of the background, slowly rising; each half-year hits its figure.
    h2019 = _mask(days, study_start, date(2019, 12, 31))
    h2020 = _mask(days, date(2020, 1, 1), study_end)
    slope = (OTHERS_MONTHLY_H1_2020 - OTHERS_MONTHLY_H2_2019) / 6.0
    level = np.maximum(0.1, (OTHERS_MONTHLY_H2_2019 + OTHERS_MONTHLY_H1_2020) / 2
                       + slope * (months - 6.0)) / 30.44 * weekday
    after_2019 = np.array([d > date(2019, 12, 31) for d in days])
    level *= np.where(
        after_2019,
        6 * OTHERS_MONTHLY_H1_2020 / level[h2020].sum(),
        6 * OTHERS_MONTHLY_H2_2019 / level[h2019].sum(),
    )

    others = [c for c in config.cities if c not in SURGE_CITIES]
    weight = {c: np.exp(MEDIA_SCORE_SLOPE * p.media) for c, p in config.cities.items()}
    mean_other_weight = np.mean([weight[c] for c in others]) if others else 1.0
    background: dict[str, np.ndarray] = {}
    surge: dict[str, np.ndarray] = {}
    for city_id in config.cities:
        background[city_id] = level * weight[city_id] / mean_other_weight
        surge[city_id] = np.zeros(len(days))

    if "wuhan" in config.cities:
        background["wuhan"] = np.full(len(days), WUHAN_2019_MONTHLY / 30.44) * weekday
        shape = _interpolate(days, WUHAN_SURGE_KNOTS) * weekday
        jan_may = _mask(days, date(2020, 1, 1), date(2020, 5, 31))
        wanted = WUHAN_JAN_MAY_2020_TOTAL - background["wuhan"][jan_may].sum()
        surge["wuhan"] = shape * wanted / shape[jan_may].sum()
    if "beijing" in config.cities:
        shape = _interpolate(days, BEIJING_SURGE_KNOTS) * weekday
        june = _mask(days, date(2020, 6, 1), date(2020, 6, 30))
        wanted = BEIJING_JUNE_2020_TOTAL - background["beijing"][june].sum()
        surge["beijing"] = shape * max(wanted, 0.0) / shape[june].sum()
    government = np.full(len(days), GOVERNMENT_STORIES_PER_DAY) * weekday

    keep = _mask(days, start, end)
    return ExpectedVolumes(
        days=[d for d, k in zip(days, keep, strict=True) if k],
        background={c: v[keep] / scale for c, v in background.items()},
        surge={c: v[keep] / scale for c, v in surge.items()},
        government=government[keep] / scale,
    )


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:60].rstrip("-") or "news"


class _Writer:
    """Turns (city, topic, tone) intents into Articles; all randomness from one seeded RNG."""

    def __init__(self, config: DemoConfig, rng: random.Random) -> None:
        self.config = config
        self.rng = rng
        self.languages = list(config.language_weights)
        self.language_weights = [config.language_weights[lang] for lang in self.languages]
        self.serial = 0

    def _tone(self, weights: tuple[float, float, float]) -> str:
        return self.rng.choices(TONES, weights=weights)[0]

    def _language(self, available: set[str]) -> str:
        language = self.rng.choices(self.languages, weights=self.language_weights)[0]
        return language if language in available else "en"

    def market_language(self, city_id: str, day: date) -> str:
        """The language (market) of a background report on ``city_id`` on ``day``."""
        boost = dict(MARKET_LANGUAGE_BOOST.get(city_id, {}))
        for city, language, since, factor in MARKET_SHIFTS:
            if city == city_id and day >= since:
                boost[language] = boost.get(language, 1.0) * factor
        weights = [w * boost.get(lang, 1.0)
                   for lang, w in zip(self.languages, self.language_weights, strict=True)]
        return self.rng.choices(self.languages, weights=weights)[0]

    def _outlet(self, language: str, city: str, tone: str) -> Outlet:
        own = [o for o in self.config.outlets
               if o.voice == "own" and o.language == language and o.city in (None, city)]
        if own and tone != "negative" and self.rng.random() < self.config.own_voice_share:
            return self.rng.choice(own)
        foreign = [o for o in self.config.outlets
                   if o.voice != "own" and o.language == language]
        return self.rng.choice(foreign)

    def _fill(self, text: str, city: CityProfile, language: str) -> str:
        rng = self.rng
        slots = {
            "city": city.name_in(language, rng),
            "district": rng.choice(city.districts),
            "landmark": rng.choice(city.landmarks),
            "food": rng.choice(city.foods),
            "event": rng.choice(city.events),
            "n": str(rng.randint(2, 60)),
            "big": str(rng.randint(1_200, 95_000)),
            "pct": str(rng.randint(3, 9)),
        }
        return text.format(**slots)

    def article(self, day: date, city_id: str, topic: str, tone: str, mention: str,
                component: str, language: str | None = None) -> Article:
        city = self.config.cities[city_id]
        if mention == "government":
            available = {lang for lang, by_tone in self.config.government.items()
                         if by_tone.get(tone)}
            language = self._language(available)
            template = self.rng.choice(self.config.government[language][tone])
        else:
            available = {lang for lang, pairs in self.config.templates.items()
                         if pairs.get((topic, tone))}
            if language is None:
                language = self._language(available)
            elif language not in available:
                language = "en"
            template = self.rng.choice(self.config.templates[language][(topic, tone)])
        outlet = self._outlet(language, city_id, tone if mention == "place" else "negative")
        title = self._fill(template.title, city, language)
        summary = self._fill(template.summary, city, language)
        # Capitalize a title that starts with a lower-case slot (e.g. "the Bund ...").
        title = title[:1].upper() + title[1:]
        self.serial += 1
        url = canonical_url(
            f"https://{outlet.domain}/{day:%Y/%m/%d}/{_slug(title)}-{self.serial}"
        )
        published = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
            seconds=self.rng.randint(0, 86_399)
        )
        return Article(
            id=article_id(url),
            url=url,
            title=title,
            summary=summary,
            published_at=published,
            fetched_at=published + timedelta(minutes=self.rng.randint(5, 180)),
            outlet=outlet.name,
            domain=outlet.domain,
            country=outlet.country,
            source_id=DEMO_SOURCE_ID,
            voice="own" if outlet.voice == "own" else "foreign",
            extras={
                "synthetic": True,
                "truth": {"city": city_id, "topic": topic, "tone": tone, "mention": mention,
                          "component": component, "language": language},
            },
        )


def _background_topics(city_id: str, day: date) -> tuple[list[str], list[float]]:
    weights = dict(BACKGROUND_TOPICS)
    for topic, boost in CITY_TOPIC_BOOST.get(city_id, {}).items():
        weights[topic] *= boost
    # After the outbreak every city gets some (mixed-tone) public-health coverage.
    ramp_start, ramp_end = date(2020, 1, 20), date(2020, 3, 1)
    if day >= ramp_start:
        progress = min(1.0, (day - ramp_start).days / (ramp_end - ramp_start).days)
        weights["public_health"] = 0.12 * progress
    return list(weights), list(weights.values())


def generate(
    seed: int = 2020,
    scale: int = 100,
    start: date = date(2019, 7, 1),
    end: date = date(2020, 6, 30),
    config_dir: Path | None = None,
) -> Iterator[Article]:
    """Yield the SYNTHETIC demo corpus day by day (untagged Articles; same seed, same ids)."""
    config = DemoConfig.load(config_dir)
    volumes = expected_volumes(scale, start, end, config)
    counts_rng = np.random.default_rng(seed)
    writer = _Writer(config, random.Random(seed))

    def draw(expected: np.ndarray) -> np.ndarray:
        safe = np.maximum(expected, 1e-9)
        rates = counts_rng.gamma(DISPERSION, safe / DISPERSION)
        return counts_rng.poisson(rates)

    counts = {c: draw(volumes.total(c)) for c in config.cities}
    planned = pickup_stories(config, start, end, config_dir)
    government_counts = draw(volumes.government) if "beijing" in config.cities else None
    for index, day in enumerate(volumes.days):
        for city_id in config.cities:
            total = volumes.total(city_id)[index]
            surge_share = volumes.surge[city_id][index] / total if total > 0 else 0.0
            topics, topic_weights = _background_topics(city_id, day)
            for _ in range(int(counts[city_id][index])):
                if writer.rng.random() < surge_share:
                    recovering = city_id == "wuhan" and day >= date(2020, 4, 8)
                    tone = writer._tone(SURGE_TONE_RECOVERY if recovering else SURGE_TONE_EARLY)
                    yield writer.article(day, city_id, "public_health", tone, "place", "surge")
                elif planned.get((day, city_id)):
                    yield planned[day, city_id].pop(0)  # in place of a background report
                else:
                    language = writer.market_language(city_id, day)
                    boost = MARKET_TOPIC_BOOST.get((city_id, language), {})
                    weights = [w * boost.get(t, 1.0)
                               for t, w in zip(topics, topic_weights, strict=True)]
                    topic = writer.rng.choices(topics, weights=weights)[0]
                    tone = writer._tone(TOPIC_TONES[topic])
                    yield writer.article(day, city_id, topic, tone, "place", "background",
                                         language=language)
            yield from planned.pop((day, city_id), [])  # a day without a draw to replace
        if government_counts is not None:
            for _ in range(int(government_counts[index])):
                tone = writer._tone(GOVERNMENT_TONE)
                yield writer.article(day, "beijing", "politics_diplomacy", tone,
                                     "government", "government")


def pickup_stories(
    config: DemoConfig, start: date, end: date, config_dir: Path | None = None
) -> dict[tuple[date, str], list[Article]]:
    """The own-voice stories of ``config/demo/pickups.yaml`` and their foreign pick-ups, by
    (day, city): ``generate`` puts each in place of a background report of that city and day,
    so volumes stay calibrated. SYNTHETIC like the rest."""
    path = Path(config_dir or DEFAULT_CONFIG_DIR) / "demo" / "pickups.yaml"
    if not path.exists():
        return {}
    doc = load_yaml(path) or {}
    by_domain = {(o.domain, o.language): o for o in config.outlets}
    planned: dict[tuple[date, str], list[Article]] = {}

    def add(day: date, city: str, outlet: Outlet, item: dict[str, Any], topic: str,
            language: str, where: str, hour: int) -> None:
        title = str(require(item, "title", str, where))
        url = canonical_url(f"https://{outlet.domain}/{day:%Y/%m/%d}/{_slug(title)}")
        published = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
        article = Article(
            id=article_id(url), url=url, title=title,
            summary=str(require(item, "summary", str, where)), published_at=published,
            fetched_at=published + timedelta(minutes=30), outlet=outlet.name,
            domain=outlet.domain, country=outlet.country, source_id=DEMO_SOURCE_ID,
            voice="own" if outlet.voice == "own" else "foreign",
            extras={"synthetic": True, "truth": {
                "city": city, "topic": topic, "tone": "positive", "mention": "place",
                "component": "pickup", "language": language}},
        )
        if start <= day <= end:
            planned.setdefault((day, city), []).append(article)

    for number, story in enumerate(require(doc, "stories", list, str(path))):
        where = f"{path}: stories[{number}]"
        city = str(require(story, "city", str, where))
        if city not in config.cities:
            raise ConfigError(f"{where}.city: unknown city {city!r}")
        day = date.fromisoformat(str(require(story, "date", (str, date), where)))
        topic = str(require(story, "topic", str, where))
        own = by_domain.get((str(require(story, "outlet", str, where)), "en"))
        if own is None or own.voice != "own":
            raise ConfigError(f"{where}.outlet: not an English own-voice outlet of outlets.yaml")
        add(day, city, own, story, topic, "en", where, 8)
        for index, item in enumerate(require(story, "pickups", list, where)):
            at = f"{where}.pickups[{index}]"
            language = str(require(item, "language", str, at))
            outlet = by_domain.get((str(require(item, "outlet", str, at)), language))
            if outlet is None or outlet.voice == "own":
                raise ConfigError(f"{at}.outlet: not a foreign {language} outlet of outlets.yaml")
            lag = int(require(item, "lag", int, at))
            add(day + timedelta(days=lag), city, outlet, item, topic, language, at, 10)
    return planned
