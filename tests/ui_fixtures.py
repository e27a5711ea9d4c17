"""A small real SQLite store for the UI tests: the Wuhan January 2020 surge in miniature.

Wuhan has a quiet baseline (food, tourism; a few articles a day in en/fr/de), then a
public-health surge from 2020-01-20 in five languages with a ``volume_surge`` alert whose
evidence names its stories; Beijing has a resolved ``negative_spike`` in June 2020 whose
evidence carries no story ids (the UI must find the stories itself); Chengdu has own-voice
coverage (voice="own") next to foreign coverage.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cityradar.records import Alert, AlertUpdate, Article, CityMention, Tags

SURGE_START = date(2020, 1, 20)
SURGE_PEAK = date(2020, 1, 24)
SURGE_END = date(2020, 1, 31)
WUHAN_ALERT_ID = "wuhan-volume_surge-2020-01-20-all"
BEIJING_ALERT_ID = "beijing-negative_spike-2020-06-12-all"

# The stories the Wuhan alert's evidence names (title, language, outlet, day, tone).
WUHAN_STORIES = [
    ("Wuhan hospitals overwhelmed as new virus spreads", "en", "Reuters", date(2020, 1, 23),
     -0.8),
    ("Wuhan placed under lockdown as outbreak grows", "en", "BBC News", date(2020, 1, 23),
     -0.7),
    ("Coronavirus : Wuhan, ville fantôme en quarantaine", "fr", "Le Monde", date(2020, 1, 24),
     -0.6),
    ("Wuhan: Millionenstadt im Ausnahmezustand", "de", "Der Spiegel", date(2020, 1, 24), -0.5),
    ("Wuhan cierra su transporte público por el virus", "es", "El País", date(2020, 1, 25),
     -0.6),
]


@dataclass(slots=True)
class UiFixture:
    path: Path
    store_url: str
    wuhan_alert_id: str = WUHAN_ALERT_ID
    beijing_alert_id: str = BEIJING_ALERT_ID
    story_titles: list[str] = field(default_factory=list)
    articles: list[Article] = field(default_factory=list)


def _article(city: str, title: str, day: date, *, language: str = "en", outlet: str = "Reuters",
             tone: float = 0.0, topics: dict[str, float] | None = None, summary: str = "",
             voice: str = "foreign", hour: int = 9) -> Article:
    url = f"https://news.example/{language}/{day.isoformat()}/{hashlib.sha1(title.encode()).hexdigest()[:12]}"
    label = "negative" if tone <= -0.2 else "positive" if tone >= 0.2 else "neutral"
    surface = title.split()[0].strip(":,") if city.lower() in title.lower() else city.title()
    start = max(title.lower().find(city.lower()), 0)
    published = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
    return Article(
        id=hashlib.sha1(url.encode()).hexdigest()[:16],
        url=url,
        title=title,
        summary=summary,
        published_at=published,
        fetched_at=published + timedelta(minutes=30),
        outlet=outlet,
        domain=outlet.lower().replace(" ", "") + ".example",
        voice=voice,  # type: ignore[arg-type]
        tags=Tags(
            language=language,
            language_confidence=0.99,
            mentions=[CityMention(city=city, surface=surface, start=start,
                                  end=start + len(surface))],
            cities={city: 1.0},
            topics=topics or {},
            sentiment=tone,
            sentiment_label=label,  # type: ignore[arg-type]
            city_sentiment={city: tone},
            tagger_version="ui-fixture",
        ),
    )


def fixture_articles() -> tuple[list[Article], list[Article]]:
    """All articles, and the Wuhan alert's evidence stories among them."""
    articles: list[Article] = []
    baseline = [
        ("Wuhan street food: the hot dry noodles worth the trip", "en", "CNN Travel",
         {"food": 0.9}, 0.6),
        ("Les cerisiers en fleurs de l'université de Wuhan", "fr", "Le Figaro",
         {"tourism": 0.8}, 0.5),
        ("Wuhan baut neue Hochgeschwindigkeitsstrecke", "de", "FAZ",
         {"economy_business": 0.7}, 0.1),
    ]
    day = SURGE_START - timedelta(days=35)
    while day < SURGE_START:
        for index, (title, language, outlet, topics, tone) in enumerate(baseline):
            if (day.toordinal() + index) % 2 == 0:
                articles.append(_article("wuhan", f"{title} ({day:%d %b})", day,
                                         language=language, outlet=outlet, tone=tone,
                                         topics=topics, hour=8 + index))
        day += timedelta(days=1)

    surge_languages = [("en", "AP News"), ("fr", "France 24"), ("es", "El Mundo"),
                       ("ja", "NHK"), ("de", "Die Zeit"), ("en", "The Guardian")]
    day = SURGE_START
    while day <= SURGE_END:
        daily = 6 if day == SURGE_PEAK else 4
        for index in range(daily):
            language, outlet = surge_languages[(day.day + index) % len(surge_languages)]
            articles.append(_article(
                "wuhan", f"Wuhan outbreak update {day:%d %b} #{index + 1}: cases and quarantine",
                day, language=language, outlet=outlet, tone=-0.6,
                topics={"public_health": 0.95}, hour=10 + index,
                summary="Authorities in Wuhan extend the lockdown as the virus spreads."))
        day += timedelta(days=1)
    stories = [
        _article("wuhan", title, story_day, language=language, outlet=outlet, tone=tone,
                 topics={"public_health": 0.9}, hour=18,
                 summary="Residents of Wuhan face quarantine and lockdown measures.")
        for title, language, outlet, story_day, tone in WUHAN_STORIES
    ]
    articles.extend(stories)

    for offset in range(10):
        day = date(2020, 6, 8) + timedelta(days=offset)
        articles.append(_article(
            "beijing", f"Beijing Xinfadi market cluster report {offset + 1}", day,
            outlet="Reuters", tone=-0.7, topics={"public_health": 0.9},
            summary="New cases linked to the Xinfadi wholesale market in Beijing."))
        articles.append(_article(
            "beijing", f"Beijing museums reopen to visitors {offset + 1}", day,
            language="fr", outlet="Le Monde", tone=0.3, topics={"tourism": 0.8}, hour=14))
    for offset in range(6):
        day = date(2020, 3, 2) + timedelta(days=7 * offset)
        articles.append(_article("chengdu", f"Chengdu giant panda base welcomes cubs {offset}",
                                 day, outlet="iChongqing", voice="own", tone=0.7,
                                 topics={"pandas_wildlife": 0.9}))
        articles.append(_article("chengdu", f"Chengdu hotpot guide part {offset}", day,
                                 outlet="The Guardian", tone=0.5, topics={"food": 0.9}, hour=12))
    return articles, stories


def fixture_alerts(stories: list[Article]) -> list[Alert]:
    created = datetime(2020, 1, 22, 6, tzinfo=UTC)
    wuhan = Alert(
        id=WUHAN_ALERT_ID, city="wuhan", kind="volume_surge", start=SURGE_START,
        peak=SURGE_PEAK, end=SURGE_END, observed=6 + 1, expected=1.5, severity=12.4,
        evidence={
            "stories": [s.id for s in stories],
            "terms": [{"term": "lockdown", "score": 8.2}, {"term": "quarantine", "score": 7.1},
                      {"term": "virus", "score": 6.5}],
            "topics": {"public_health": 37},
            "languages": {"en": 14, "fr": 7, "es": 6, "de": 6, "ja": 4},
            "outlets": {"AP News": 7, "France 24": 7, "El Mundo": 6, "Reuters": 1},
        },
        history=[AlertUpdate(at=created, what="opened", by="detector")],
        created_at=created, updated_at=created,
    )
    beijing_created = datetime(2020, 6, 13, 6, tzinfo=UTC)
    beijing = Alert(
        id=BEIJING_ALERT_ID, city="beijing", kind="negative_spike", start=date(2020, 6, 12),
        peak=date(2020, 6, 14), end=date(2020, 6, 17), observed=1, expected=0.1, severity=5.2,
        evidence={"terms": [["xinfadi", 9.0], ["market", 6.0]]},
        status="resolved", notes=["Checked: market outbreak, municipal briefing issued."],
        history=[AlertUpdate(at=beijing_created, what="opened", by="detector"),
                 AlertUpdate(at=beijing_created + timedelta(days=2), what="status: resolved",
                             note="Checked: market outbreak, municipal briefing issued.",
                             by="analyst")],
        created_at=beijing_created, updated_at=beijing_created + timedelta(days=2),
    )
    return [wuhan, beijing]


def build_ui_store(directory: Path) -> UiFixture:
    """Write the fixture corpus and alerts into a fresh SQLite store under ``directory``."""
    from search import open_store

    path = Path(directory) / "ui.db"
    url = f"sqlite:///{path}"
    articles, stories = fixture_articles()
    store = open_store(url)
    try:
        result = store.upsert_articles(articles)
        if result.failed:
            raise RuntimeError(f"fixture articles rejected: {result.failed[:3]}")
        for alert in fixture_alerts(stories):
            store.upsert_alert(alert)
    finally:
        store.close()
    return UiFixture(path=path, store_url=url, story_titles=[s[0] for s in WUHAN_STORIES],
                     articles=articles)
