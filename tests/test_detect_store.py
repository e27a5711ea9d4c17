"""update_alerts on a real SQLiteStore: episodes, evidence, idempotence, growth."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from alerts.run_detection import alert_id, update_alerts
from search.sqlite_store import SQLiteStore
from tests.conftest import CONFIG_DIR
from tests.contract.factories import make_article

START = date(2019, 10, 1)
SURGE = date(2019, 12, 2)
DAYS = 90


def coverage(first_day: int, last_day: int, seed: int = 1) -> list:
    """Wuhan ~3/day, then from SURGE a negative public-health surge; Beijing's government
    metonyms ("Beijing said...") surge at the same time but are not coverage of Beijing."""
    rng = np.random.default_rng(seed)
    articles = []
    for i in range(first_day, last_day + 1):
        day = START + timedelta(days=i)
        surging = day >= SURGE
        for n in range(int(rng.poisson(30 if surging else 3))):
            negative = surging and n % 5 != 0
            articles.append(make_article(
                url=f"https://news.example.com/{day}/wuhan-{n}",
                title=f"{'Outbreak fears grip' if surging else 'Life in'} Wuhan {n}",
                summary="Hospitals report new pneumonia cases." if surging else "Street food.",
                published_at=day,
                cities=["wuhan"],
                topics=["health"] if surging else ["food"],
                sentiment=-0.7 if negative else 0.1,
                outlet="Daily Planet" if n % 2 else "World Wire",
            ))
        for n in range(int(rng.poisson(25 if surging else 2))):
            articles.append(make_article(
                url=f"https://news.example.com/{day}/beijing-says-{n}",
                title=f"Beijing says trade talks continue {n}",
                published_at=day,
                cities=[],
                government=["beijing"],
                topics=["politics"],
            ))
    return articles


@pytest.fixture
def store(tmp_path):
    with SQLiteStore(tmp_path / "alerts.db") as opened:
        yield opened


def test_surge_becomes_one_alert_per_kind_with_evidence(store):
    store.upsert_articles(coverage(0, DAYS - 1))

    written = [a for a in update_alerts(store, CONFIG_DIR) if a.language_group == "all"]

    by_kind = {a.kind: a for a in written}
    assert set(by_kind) == {"volume_surge", "negative_spike"}
    assert {a.city for a in written} == {"wuhan"}  # government metonyms are not coverage
    surge = by_kind["volume_surge"]
    assert abs((surge.start - SURGE).days) <= 1
    assert surge.id == alert_id("wuhan", "volume_surge", surge.start)
    assert surge.observed > 2.5 * surge.expected
    assert surge.status == "new"
    assert [h.what for h in surge.history] == ["opened"]
    evidence = surge.evidence
    assert len(evidence["stories"]) == 10
    onset = [s for s in evidence["stories"] if s["phase"] == "onset"]
    around_peak = [s for s in evidence["stories"] if s["phase"] == "peak"]
    assert len(onset) == len(around_peak) == 5
    # the first reports of the surge, oldest first, then the reports around its peak
    onset_days = [date.fromisoformat(s["published_at"][:10]) for s in onset]
    assert onset_days == sorted(onset_days) and onset_days[0] == surge.start
    assert all((day - surge.start).days < 3 for day in onset_days)
    assert all(abs((date.fromisoformat(s["published_at"][:10]) - surge.peak).days) <= 1
               for s in around_peak)
    assert all(s["url"].startswith("https://") and s["outlet"] for s in evidence["stories"])
    assert max(evidence["topics"], key=evidence["topics"].get) == "health"
    assert set(evidence["languages"]) == {"en"}
    assert set(evidence["outlets"]) == {"Daily Planet", "World Wire"}
    terms = [t["term"] for t in evidence["terms"]]
    assert any(t in terms for t in ("outbreak", "pneumonia", "hospitals"))
    days = [p["day"] for p in evidence["series"]]
    assert days[0] <= (surge.start - timedelta(days=7)).isoformat()
    assert surge.end.isoformat() in days
    negative = by_kind["negative_spike"]
    tones = [s["tone"] for s in negative.evidence["stories"]]
    assert tones == sorted(tones) and max(tones) < 0
    assert store.get_alert(surge.id) == surge


def test_rerunning_detection_changes_nothing(store):
    store.upsert_articles(coverage(0, DAYS - 1))
    update_alerts(store, CONFIG_DIR)
    before = {a.id: a for a in store.list_alerts()}

    assert update_alerts(store, CONFIG_DIR) == []
    assert {a.id: a for a in store.list_alerts()} == before


def test_growing_episode_is_updated_and_keeps_triage(store):
    store.upsert_articles(coverage(0, 66))
    [first] = [a for a in update_alerts(store, CONFIG_DIR)
               if a.kind == "volume_surge" and a.language_group == "all"]
    from alerts.episodes import transition

    acknowledged = transition(first, "acknowledged", note="watching", by="analyst")
    store.upsert_alert(transition(acknowledged, "resolved", note="handled", by="analyst"))

    store.upsert_articles(coverage(67, DAYS - 1))
    written = update_alerts(store, CONFIG_DIR)

    [grown] = [a for a in written if a.kind == "volume_surge" and a.language_group == "all"]
    assert grown.id == first.id
    assert grown.end > first.end
    assert grown.notes == ["watching", "handled"]
    assert grown.status == "acknowledged"  # reopened: it grew after it was resolved
    whats = [h.what for h in grown.history]
    assert whats[:3] == ["opened", "status: acknowledged", "status: resolved"]
    assert whats[3].startswith("grew")
    assert whats[4] == "status: acknowledged"
    # still one episode per language group (all English here: "all" and "en")
    surges = store.list_alerts(kinds=["volume_surge"])
    assert sorted(a.language_group for a in surges) == ["all", "en"]


def test_since_skips_episodes_that_ended_before(store):
    store.upsert_articles(coverage(0, DAYS - 1))
    assert update_alerts(store, CONFIG_DIR, since=START + timedelta(days=DAYS + 30)) == []
    assert store.list_alerts() == []


def test_empty_store_gives_no_alerts(store):
    assert update_alerts(store, CONFIG_DIR) == []


def test_a_surge_in_other_languages_is_alerted_in_its_language_group(store):
    """English coverage stays flat while French and German coverage surges: the "other" group
    and "all" alert, "en" does not, and the "other" evidence holds only its languages."""
    rng = np.random.default_rng(5)
    articles = []
    for i in range(DAYS):
        day = START + timedelta(days=i)
        for n in range(int(rng.poisson(6))):
            articles.append(make_article(url=f"https://en.example.com/{day}/{n}",
                                         published_at=day, cities=["wuhan"], language="en"))
        surging = day >= SURGE
        for n in range(int(rng.poisson(25 if surging else 2))):
            articles.append(make_article(url=f"https://eu.example.com/{day}/{n}",
                                         published_at=day, cities=["wuhan"],
                                         language="fr" if n % 2 else "de"))
    store.upsert_articles(articles)

    written = update_alerts(store, CONFIG_DIR)

    surges = {a.language_group: a for a in written if a.kind == "volume_surge"}
    assert set(surges) == {"all", "other"}
    assert surges["other"].id == alert_id("wuhan", "volume_surge", surges["other"].start, "other")
    assert abs((surges["other"].start - SURGE).days) <= 1
    assert set(surges["other"].evidence["languages"]) == {"fr", "de"}
    assert "en" in surges["all"].evidence["languages"]


def test_language_groups_come_from_the_config(store, tmp_path):
    (tmp_path / "alerts.yaml").write_text("language_groups: [all]\n")
    store.upsert_articles(coverage(0, DAYS - 1))

    written = update_alerts(store, tmp_path)

    assert {a.language_group for a in written} == {"all"}
