"""The SYNTHETIC demo corpus follows the study's volumes (domain.md) at 1:100."""

from __future__ import annotations

from collections import Counter
from datetime import date
from itertools import islice

import pytest

from cityradar.records import Article
from ingest.demo_corpus import (
    BEIJING_JUNE_2020_TOTAL,
    OTHERS_MONTHLY_H1_2020,
    OTHERS_MONTHLY_H2_2019,
    SURGE_CITIES,
    WUHAN_2019_MONTHLY,
    WUHAN_JAN_MAY_2020_TOTAL,
    generate,
)

SCALE = 100
OTHER_CITIES = 13


@pytest.fixture(scope="module")
def corpus() -> list[Article]:
    return list(generate(seed=2020, scale=SCALE))


def city_days(articles: list[Article]) -> Counter[tuple[str, date]]:
    """Coverage of each city as a place, per day (government-metonym stories excluded)."""
    counts: Counter[tuple[str, date]] = Counter()
    for article in articles:
        truth = article.extras["truth"]
        if truth["mention"] == "place":
            counts[(truth["city"], article.day)] += 1
    return counts


def total(counts: Counter, city: str, first: date, last: date) -> int:
    return sum(n for (c, day), n in counts.items() if c == city and first <= day <= last)


def others_total(counts: Counter, first: date, last: date) -> int:
    return sum(n for (c, day), n in counts.items()
               if c not in SURGE_CITIES and first <= day <= last)


def test_every_article_is_marked_synthetic_and_untagged(corpus):
    assert 15_000 < len(corpus) < 25_000
    assert all(a.extras["synthetic"] is True and a.tags is None for a in corpus)
    assert all(a.url.startswith("https://") and a.published_at is not None for a in corpus)
    assert len({a.id for a in corpus}) == len(corpus)


def test_wuhan_volumes_follow_the_study(corpus):
    counts = city_days(corpus)
    monthly_2019 = total(counts, "wuhan", date(2019, 7, 1), date(2019, 12, 30)) / 6
    assert monthly_2019 == pytest.approx(WUHAN_2019_MONTHLY / SCALE, rel=0.2)
    jan_may = total(counts, "wuhan", date(2020, 1, 1), date(2020, 5, 31))
    assert jan_may / 5 == pytest.approx(WUHAN_JAN_MAY_2020_TOTAL / 5 / SCALE, rel=0.1)
    may = total(counts, "wuhan", date(2020, 5, 1), date(2020, 5, 31))
    june = total(counts, "wuhan", date(2020, 6, 1), date(2020, 6, 30))
    feb = total(counts, "wuhan", date(2020, 2, 1), date(2020, 2, 29))
    assert june < may < feb  # receding through spring, a little lower when Beijing takes over
    assert june > 0.6 * may


def test_wuhan_rises_from_31_december_and_steeply_20_to_23_january(corpus):
    counts = city_days(corpus)
    december = total(counts, "wuhan", date(2019, 12, 1), date(2019, 12, 30)) / 30
    early_jan = total(counts, "wuhan", date(2020, 1, 1), date(2020, 1, 19)) / 19
    assert early_jan > 2.5 * december
    before = total(counts, "wuhan", date(2020, 1, 13), date(2020, 1, 19)) / 7
    after = total(counts, "wuhan", date(2020, 1, 23), date(2020, 1, 29)) / 7
    assert after > 6 * before


def test_wuhan_surge_is_mostly_negative_public_health(corpus):
    surge = [a.extras["truth"] for a in corpus
             if a.extras["truth"]["city"] == "wuhan" and a.day
             and date(2020, 1, 23) <= a.day <= date(2020, 3, 31)]
    health = [t for t in surge if t["topic"] == "public_health"]
    assert len(health) > 0.8 * len(surge)
    assert sum(t["tone"] == "negative" for t in health) > 0.6 * len(health)


def test_beijing_june_surge_starts_11_june(corpus):
    counts = city_days(corpus)
    june = total(counts, "beijing", date(2020, 6, 1), date(2020, 6, 30))
    assert june == pytest.approx(BEIJING_JUNE_2020_TOTAL / SCALE, rel=0.15)
    before = total(counts, "beijing", date(2020, 6, 1), date(2020, 6, 10)) / 10
    after = total(counts, "beijing", date(2020, 6, 13), date(2020, 6, 19)) / 7
    assert after > 4 * before
    may_daily = total(counts, "beijing", date(2020, 5, 1), date(2020, 5, 31)) / 31
    assert before == pytest.approx(may_daily, rel=0.5)


def test_other_cities_average_and_slow_rise(corpus):
    counts = city_days(corpus)
    h2019 = others_total(counts, date(2019, 7, 1), date(2019, 12, 31)) / 6 / OTHER_CITIES
    h2020 = others_total(counts, date(2020, 1, 1), date(2020, 6, 30)) / 6 / OTHER_CITIES
    assert h2019 == pytest.approx(OTHERS_MONTHLY_H2_2019 / SCALE, rel=0.08)
    assert h2020 == pytest.approx(OTHERS_MONTHLY_H1_2020 / SCALE, rel=0.08)
    year = {c: total(counts, c, date(2019, 7, 1), date(2020, 6, 30))
            for c in ("shanghai", "shenzhen", "guangzhou", "zhengzhou", "shenyang")}
    assert min(year["shanghai"], year["shenzhen"], year["guangzhou"]) > 2 * max(
        year["zhengzhou"], year["shenyang"])


def test_weekends_carry_less_coverage_than_weekdays(corpus):
    days = Counter(a.day for a in corpus if a.day and a.day < date(2019, 12, 1))
    weekday = [n for d, n in days.items() if d.weekday() < 5]
    weekend = [n for d, n in days.items() if d.weekday() >= 5]
    ratio = (sum(weekend) / len(weekend)) / (sum(weekday) / len(weekday))
    assert 0.55 < ratio < 0.75


def test_same_seed_same_corpus_other_seed_other_draw():
    first = [(a.id, a.title) for a in islice(generate(seed=7), 3000)]
    again = [(a.id, a.title) for a in islice(generate(seed=7), 3000)]
    other = [(a.id, a.title) for a in islice(generate(seed=8), 3000)]
    assert first == again
    assert first != other


def test_languages_topics_outlets_and_voices_vary(corpus):
    languages = Counter(a.extras["truth"]["language"] for a in corpus)
    assert 0.5 < languages["en"] / len(corpus) < 0.72
    assert {"fr", "de", "es", "it", "pt", "ru", "ja", "ko", "ar"} <= set(languages)
    topics = Counter(a.extras["truth"]["topic"] for a in corpus)
    assert {"public_health", "tourism", "food", "pandas_wildlife", "sport_events",
            "economy_business", "technology", "culture_heritage", "politics_diplomacy",
            "crime_safety", "environment_disasters"} <= set(topics)
    assert len({a.title for a in corpus}) > 3000
    assert len({a.outlet for a in corpus}) > 40
    own = [a for a in corpus if a.voice == "own"]
    assert 0 < len(own) < 0.1 * len(corpus)
    assert {"CGTN", "SHINE"} <= {a.outlet for a in own}
    assert "Wuhan" in next(a.title for a in corpus if a.extras["truth"]["city"] == "wuhan"
                           and a.extras["truth"]["language"] == "en")


def test_government_metonym_stories_run_all_year(corpus):
    government = [a for a in corpus if a.extras["truth"]["mention"] == "government"]
    assert len(government) > 300
    assert {a.day.month for a in government} == set(range(1, 13))
    assert all(a.extras["truth"]["topic"] == "politics_diplomacy" for a in government)


def test_text_uses_each_languages_city_names(corpus):
    def titles(language: str, city: str) -> str:
        return " ".join(a.title + " " + a.summary for a in corpus
                        if a.extras["truth"]["language"] == language
                        and a.extras["truth"]["city"] == city)

    assert "Ухань" in titles("ru", "wuhan")
    assert "武漢" in titles("ja", "wuhan")
    assert "Pékin" in titles("fr", "beijing")
    assert "ووهان" in titles("ar", "wuhan")


def test_bad_scale_is_refused():
    with pytest.raises(ValueError, match="scale"):
        next(generate(scale=0))
