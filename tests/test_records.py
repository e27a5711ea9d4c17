"""Records serialize themselves: one JSON form for every backend, the CLI and the spool."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

from cityradar.records import (
    Alert,
    AlertUpdate,
    Article,
    CityMention,
    FetchState,
    SourceHealth,
    Tags,
)

WHEN = datetime(2024, 3, 5, 8, 30, tzinfo=UTC)


def test_every_record_round_trips_through_json() -> None:
    tags = Tags(language="zh", language_confidence=0.9,
                mentions=[CityMention("wuhan", "武汉", 0, 2), CityMention("beijing", "北京", 3, 5,
                                                                            "government")],
                cities={"wuhan": 1.0}, topics={"health": 0.8}, sentiment=-0.4,
                sentiment_label="negative", city_sentiment={"wuhan": -0.6}, tagger_version="t1")
    records = [
        Article(id="a1", url="https://x.example/1", title="武汉 news", published_at=WHEN,
                fetched_at=WHEN, extras={"tone": -2.5}, tags=tags),
        Article(id="a2", url="https://x.example/2", title="undated"),
        Alert(id="al", city="wuhan", kind="volume_surge", start=date(2024, 3, 1),
              peak=date(2024, 3, 3), end=date(2024, 3, 4), observed=40, expected=8.5,
              severity=3.2, notes=["checked"], created_at=WHEN,
              history=[AlertUpdate(WHEN, "opened"), AlertUpdate(WHEN, "status: acknowledged",
                                                               "on it", by="ana")]),
        SourceHealth("feed", last_attempt=WHEN, last_success=WHEN, last_error="HTTP 500",
                     last_error_at=WHEN, items_seen=3, consecutive_failures=1),
        FetchState("https://feeds.example/a.xml", etag='"e1"', last_modified="Tue",
                   fetched_at=WHEN),
    ]
    for record in records:
        text = record.to_json()
        assert type(record).from_json(text) == record
        data = json.loads(text)
        assert list(data) == sorted(data)  # stable form: content hashes compare it byte for byte
    assert json.loads(records[2].to_json())["history"][1] == {
        "at": "2024-03-05T08:30:00+00:00", "what": "status: acknowledged", "note": "on it",
        "by": "ana"}


def test_from_dict_takes_utc_ignores_unknown_keys_and_fills_defaults() -> None:
    plus8 = timezone(timedelta(hours=8))
    health = SourceHealth.from_dict({"source_id": "s", "last_success": "2024-03-05T16:30:00+08:00",
                                     "last_attempt": "2024-03-05T08:30:00", "added_later": 1})
    assert health.last_success == WHEN and health.last_success.tzinfo == UTC
    assert health.last_attempt == WHEN  # naive: taken as UTC
    assert health.last_error_at is None and health.items_seen == 0
    state = FetchState.from_dict({"url": "u", "fetched_at": WHEN.astimezone(plus8).isoformat()})
    assert state.fetched_at == WHEN and state.etag is None


def test_per_city_prefers_place_and_gives_mentioned_cities_zero_relevance() -> None:
    tags = Tags(mentions=[CityMention("beijing", "Beijing", 0, 7, "government"),
                          CityMention("beijing", "Beijing", 20, 27, "place"),
                          CityMention("shanghai", "Shanghai", 30, 38, "government")],
                cities={"wuhan": 0.9, "beijing": 1.0}, sentiment=-0.2,
                city_sentiment={"beijing": 0.5})
    assert sorted(tags.per_city()) == [
        ("beijing", "place", 1.0, 0.5),
        ("shanghai", "government", 0.0, -0.2),
        ("wuhan", "place", 0.9, -0.2),
    ]
