"""Topics from the multilingual taxonomy: several languages, scripts, inflections."""

from __future__ import annotations

from pathlib import Path

import pytest

from cityradar.config import ConfigError
from nlp.topics import KeywordTopicClassifier, load_topics
from tests.conftest import CONFIG_DIR

REQUIRED = {"public_health", "politics_diplomacy", "economy_business", "technology", "tourism",
            "food", "culture_heritage", "sport_events", "environment_disasters", "crime_safety",
            "society_rights", "education_science"}


@pytest.fixture(scope="module")
def classifier() -> KeywordTopicClassifier:
    return KeywordTopicClassifier.from_config(CONFIG_DIR)


def test_taxonomy_has_the_topics_planners_need() -> None:
    topics = {topic.id: topic for topic in load_topics(CONFIG_DIR)}
    assert set(topics) >= REQUIRED
    for opportunity in ("food", "tourism", "culture_heritage", "sport_events"):
        assert topics[opportunity].kind == "opportunity"
    assert topics["public_health"].kind == "risk"
    for topic_id in REQUIRED:
        assert {"en", "fr", "de", "es", "it", "pt", "ru", "ar", "ja", "ko", "zh"} <= set(
            topics[topic_id].keywords
        ), topic_id


@pytest.mark.parametrize(
    ("text", "language", "topic"),
    [
        ("Wuhan hospitals overwhelmed as coronavirus outbreak spreads", "en", "public_health"),
        ("武汉封城，新冠肺炎疫情持续蔓延", "zh", "public_health"),
        ("武漢で新型コロナウイルスの感染が拡大", "ja", "public_health"),
        ("成都的火锅和小吃吸引了很多外国人", "zh", "food"),
        ("上海の夜景と観光スポット", "ja", "tourism"),
        ("Überschwemmungen in Chongqing: Tausende evakuiert", "de", "environment_disasters"),
        ("Chengdu accueille les Universiades: les athlètes arrivent", "fr", "sport_events"),
        ("Полиция задержала участников протеста в Пекине", "ru", "society_rights"),
        ("Los restaurantes de Cantón celebran su gastronomía", "es", "food"),
        ("Hangzhou, la città dei musei e della cultura", "it", "culture_heritage"),
        ("우한 코로나 확진자 급증", "ko", "public_health"),
        ("فيروس كورونا ينتشر في ووهان", "ar", "public_health"),
        ("Shenzhen startups bet on semiconductors and artificial intelligence", "en", "technology"),
    ],
)
def test_topics_in_many_languages(
    classifier: KeywordTopicClassifier, text: str, language: str, topic: str
) -> None:
    scores = classifier.classify(text, language)
    assert topic in scores, classifier.matches(text, language)
    assert 0.0 < scores[topic] <= 1.0


def test_stems_match_inflections_but_not_other_words(classifier: KeywordTopicClassifier) -> None:
    assert "society_rights" in classifier.matches("Protesters gathered downtown", "en")
    assert "society_rights" in classifier.matches("Протестующие вышли на улицы", "ru")
    # "art" is a whole word in the culture topic: "article" and "party" must not hit it.
    assert "culture_heritage" not in classifier.matches("An article about the party", "en")


def test_a_text_can_have_several_topics_and_more_hits_score_higher(
    classifier: KeywordTopicClassifier,
) -> None:
    text = "Chengdu celebrates pandas and street food as tourists return to its hotels"
    scores = classifier.classify(text, "en")
    assert {"pandas_wildlife", "food", "tourism"} <= set(scores)
    assert classifier.classify("virus", "en")["public_health"] < classifier.classify(
        "virus outbreak lockdown in hospitals", "en")["public_health"]


def test_title_hits_weigh_more(classifier: KeywordTopicClassifier) -> None:
    text = "Football\n\nA report."
    in_title = classifier.classify(text, "en", title_length=len("Football"))
    in_body = classifier.classify("A report.\n\nFootball", "en", title_length=len("A report."))
    assert in_title["sport_events"] > in_body["sport_events"]


def test_unknown_language_tries_every_language(classifier: KeywordTopicClassifier) -> None:
    assert "public_health" in classifier.classify("新冠疫情", "und")
    assert classifier.classify("A quiet day with nothing to report", "en") == {}


def test_broken_taxonomy_is_a_clear_config_error(tmp_path: Path) -> None:
    (tmp_path / "topics.yaml").write_text(
        "topics:\n  food:\n    label: Food\n    kind: tasty\n    keywords: {en: [food]}\n"
    )
    with pytest.raises(ConfigError, match=r"topics\.food\.kind"):
        load_topics(tmp_path)
