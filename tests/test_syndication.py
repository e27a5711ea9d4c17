"""Syndication-aware dedupe: copies of one wire story are one story; different stories are not."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cityradar.records import Article
from ingest.normalize import article_id
from ingest.syndication import IngestPreparer, SyndicationIndex, recluster_store
from search import ArticleFilter, open_store

WIRE_TITLE = "Wuhan reports new cases as health officials widen testing across the city"
WIRE_SUMMARY = (
    "Health authorities in the central Chinese city of Wuhan said on Tuesday they had found "
    "17 new infections and would test residents of three districts, as officials tried to "
    "contain an outbreak that has already closed schools and wet markets in the region. "
    "The city government urged residents to avoid gatherings during the holiday."
)
OUTLETS = [
    "reuters.com", "nytimes.com", "theguardian.com", "straitstimes.com", "thehindu.com",
    "japantimes.co.jp", "abc.net.au", "cbc.ca", "aljazeera.com", "dawn.com", "bangkokpost.com",
    "inquirer.net", "news24.com", "thestar.com.my", "irishtimes.com", "nzherald.co.nz",
    "koreaherald.com", "usatoday.com", "independent.co.uk", "gulfnews.com",
]
START = datetime(2020, 1, 21, 8, 0, tzinfo=UTC)


def article(url: str, title: str, summary: str, published: datetime | None,
            outlet: str = "") -> Article:
    return Article(id=article_id(url), url=url, title=title, summary=summary,
                   published_at=published, outlet=outlet, domain=url.split("/")[2])


def wire_copies(count: int = 20, seed: int = 7) -> list[Article]:
    """The same wire story as reprinted by ``count`` outlets: each edits it a little."""
    rng = random.Random(seed)
    words = WIRE_SUMMARY.split()
    copies = []
    for number, domain in enumerate(OUTLETS[:count]):
        edited = list(words)
        for _ in range(2):  # a couple of house-style word changes
            position = rng.randrange(len(edited))
            edited[position] = rng.choice(["the", "some", "local", "said", "more"])
        if number % 3 == 0:
            edited = edited[:-6]  # the last sentence trimmed
        title = WIRE_TITLE if number % 2 else f"UPDATE 1-{WIRE_TITLE} - {domain}"
        copies.append(article(f"https://{domain}/world/asia/wuhan-{number}.html", title,
                              " ".join(edited), START + timedelta(hours=number), domain))
    return copies


def different_stories(count: int = 20) -> list[Article]:
    """Twenty different Wuhan stories written with the same news vocabulary."""
    subjects = ["hospital", "metro line", "university", "car factory", "bridge", "airport",
                "wet market", "stadium", "port", "museum", "steel plant", "school district",
                "tech park", "riverside park", "railway station", "opera house", "lab",
                "food street", "shopping mall", "water plant"]
    actions = ["opens", "closes", "expands", "is inspected", "reports losses", "hires staff",
               "wins an award", "is renamed", "gets new funding", "faces protests",
               "celebrates its anniversary", "suspends work", "is rebuilt", "sets a record",
               "welcomes visitors", "cuts prices", "signs a deal", "tests a robot",
               "hosts a festival", "moves downtown"]
    stories = []
    for i in range(count):
        title = f"Wuhan {subjects[i]} {actions[i]} this week"
        summary = (f"Officials in Wuhan said the {subjects[i]} {actions[i]} after "
                   f"{3 + i * 7} days of planning, involving {100 + i * 37} people, according "
                   f"to a statement on {['Monday', 'Tuesday', 'Friday'][i % 3]}.")
        stories.append(article(f"https://example{i}.com/news/{i}", title, summary,
                                START + timedelta(hours=i)))
    return stories


@pytest.fixture
def store(tmp_path: Path):
    db = open_store(str(tmp_path / "radar.db"))
    yield db
    db.close()


def test_one_wire_story_in_twenty_outlets_is_one_cluster_of_twenty_reports(store) -> None:
    copies = wire_copies()
    clustered = SyndicationIndex().assign(copies)

    first = copies[0].id  # published first
    assert {a.cluster_id for a in clustered} == {first}
    assert clustered[0].dup_of is None
    assert all(a.dup_of == first for a in clustered[1:])

    store.upsert_articles(clustered)
    assert store.count(ArticleFilter()) == 20  # reach: every report
    assert store.count(ArticleFilter(unique_stories=True)) == 1  # one story


def test_twenty_different_stories_about_one_city_stay_twenty(store) -> None:
    clustered = SyndicationIndex().assign(different_stories())
    assert len({a.cluster_id for a in clustered}) == 20
    assert all(a.dup_of is None and a.cluster_id == a.id for a in clustered)


def test_mixed_batch_keeps_input_order_and_heads_clusters_with_the_earliest() -> None:
    copies = wire_copies(5)
    batch = [copies[3], *different_stories(3), copies[0], copies[4]]  # originals not first
    clustered = SyndicationIndex().assign(batch)
    assert [a.id for a in clustered] == [a.id for a in batch]
    assert clustered[0].dup_of == copies[0].id
    assert clustered[4].dup_of is None and clustered[4].cluster_id == copies[0].id


def test_translation_is_a_new_report_not_a_copy() -> None:
    english = article("https://a.com/1", WIRE_TITLE, WIRE_SUMMARY, START)
    french = article(
        "https://b.fr/1",
        "Wuhan signale de nouveaux cas alors que les autorités élargissent le dépistage",
        "Les autorités sanitaires de la ville de Wuhan, dans le centre de la Chine, ont "
        "annoncé mardi 17 nouvelles infections et le dépistage des habitants de trois "
        "districts, alors que les écoles et les marchés ont déjà fermé.",
        START + timedelta(hours=1))
    clustered = SyndicationIndex().assign([english, french])
    assert clustered[1].dup_of is None


def test_copies_in_chinese_script_cluster() -> None:
    text = ("武汉市卫生健康委员会周二通报新增确诊病例十七例，"
            "全市三个区开展全员核酸检测，学校和市场暂停开放。")
    first = article("https://zaobao.com.sg/1", "武汉新增病例 扩大检测", text, START)
    copy = article("https://sinchew.com.my/1", "武汉新增病例，扩大检测范围",
                   text[:-4] + "继续关闭。", START + timedelta(hours=2))
    other = article("https://udn.com/1", "成都大熊猫基地迎来游客高峰",
                    "成都大熊猫繁育研究基地周末接待游客超过五万人次，园方增加了班车和讲解员。",
                    START)
    clustered = SyndicationIndex().assign([first, copy, other])
    assert clustered[1].dup_of == first.id
    assert clustered[2].dup_of is None


def test_the_same_text_a_month_later_is_a_new_story() -> None:
    first = article("https://a.com/1", WIRE_TITLE, WIRE_SUMMARY, START)
    later = article("https://b.com/1", WIRE_TITLE, WIRE_SUMMARY, START + timedelta(days=30))
    clustered = SyndicationIndex(window_days=7).assign([first, later])
    assert clustered[1].dup_of is None


def test_short_titles_alone_are_never_called_copies() -> None:
    a = article("https://a.com/1", "Wuhan", "", START)
    b = article("https://b.com/1", "Wuhan", "", START)
    clustered = SyndicationIndex().assign([a, b])
    assert clustered[1].dup_of is None


def test_clustering_is_incremental_across_runs_through_the_store(store, config_dir) -> None:
    copies = wire_copies()
    first_run = IngestPreparer.from_config(config_dir, store)(copies[:8])
    store.upsert_articles(first_run)

    # A later run is a new process: a fresh preparer that only has the store.
    second_run = IngestPreparer.from_config(config_dir, store)(copies[8:] + different_stories(4))
    store.upsert_articles(second_run)

    head = copies[0].id
    stored = {a.id: a for a in store.iter_articles(ArticleFilter())}
    assert all(stored[c.id].cluster_id == head for c in copies)
    assert store.count(ArticleFilter(unique_stories=True)) == 1 + 4
    assert store.count(ArticleFilter()) == 24
    # re-running the same batch changes nothing
    again = IngestPreparer.from_config(config_dir, store)(copies[8:])
    assert [(a.cluster_id, a.dup_of) for a in again] == \
        [(stored[c.id].cluster_id, stored[c.id].dup_of) for c in copies[8:]]


def test_preparer_fills_outlet_and_voice_from_the_registry(store, config_dir) -> None:
    own = article("https://www.shine.cn/news/metro/2001211234/", WIRE_TITLE, "Shanghai news.",
                  START)
    foreign = article("https://www.reuters.com/article/x", "Other story", "", START)
    prepared = IngestPreparer.from_config(config_dir, store)([own, foreign])
    assert prepared[0].voice == "own" and prepared[0].country == "CN"
    assert prepared[1].voice == "foreign" and prepared[1].outlet == "Reuters"


def test_recluster_store_makes_the_oldest_copy_the_head(store) -> None:
    copies = wire_copies(6)
    # imported newest first: the newest became the head
    for copy in reversed(copies):
        store.upsert_articles(SyndicationIndex().assign([copy]))
    assert store.count(ArticleFilter(unique_stories=True)) == 6

    report = recluster_store(store)
    assert report.articles == 6 and report.stories == 1 and report.changed == 5
    assert store.count(ArticleFilter(unique_stories=True)) == 1
    assert store.get_article(copies[3].id).dup_of == copies[0].id


def daily_stories(days: int, first_day: datetime = START) -> list[Article]:
    """One different story a day (with a running number in its text so none are copies)."""
    return [article(f"https://daily.example/{day}", f"Daily bulletin number {day} from Wuhan",
                    f"Bulletin {day}: {' '.join(different_stories(20)[day % 20].summary.split())} "
                    f"Reference code {day * 7919}.", first_day + timedelta(days=day))
            for day in range(days)]


def test_index_memory_stays_bounded_over_a_long_import() -> None:
    index = SyndicationIndex(window_days=7)  # keeps two windows: 14 days
    for story in daily_stories(200):
        index.assign([story])
    assert len(index) <= 16  # not 200: old days were evicted

    # a copy inside the window is still found after all that eviction
    last = daily_stories(200)[-1]
    copy = article("https://other.example/copy", last.title + " - Other", last.summary,
                   last.published_at + timedelta(days=2))
    assert index.assign([copy])[0].dup_of == last.id


def test_evicted_days_are_loaded_again_from_the_store(store, config_dir) -> None:
    copies = wire_copies(3)
    preparer = IngestPreparer.from_config(config_dir, store)
    store.upsert_articles(preparer([copies[0]]))
    later = daily_stories(40, first_day=START + timedelta(days=1))
    store.upsert_articles(preparer(later))  # the clock moves on: the wire story's day is evicted
    assert copies[0].id not in preparer.index

    # a late copy of the wire story (within its window) still joins it, via the store
    late_copy = dataclasses.replace(copies[1], published_at=START + timedelta(days=3))
    assert preparer([late_copy])[0].dup_of == copies[0].id


def test_a_batch_is_fingerprinted_exactly_as_its_articles_one_by_one() -> None:
    texts = [("武汉新增病例", "武汉市卫生健康委员会周二通报新增确诊病例十七例。"), ("Wuhan", ""),
             ("", ""), (WIRE_TITLE, WIRE_SUMMARY), ("Mixed 武汉 title", "short"),
             ("Ухань сообщает", "о новых случаях заболевания в городе и районах вокруг")]
    batch = [article(f"https://x.example/{i}", title, summary, START)
             for i, (title, summary) in enumerate(texts)]
    index = SyndicationIndex()
    together = index.fingerprints(batch)
    for single, one_by_one in zip(together, (index.fingerprint(a) for a in batch), strict=True):
        assert (single is None) == (one_by_one is None)
        if single is not None and one_by_one is not None:
            assert (single[0] == one_by_one[0]).all() and (single[1] == one_by_one[1]).all()
    assert sum(f is not None for f in together) == 4


def test_a_copy_is_still_found_among_hundreds_of_alike_live_updates() -> None:
    """Many near-identical texts (a day of live-update items) share LSH bands; the bounded
    candidate list must still hold a copy's own original."""
    live = [article(f"https://live{i}.example/updates/{i}",
                    f"Live updates: Wuhan outbreak latest news, {i} January",
                    "Follow our live coverage of the outbreak in Wuhan as officials report "
                    "new cases, hospitals fill and the city prepares for the holiday.",
                    START + timedelta(minutes=i))
            for i in range(400)]
    copies = wire_copies(2)
    index = SyndicationIndex()
    index.assign([*live, copies[0]])
    (copy,) = index.assign([copies[1]])
    assert copy.dup_of == copies[0].id
