"""Store contract: streaming reads for export (both backends, same answers)."""

from __future__ import annotations

from datetime import date, timedelta

from search.store import ArticleFilter, Store
from tests.contract.factories import make_alert, make_article


def _alerts(store: Store) -> list:
    alerts = []
    for i in range(7):
        start = date(2020, 1, 1) + timedelta(days=i // 2)  # pairs share a start day
        alerts.append(make_alert(city=("wuhan", "beijing", "shanghai")[i % 3],
                                 kind=("volume_surge", "negative_spike")[i % 2], start=start,
                                 language_group=f"g{i}", peak=start + timedelta(days=i % 2),
                                 end=start + timedelta(days=3),
                                 status="resolved" if i == 3 else "new"))
    for alert in alerts:
        store.upsert_alert(alert)
    return alerts


def test_iter_alerts_pages_in_list_order(store: Store) -> None:
    alerts = _alerts(store)
    expected = store.list_alerts(limit=100)
    assert len(expected) == len(alerts)
    for batch_size in (1, 2, 3, 100):
        assert list(store.iter_alerts(batch_size=batch_size)) == expected
    assert list(store.iter_alerts(cities=["wuhan"], batch_size=2)) == store.list_alerts(
        cities=["wuhan"])
    assert list(store.iter_alerts(statuses=["new"], kinds=["negative_spike"], batch_size=1)) \
        == store.list_alerts(statuses=["new"], kinds=["negative_spike"])
    since = date(2020, 1, 6)
    assert list(store.iter_alerts(since=since, batch_size=1)) == store.list_alerts(since=since)
    assert list(store.iter_alerts(cities=["nowhere"])) == []


def test_iter_articles_streams_filtered_articles_in_batches(store: Store) -> None:
    articles = [make_article(published_at=f"2020-01-{1 + i % 20:02d}",
                             cities=["wuhan"] if i % 2 else ["beijing"], language="en")
                for i in range(45)]
    articles.append(make_article(published_at=None, cities=["wuhan"]))
    store.upsert_articles(articles)
    everything = list(store.iter_articles(batch_size=7))
    assert sorted(a.id for a in everything) == sorted(a.id for a in articles)
    assert everything[-1].published_at is None  # unknown dates come last
    wuhan = list(store.iter_articles(ArticleFilter(cities=["wuhan"]), batch_size=4))
    assert {a.id for a in wuhan} == {a.id for a in articles
                                     if "wuhan" in a.tags.cities}
    dated = [a.published_at for a in everything if a.published_at]
    assert dated == sorted(dated)


def test_export_gives_the_same_rows_from_every_backend(store: Store) -> None:
    """The export writers over the store's cursors: a fixed corpus gives a fixed CSV."""
    import csv
    import io

    from search.export import export_alerts, export_articles

    for i in range(12):
        store.upsert_articles([make_article(
            url=f"https://news.example.com/export/{i}", title=f"Story {i} about Wuhan",
            published_at=f"2020-02-{1 + i:02d}", cities=["wuhan"], language="en")])
    _alerts(store)
    out = io.BytesIO()
    assert export_articles(store.iter_articles(ArticleFilter(cities=["wuhan"]), batch_size=5),
                           "csv", out).rows == 12
    rows = list(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8"))))
    assert [r["title"] for r in rows] == [f"Story {i} about Wuhan" for i in range(12)]
    assert rows[0]["published_at"] == "2020-02-01T12:00:00+00:00"
    out = io.BytesIO()
    assert export_alerts(store.iter_alerts(batch_size=2), "jsonl", out).rows == 7
