"""The Store contract: what every backend must do, tested through the ``store`` fixture only.

Ordering rules every backend shares: search newest = (published_at desc, id asc), oldest =
(published_at asc, id asc), unknown dates last; iter_articles oldest first, unknown dates last
by id; aggregations by bucket then key; alerts by (start desc, peak desc, id asc).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from cityradar.records import AlertUpdate, Article, FetchState, SourceHealth
from search.store import ArticleFilter, SearchQuery, Store
from tests.contract.factories import make_alert, make_article


def titles(articles: list[Article]) -> list[str]:
    return [a.title for a in articles]


@pytest.fixture
def corpus(store: Store) -> dict[str, Article]:
    """A small corpus covering every filter dimension."""
    articles = {
        "wuhan_outbreak": make_article(
            title="Wuhan outbreak: hospitals overwhelmed by virus patients",
            summary="Pneumonia cases rise in Wuhan as the virus spreads.",
            published_at="2020-01-22", cities=["wuhan"], topics=["health"], sentiment=-0.7,
            outlet="Daily Planet", country="GB", language="en",
        ),
        "wuhan_lockdown": make_article(
            title="Wuhan lockdown: virus outbreak closes the city",
            summary="Trains and flights halted to contain the virus outbreak.",
            published_at="2020-01-23", cities=["wuhan"], topics=["health", "transport"],
            sentiment=-0.5, outlet="Daily Planet", country="GB", language="en",
        ),
        "wuhan_fr": make_article(
            title="Wuhan: l'épidémie de virus progresse",
            summary="La ville est en quarantaine.",
            published_at="2020-01-24", cities=["wuhan"], topics=["health"], sentiment=-0.4,
            outlet="Le Quotidien", country="FR", language="fr",
        ),
        "beijing_gov": make_article(
            title="Beijing responds to trade talks",
            summary="Beijing said tariffs would hurt both sides.",
            published_at="2020-02-03", cities=[], government=["beijing"], topics=["economy"],
            sentiment=0.0, outlet="Wire Service", country="US", language="en",
        ),
        "chengdu_panda": make_article(
            title="Giant panda cubs delight visitors in Chengdu",
            summary="The research base welcomes tourists and food lovers.",
            published_at="2020-02-10", cities=["chengdu"], topics=["tourism", "culture"],
            sentiment=0.8, outlet="Travel Weekly", country="US", language="en",
        ),
        "chengdu_own": make_article(
            title="Chengdu hot pot festival opens",
            summary="Food festival draws crowds.",
            published_at="2020-02-11", cities=["chengdu"], topics=["food"], sentiment=0.6,
            outlet="iChengdu", country="CN", language="en", voice="own",
        ),
        "wuhan_syndicated": make_article(
            url="https://mirror.example.org/wuhan-outbreak",
            title="Wuhan outbreak: hospitals overwhelmed by virus patients",
            summary="Pneumonia cases rise in Wuhan as the virus spreads.",
            published_at="2020-01-22", cities=["wuhan"], topics=["health"], sentiment=-0.7,
            outlet="Mirror Times", country="AU", language="en",
        ),
        "wuhan_zh": make_article(
            title="武汉市发生新型冠状病毒疫情",
            summary="武汉封城，交通停运。",
            published_at="2020-01-23", cities=["wuhan"], topics=["health"], sentiment=-0.6,
            outlet="星岛日报", country="HK", language="zh",
        ),
        "undated": make_article(
            title="Shanghai skyline at night", summary="A photo essay on the Bund.",
            published_at=None, cities=["shanghai"], topics=["culture"], sentiment=0.3,
            outlet="Photo Monthly", country="US", language="en",
        ),
    }
    articles["wuhan_syndicated"].dup_of = articles["wuhan_outbreak"].id
    result = store.upsert_articles(articles.values())
    assert result.inserted == len(articles)
    assert result.failed == []
    return articles


# -- upsert ------------------------------------------------------------------------------------


def test_upsert_is_idempotent(store: Store, corpus: dict[str, Article]) -> None:
    again = store.upsert_articles(corpus.values())
    assert again.inserted == 0
    assert again.updated == 0
    assert store.count() == len(corpus)


def test_upsert_replaces_by_id_with_new_tags(store: Store, corpus: dict[str, Article]) -> None:
    changed = corpus["chengdu_panda"]
    assert changed.tags is not None
    changed.title = "Giant panda cubs moved to Chongqing"
    changed.tags.cities = {"chongqing": 1.0}
    changed.tags.mentions = []
    changed.tags.topics = {"environment": 0.9}

    result = store.upsert_articles([changed])

    assert (result.inserted, result.updated) == (0, 1)
    assert store.count() == len(corpus)
    assert store.get_article(changed.id) == changed
    assert store.count(ArticleFilter(cities=["chengdu"])) == 1
    assert store.count(ArticleFilter(cities=["chongqing"])) == 1
    assert store.count(ArticleFilter(topics=["tourism"])) == 0
    assert titles(store.search(SearchQuery(text="Chongqing")).articles) == [changed.title]
    assert store.search(SearchQuery(text="delight")).total == 0


def test_get_and_has_articles(store: Store, corpus: dict[str, Article]) -> None:
    ids = [corpus["chengdu_own"].id, "missing-id", corpus["wuhan_fr"].id]
    assert store.get_articles(ids) == [corpus["chengdu_own"], corpus["wuhan_fr"]]
    assert store.has_articles(ids) == {corpus["chengdu_own"].id, corpus["wuhan_fr"].id}
    assert store.get_article("missing-id") is None
    assert store.get_articles([]) == []
    assert store.has_articles([]) == set()


def test_every_field_unicode_heavy_round_trips_exactly(store: Store) -> None:
    mixed = "ووهان 武汉市 🦠😷 e\u0301te\u0301 \u202bRTL\u202c \u200f مرحبا \x01\x1f\t tab"
    article = make_article(
        url=f"https://例子.测试/新闻?q={mixed}",
        title=f"Title {mixed}",
        summary=f"Summary {mixed}",
        body=f"Body {mixed}\n" * 3,
        outlet=f"Outlet {mixed}",
        domain="例子.测试",
        country="EG",
        source_id=f"source {mixed}",
        language_hint="ar",
        cluster_id=f"cluster {mixed}",
        extras={"themes": [mixed, "🐼"], "tone": -3.25, mixed: {"nested": mixed}},
        language="ar",
        cities={"wuhan": 0.75},
        topics={f"topic {mixed}": 0.5},
        sentiment=-0.3125,
        tagger_version=f"v {mixed}",
    )
    assert store.upsert_articles([article]).inserted == 1
    assert store.get_article(article.id) == article
    assert store.get_articles([article.id]) == [article]
    assert list(store.iter_articles()) == [article]
    assert store.search(SearchQuery(text="مرحبا")).articles == [article]


def test_article_with_unknown_date(store: Store) -> None:
    undated = make_article(published_at=None, fetched_at=None)
    store.upsert_articles([undated])
    assert store.get_article(undated.id) == undated
    assert store.count() == 1
    assert store.count(ArticleFilter(date_from=date(2000, 1, 1))) == 0
    assert store.count(ArticleFilter(date_to=date(2100, 1, 1))) == 0
    assert store.date_range() is None
    assert store.aggregate(interval="day") == []
    overall = store.aggregate(interval=None)
    assert [(r.bucket, r.count) for r in overall] == [(None, 1)]


# -- filters -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (ArticleFilter(), {"wuhan_outbreak", "wuhan_lockdown", "wuhan_fr", "beijing_gov",
                           "chengdu_panda", "chengdu_own", "wuhan_syndicated", "wuhan_zh",
                           "undated"}),
        (ArticleFilter(cities=["wuhan"]), {"wuhan_outbreak", "wuhan_lockdown", "wuhan_fr",
                                           "wuhan_syndicated", "wuhan_zh"}),
        (ArticleFilter(cities=["beijing", "chengdu"]),
         {"beijing_gov", "chengdu_panda", "chengdu_own"}),
        (ArticleFilter(cities=["beijing"], include_government=False), set()),
        (ArticleFilter(languages=["fr", "zh"]), {"wuhan_fr", "wuhan_zh"}),
        (ArticleFilter(topics=["food", "transport"]), {"chengdu_own", "wuhan_lockdown"}),
        (ArticleFilter(sentiment_labels=["positive"]),
         {"chengdu_panda", "chengdu_own", "undated"}),
        (ArticleFilter(outlets=["Daily Planet"]), {"wuhan_outbreak", "wuhan_lockdown"}),
        (ArticleFilter(countries=["FR", "HK"]), {"wuhan_fr", "wuhan_zh"}),
        (ArticleFilter(voice="own"), {"chengdu_own"}),
        (ArticleFilter(date_from=date(2020, 1, 23), date_to=date(2020, 1, 24)),
         {"wuhan_lockdown", "wuhan_fr", "wuhan_zh"}),
        (ArticleFilter(date_from=date(2020, 2, 10)), {"chengdu_panda", "chengdu_own"}),
        (ArticleFilter(date_to=date(2020, 1, 22)), {"wuhan_outbreak", "wuhan_syndicated"}),
        (ArticleFilter(cities=["wuhan"], unique_stories=True),
         {"wuhan_outbreak", "wuhan_lockdown", "wuhan_fr", "wuhan_zh"}),
        (ArticleFilter(cities=["wuhan"], languages=["en"], sentiment_labels=["negative"],
                       date_from=date(2020, 1, 23)), {"wuhan_lockdown"}),
    ],
)
def test_filters_select_the_matching_articles(
    store: Store, corpus: dict[str, Article], filters: ArticleFilter, expected: set[str]
) -> None:
    expected_ids = {corpus[name].id for name in expected}
    assert {a.id for a in store.iter_articles(filters)} == expected_ids
    assert store.count(filters) == len(expected)
    found = store.search(SearchQuery(filters=filters, limit=100))
    assert found.total == len(expected)
    assert {a.id for a in found.articles} == expected_ids


def test_government_mentions_count_only_when_included(
    store: Store, corpus: dict[str, Article]
) -> None:
    with_gov = store.aggregate(ArticleFilter(cities=["beijing"]), interval=None,
                               group_by=["city"])
    without = store.aggregate(ArticleFilter(cities=["beijing"], include_government=False),
                              interval=None, group_by=["city"])
    assert [(r.key, r.count) for r in with_gov] == [({"city": "beijing"}, 1)]
    assert without == []


# -- search ------------------------------------------------------------------------------------


def test_search_ands_words_and_keeps_phrases(store: Store, corpus: dict[str, Article]) -> None:
    both = store.search(SearchQuery(text="virus lockdown"))
    assert titles(both.articles) == [corpus["wuhan_lockdown"].title]
    phrase = store.search(SearchQuery(text='"virus outbreak"'))
    assert titles(phrase.articles) == [corpus["wuhan_lockdown"].title]
    loose = store.search(SearchQuery(text="virus outbreak"))
    assert loose.total == 3  # outbreak, syndicated copy, lockdown
    assert store.search(SearchQuery(text='"outbreak virus"')).total == 0


def test_search_prefix_case_and_diacritics(store: Store, corpus: dict[str, Article]) -> None:
    assert titles(store.search(SearchQuery(text="pand*")).articles) == [
        corpus["chengdu_panda"].title
    ]
    assert store.search(SearchQuery(text="WUHAN")).total == 5 - 1  # zh article says 武汉
    assert titles(store.search(SearchQuery(text="epidemie")).articles) == [
        corpus["wuhan_fr"].title
    ]


def test_search_cjk_text(store: Store, corpus: dict[str, Article]) -> None:
    zh = [corpus["wuhan_zh"].title]
    assert titles(store.search(SearchQuery(text="武汉")).articles) == zh
    assert titles(store.search(SearchQuery(text="冠状病毒")).articles) == zh
    assert titles(store.search(SearchQuery(text="封城")).articles) == zh
    assert titles(store.search(SearchQuery(text="武汉 疫情")).articles) == zh
    assert store.search(SearchQuery(text="上海")).total == 0
    assert store.search(SearchQuery(text="病毒武汉")).total == 0


def test_search_with_filters(store: Store, corpus: dict[str, Article]) -> None:
    query = SearchQuery(
        text="virus",
        filters=ArticleFilter(cities=["wuhan"], languages=["en"], date_from=date(2020, 1, 23),
                              date_to=date(2020, 1, 31)),
    )
    assert titles(store.search(query).articles) == [corpus["wuhan_lockdown"].title]


def test_search_sort_orders_and_paging(store: Store, corpus: dict[str, Article]) -> None:
    same_day = sorted([corpus["wuhan_outbreak"], corpus["wuhan_syndicated"]], key=lambda a: a.id)
    newest = store.search(SearchQuery(limit=100)).articles
    assert [a.id for a in newest] == [
        corpus["chengdu_own"].id, corpus["chengdu_panda"].id, corpus["beijing_gov"].id,
        corpus["wuhan_fr"].id,
        *sorted([corpus["wuhan_lockdown"].id, corpus["wuhan_zh"].id]),
        *[a.id for a in same_day],
        corpus["undated"].id,
    ]
    oldest = store.search(SearchQuery(sort="oldest", limit=100)).articles
    assert [a.id for a in oldest[:2]] == [a.id for a in same_day]
    assert oldest[-1].id == corpus["undated"].id

    page = store.search(SearchQuery(limit=3, offset=3))
    assert page.total == len(corpus)
    assert [a.id for a in page.articles] == [a.id for a in newest[3:6]]
    assert store.search(SearchQuery(limit=3, offset=100)).articles == []


def test_search_relevance_prefers_more_matches(store: Store) -> None:
    strong = make_article(title="Outbreak outbreak outbreak in Wuhan",
                          summary="The outbreak grows.", published_at="2020-01-01")
    weak = make_article(title="Markets in Wuhan",
                        summary="Traders shrug off the outbreak and a long list of other "
                                "news about weather sports and politics today.",
                        published_at="2020-03-01")
    store.upsert_articles([weak, strong])
    ranked = store.search(SearchQuery(text="outbreak", sort="relevance")).articles
    assert [a.id for a in ranked] == [strong.id, weak.id]
    newest = store.search(SearchQuery(text="outbreak", sort="newest")).articles
    assert [a.id for a in newest] == [weak.id, strong.id]


# -- aggregations ------------------------------------------------------------------------------


def test_aggregate_daily_by_city_and_language(store: Store, corpus: dict[str, Article]) -> None:
    rows = store.aggregate(
        ArticleFilter(cities=["wuhan"]), interval="day", group_by=["city", "language"]
    )
    got = [(r.bucket, r.key["language"], r.count, r.negative) for r in rows]
    assert got == [
        (date(2020, 1, 22), "en", 2, 2),
        (date(2020, 1, 23), "en", 1, 1),
        (date(2020, 1, 23), "zh", 1, 1),
        (date(2020, 1, 24), "fr", 1, 1),
    ]
    assert all(r.key["city"] == "wuhan" for r in rows)
    assert rows[1].mean_tone == pytest.approx(-0.5)


def test_aggregate_weekly_and_monthly(store: Store, corpus: dict[str, Article]) -> None:
    weekly = store.aggregate(interval="week")
    assert [(r.bucket, r.count) for r in weekly] == [
        (date(2020, 1, 20), 5),  # Monday of the week of 22-24 January
        (date(2020, 2, 3), 1),
        (date(2020, 2, 10), 2),
    ]
    monthly = store.aggregate(interval="month", group_by=["outlet"])
    january = {r.key["outlet"]: r.count for r in monthly if r.bucket == date(2020, 1, 1)}
    assert january == {"Daily Planet": 2, "Le Quotidien": 1, "Mirror Times": 1, "星岛日报": 1}
    assert [r.bucket for r in monthly] == sorted(r.bucket for r in monthly)


def test_aggregate_topics_count_each_article_once_per_topic(
    store: Store, corpus: dict[str, Article]
) -> None:
    rows = store.aggregate(ArticleFilter(cities=["wuhan", "chengdu"]), interval=None,
                           group_by=["topic"])
    assert {r.key["topic"]: r.count for r in rows} == {
        "health": 5, "transport": 1, "tourism": 1, "culture": 1, "food": 1,
    }
    assert [r.key["topic"] for r in rows] == sorted(r.key["topic"] for r in rows)


def test_aggregate_city_tone_is_per_city(store: Store) -> None:
    mixed = make_article(cities=["wuhan", "beijing"], sentiment=-0.2,
                         city_sentiment={"wuhan": -0.8, "beijing": 0.4})
    store.upsert_articles([mixed])
    rows = store.aggregate(interval=None, group_by=["city"])
    tones = {r.key["city"]: r.mean_tone for r in rows}
    assert tones == pytest.approx({"beijing": 0.4, "wuhan": -0.8})
    overall = store.aggregate(interval=None)
    assert overall[0].mean_tone == pytest.approx(-0.2)


def test_aggregations_follow_a_re_upsert_that_moves_an_article(store: Store) -> None:
    story = make_article(published_at="2020-01-22", cities=["wuhan"], topics=["health"],
                         sentiment=-0.6, language="en")
    other = make_article(published_at="2020-01-22", cities=["wuhan"], topics=["health"],
                         sentiment=0.2, language="en")
    store.upsert_articles([story, other])
    moved = make_article(url=story.url, published_at="2020-02-03", cities=["chengdu"],
                         topics=["food"], sentiment=0.5, language="en")
    assert store.upsert_articles([moved]).updated == 1

    by_city = store.aggregate(interval="month", group_by=["city"])
    assert [(r.bucket, r.key["city"], r.count, r.negative) for r in by_city] == [
        (date(2020, 1, 1), "wuhan", 1, 0),
        (date(2020, 2, 1), "chengdu", 1, 0),
    ]
    assert by_city[0].mean_tone == pytest.approx(0.2)
    topics = store.aggregate(ArticleFilter(cities=["wuhan"]), interval=None, group_by=["topic"])
    assert [(r.key["topic"], r.count) for r in topics] == [("health", 1)]
    daily = store.aggregate(ArticleFilter(date_from=date(2020, 1, 22),
                                          date_to=date(2020, 1, 22)), interval="day")
    assert [(r.bucket, r.count) for r in daily] == [(date(2020, 1, 22), 1)]


def test_aggregate_size_caps_keys_per_bucket(store: Store, corpus: dict[str, Article]) -> None:
    rows = store.aggregate(interval="month", group_by=["outlet"], size=1)
    assert [(r.bucket, r.key["outlet"], r.count) for r in rows] == [
        (date(2020, 1, 1), "Daily Planet", 2),
        (date(2020, 2, 1), "Travel Weekly", 1),  # ties broken by key
    ]


def test_aggregate_other_group_fields(store: Store, corpus: dict[str, Article]) -> None:
    by_voice = store.aggregate(interval=None, group_by=["voice"])
    assert {r.key["voice"]: r.count for r in by_voice} == {"foreign": 8, "own": 1}
    by_label = store.aggregate(ArticleFilter(countries=["US"]), interval=None,
                               group_by=["country", "sentiment_label"])
    assert {(r.key["country"], r.key["sentiment_label"]): r.count for r in by_label} == {
        ("US", "neutral"): 1, ("US", "positive"): 2,
    }


def test_date_range(store: Store, corpus: dict[str, Article]) -> None:
    assert store.date_range() == (date(2020, 1, 22), date(2020, 2, 11))
    assert store.date_range(ArticleFilter(languages=["fr"])) == (
        date(2020, 1, 24), date(2020, 1, 24)
    )
    assert store.date_range(ArticleFilter(languages=["xx"])) is None


def test_term_stats_surfaces_the_foregrounds_distinctive_words(store: Store) -> None:
    background = [
        make_article(title=f"City budget meeting number {i}",
                     summary="Council discusses roads and the market.",
                     cities=["shanghai"], published_at="2020-01-05")
        for i in range(30)
    ]
    surge = [
        make_article(title=f"Pneumonia cluster grows, report {i}",
                     summary="Doctors trace the pneumonia to a seafood market."
                     + (" Masks sell out." if i % 2 else ""),
                     cities=["wuhan"], published_at="2020-01-21")
        for i in range(10)
    ]
    store.upsert_articles(background + surge)
    stats = store.term_stats(ArticleFilter(cities=["wuhan"]), size=20)
    scores = {s.term: s.score for s in stats}
    assert scores["pneumonia"] == stats[0].score
    assert scores["seafood"] == stats[0].score
    assert 0 < scores["masks"] < scores["pneumonia"]
    assert scores.get("market", 0) < scores["masks"]  # common in the background too
    assert not {"the", "to", "a", "and"} & set(scores)
    top = next(s for s in stats if s.term == "pneumonia")
    assert (top.foreground, top.background) == (10, 10)
    assert stats == sorted(stats, key=lambda s: -s.score)

    against_shanghai = store.term_stats(ArticleFilter(cities=["wuhan"]),
                                        ArticleFilter(cities=["shanghai"]), size=50)
    assert "pneumonia" in {s.term for s in against_shanghai}
    assert "council" not in {s.term for s in against_shanghai}


def test_term_stats_cjk_bigrams(store: Store) -> None:
    store.upsert_articles(
        [make_article(title=f"上海经济会议 {i}", cities=["shanghai"]) for i in range(10)]
        + [make_article(title=f"武汉肺炎疫情 {i}", cities=["wuhan"]) for i in range(5)]
    )
    terms = {s.term for s in store.term_stats(ArticleFilter(cities=["wuhan"]), size=10)}
    assert {"肺炎", "疫情"} <= terms
    assert "会议" not in terms


def test_iter_articles_oldest_first_across_batches(store: Store) -> None:
    articles = [make_article(published_at=datetime(2020, 3, 1 + i % 5, tzinfo=UTC))
                for i in range(23)]
    articles.append(make_article(published_at=None))
    store.upsert_articles(articles)
    streamed = list(store.iter_articles(batch_size=4))
    expected = [*sorted(articles[:-1], key=lambda a: (a.published_at, a.id)), articles[-1]]
    assert [a.id for a in streamed] == [a.id for a in expected]


# -- alerts ------------------------------------------------------------------------------------


def test_alert_round_trip_with_status_notes_history(store: Store) -> None:
    alert = make_alert()
    store.upsert_alert(alert)
    assert store.get_alert(alert.id) == alert

    alert.status = "acknowledged"
    alert.notes.append("Checked with the city's press office — 已确认")
    alert.history.append(AlertUpdate(at=datetime(2020, 1, 21, 9, 30, tzinfo=UTC),
                                     what="status: acknowledged", note="on it", by="analyst"))
    alert.end = date(2020, 1, 25)
    store.upsert_alert(alert)

    assert store.get_alert(alert.id) == alert
    assert store.list_alerts() == [alert]
    assert store.get_alert("nope") is None


def test_list_alerts_filters_and_order(store: Store) -> None:
    wuhan_old = make_alert(start=date(2020, 1, 10), peak=date(2020, 1, 12),
                           end=date(2020, 1, 14))
    wuhan_new = make_alert(start=date(2020, 1, 20), end=date(2020, 2, 5))
    wuhan_neg = make_alert(kind="negative_spike", start=date(2020, 1, 20),
                           peak=date(2020, 1, 22), end=date(2020, 1, 30), status="resolved")
    beijing = make_alert(city="beijing", start=date(2020, 6, 12), end=date(2020, 6, 20),
                         status="acknowledged")
    for alert in (wuhan_old, beijing, wuhan_new, wuhan_neg):
        store.upsert_alert(alert)

    ids = [a.id for a in store.list_alerts()]
    assert ids == [beijing.id, wuhan_neg.id, wuhan_new.id, wuhan_old.id]
    assert [a.id for a in store.list_alerts(cities=["wuhan"], kinds=["volume_surge"])] == [
        wuhan_new.id, wuhan_old.id,
    ]
    assert [a.id for a in store.list_alerts(statuses=["new"])] == [wuhan_new.id, wuhan_old.id]
    assert [a.id for a in store.list_alerts(since=date(2020, 2, 1))] == [beijing.id, wuhan_new.id]
    assert len(store.list_alerts(limit=2)) == 2


# -- bookkeeping -------------------------------------------------------------------------------


def test_fetch_state_round_trip(store: Store) -> None:
    state = FetchState(url="https://feeds.example.com/rss?city=武汉", etag='W/"abc"',
                       last_modified="Wed, 22 Jan 2020 08:00:00 GMT",
                       fetched_at=datetime(2020, 1, 22, 8, 0, 5, tzinfo=UTC), content_hash="ff00")
    assert store.get_fetch_state(state.url) is None
    store.put_fetch_state(state)
    assert store.get_fetch_state(state.url) == state
    state.etag = None
    store.put_fetch_state(state)
    assert store.get_fetch_state(state.url) == state
    other = FetchState(url="https://a.example.org/atom", etag='"1"')
    store.put_fetch_state(other)
    assert list(store.list_fetch_state()) == [other, state]  # by URL


def test_source_health_round_trip_and_listing(store: Store) -> None:
    failing = SourceHealth(source_id="zz-feed", last_attempt=datetime(2020, 1, 2, tzinfo=UTC),
                           last_error="HTTP 503 — Service Unavailable",
                           last_error_at=datetime(2020, 1, 2, tzinfo=UTC),
                           consecutive_failures=3)
    healthy = SourceHealth(source_id="aa-feed", last_attempt=datetime(2020, 1, 2, tzinfo=UTC),
                           last_success=datetime(2020, 1, 2, tzinfo=UTC), items_seen=20,
                           items_new=4, total_items=400)
    store.put_source_health(failing)
    store.put_source_health(healthy)
    assert store.get_source_health("zz-feed") == failing
    assert store.list_source_health() == [healthy, failing]
    failing.consecutive_failures = 0
    store.put_source_health(failing)
    assert store.get_source_health("zz-feed") == failing
    assert store.get_source_health("missing") is None


def test_meta_round_trip(store: Store) -> None:
    assert store.get_meta("tagger_version") is None
    store.put_meta("tagger_version", "v1")
    store.put_meta("tagger_version", "v2 — 版本")
    assert store.get_meta("tagger_version") == "v2 — 版本"
    store.put_meta("gdelt:resume:wuhan", "2020-01-23T00:00:00+00:00")
    listed = store.list_meta()
    assert listed["tagger_version"] == "v2 — 版本"
    assert listed["gdelt:resume:wuhan"] == "2020-01-23T00:00:00+00:00"


def test_health_reports_ok_and_counts(store: Store, corpus: dict[str, Article]) -> None:
    info = store.health()
    assert info["ok"] is True
    assert info["articles"] == len(corpus)
    assert isinstance(info["backend"], str) and info["detail"]
    assert store.schema_version() >= 1


def test_top_stories_group_syndicated_copies_largest_first(store: Store) -> None:
    lead = make_article(title="Wuhan hospital story", outlet="Daily Planet",
                        published_at="2020-02-03")
    copies = [make_article(title="Wuhan hospital story", outlet=outlet, dup_of=lead.id,
                           published_at="2020-02-04")
              for outlet in ("Mirror Times", "Wire Service", "Mirror Times")]
    other = make_article(title="Wuhan market story", outlet="Le Quotidien",
                         published_at="2020-02-05")
    other_copy = make_article(title="Wuhan market story", outlet="Wire Service",
                              dup_of=other.id, published_at="2020-02-06")
    single = make_article(title="Wuhan panda story", outlet="Travel Weekly",
                          published_at="2020-02-07")
    march_copy = make_article(title="Wuhan market story", outlet="Late Post", dup_of=other.id,
                              published_at="2020-03-01")
    beijing = make_article(title="Beijing story", cities=["beijing"], published_at="2020-02-08")
    store.upsert_articles([lead, *copies, other, other_copy, single, march_copy, beijing])
    february = ArticleFilter(cities=["wuhan"], date_from=date(2020, 2, 1),
                             date_to=date(2020, 2, 29))

    stories = store.top_stories(february, size=10)
    assert [(s.story, s.count) for s in stories] == [
        (lead.id, 4), *sorted([(other.id, 2), (single.id, 1)], key=lambda s: (-s[1], s[0]))]
    assert stories[0].outlets == ["Daily Planet", "Mirror Times", "Wire Service"]
    assert stories[1].outlets == ["Le Quotidien", "Wire Service"]
    assert [s.count for s in store.top_stories(february, size=1)] == [4]
    # the filter applies to every copy: without the lead, a story counts its copies only
    copies_only = ArticleFilter(cities=["wuhan"], outlets=["Mirror Times", "Wire Service"])
    assert [(s.story, s.count) for s in store.top_stories(copies_only, size=5)] == sorted(
        [(lead.id, 3), (other.id, 1)], key=lambda s: (-s[1], s[0]))
    assert store.top_stories(ArticleFilter(cities=["shanghai"])) == []
    assert store.top_stories(february, size=0) == []


def test_month_ranking_is_the_same_on_every_backend(store: Store) -> None:
    """reports.ranking reads a month's city ranking through the Store API only: every
    backend must give the same figures (coverage as a place, foreign voice)."""
    from types import SimpleNamespace

    from reports.ranking import month_figures

    lead = make_article(title="Wuhan virus story", cities=["wuhan"], language="en",
                        sentiment=-0.5, topics=["health"], published_at="2020-02-03",
                        country="US")
    store.upsert_articles([
        lead,
        make_article(title="Wuhan virus story", cities=["wuhan"], language="en", sentiment=-0.5,
                     topics=["health"], published_at="2020-02-04", country="AU",
                     outlet="Mirror Times", dup_of=lead.id),
        make_article(cities=["wuhan"], language="en", sentiment=-0.5, topics=["health"],
                     published_at="2020-02-05", country="US"),
        make_article(cities=["wuhan"], language="fr", sentiment=-0.5, topics=["health"],
                     published_at="2020-02-06", country="GB"),
        make_article(cities=["wuhan"], language="en", sentiment=0.0, published_at="2020-01-10"),
        *[make_article(cities=["shanghai"], language="en", sentiment=0.5, topics=["economy"],
                       published_at=f"2020-02-1{i}") for i in range(2)],
        *[make_article(cities=["shanghai"], language="en", sentiment=0.5,
                       published_at=f"2020-01-1{i}") for i in range(3)],
        make_article(cities=["beijing"], language="de", sentiment=0.0,
                     published_at="2020-02-20"),
        make_article(cities=[], government=["beijing"], language="en",
                     published_at="2020-02-21"),  # the government, not the city
        make_article(cities=["chengdu"], voice="own", published_at="2020-02-22"),
    ])
    store.upsert_alert(make_alert(city="wuhan", start=date(2020, 1, 28), end=date(2020, 2, 3)))
    cities = [SimpleNamespace(id=c, name=c.title(), zh="")
              for c in ("wuhan", "shanghai", "beijing", "chengdu")]

    figures = month_figures(store, date(2020, 2, 1), cities)
    got = {c.city: c for c in figures.cities}
    assert [(c.city, c.rank, c.rank_change) for c in figures.cities] == [
        ("wuhan", 1, 1), ("shanghai", 2, -1), ("beijing", 3, 0), ("chengdu", 4, 0)]
    assert [(c.reports, c.english, c.other, c.unique, c.prev_reports)
            for c in figures.cities] == [(4, 3, 1, 3, 1), (2, 2, 0, 2, 3), (1, 0, 1, 1, 0),
                                         (0, 0, 0, 0, 0)]
    assert got["wuhan"].mom == pytest.approx(3.0)
    assert got["shanghai"].mom == pytest.approx(-1 / 3)
    assert got["beijing"].mom is None and got["wuhan"].year_ago_reports is None
    assert got["wuhan"].tone == pytest.approx(-0.5)
    assert got["wuhan"].negative_share == pytest.approx(1.0)
    assert got["wuhan"].tone_change == pytest.approx(-0.5)
    assert [(t["topic"], t["count"]) for t in got["wuhan"].topics] == [("health", 4)]
    assert got["wuhan"].topics[0]["tone"] == pytest.approx(-0.5)
    assert [(c["country"], c["count"]) for c in got["wuhan"].countries] == [
        ("US", 2), ("AU", 1), ("GB", 1)]
    assert (got["wuhan"].stories[0].id, got["wuhan"].stories[0].copies) == (lead.id, 2)
    assert [a.city for a in got["wuhan"].alerts] == ["wuhan"]
    assert [t["reports"] for t in got["wuhan"].trend[-2:]] == [1, 4]
    assert (figures.total, figures.prev_total, figures.unique_total) == (7, 4, 6)
