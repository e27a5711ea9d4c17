"""Lexicon + rules sentiment: news vocabulary, negation, intensifiers, but-clauses, cities."""

from __future__ import annotations

from pathlib import Path

import pytest

from cityradar.config import ConfigError
from nlp.sentiment import ClauseSplitter, Lexicon, LexiconSentimentScorer, city_sentiment
from tests.conftest import CONFIG_DIR


@pytest.fixture(scope="module")
def scorer() -> LexiconSentimentScorer:
    return LexiconSentimentScorer.from_config(CONFIG_DIR)


def test_lexicons_cover_the_main_languages(scorer: LexiconSentimentScorer) -> None:
    assert {"en", "fr", "de", "es", "it", "pt", "ru", "ar", "ja", "ko", "zh"} <= scorer.languages
    assert len(scorer.lexicons["en"].terms) >= 300
    assert all(len(lexicon.terms) >= 100 for lexicon in scorer.lexicons.values())


@pytest.mark.parametrize(
    ("text", "language", "label"),
    [
        ("Deadly outbreak: Wuhan lockdown deepens as deaths rise", "en", "negative"),
        ("Police crackdown on protesters draws sanctions", "en", "negative"),
        ("Chengdu celebrates record growth and wins tourism award", "en", "positive"),
        ("Delicious street food makes the city a popular destination", "en", "positive"),
        ("The council met on Tuesday to discuss the budget", "en", "neutral"),
        ("武汉封城 疫情严重", "zh", "negative"),
        ("成都庆祝大熊猫节日，美食受欢迎", "zh", "positive"),
        ("武漢で感染拡大、死者が増加", "ja", "negative"),
        ("Explosion meurtrière à Tianjin: des dizaines de morts", "fr", "negative"),
        ("Hangzhou feiert einen großartigen Erfolg", "de", "positive"),
        ("Вспышка коронавируса в Ухане: много погибших", "ru", "negative"),
        ("Éxito y celebración en Shanghái", "es", "positive"),
        ("우한 봉쇄 위기 심각", "ko", "negative"),
        ("احتفالات رائعة في شنغهاي", "ar", "positive"),
    ],
)
def test_news_tone(scorer: LexiconSentimentScorer, text: str, language: str, label: str) -> None:
    assert scorer.settings.label(scorer.score(text, language)) == label


def test_negation_flips_and_damps(scorer: LexiconSentimentScorer) -> None:
    assert scorer.score("The food is good", "en") > 0
    assert scorer.score("The food is not good", "en") < 0
    assert scorer.score("The situation isn’t bad", "en") > 0  # curly apostrophe
    assert scorer.score("不好吃", "zh") < 0 < scorer.score("好吃", "zh")
    assert scorer.score("美味しくない", "ja") < 0 < scorer.score("美味しい", "ja")
    # A negator governs the nearest term only: the earthquake stays negative.
    hits = scorer.hits("Keine Toten nach dem Erdbeben", "de")
    assert [h.weight > 0 for h in hits] == [True, False]


def test_intensifiers_scale(scorer: LexiconSentimentScorer) -> None:
    assert scorer.score("a very good year", "en") > scorer.score("a good year", "en")
    assert scorer.score("a slightly bad year", "en") > scorer.score("a bad year", "en")


def test_but_clause_outweighs_what_came_before(scorer: LexiconSentimentScorer) -> None:
    assert scorer.score("The festival was a success but the crisis is worsening", "en") < 0
    assert scorer.score("The crisis is worsening but the festival was a success", "en") > 0


def test_language_without_lexicon_is_neutral(scorer: LexiconSentimentScorer) -> None:
    # (Vietnamese and Dutch have lexicons since issue 13; Hungarian has none)
    assert scorer.score("Vuhan feloldotta a zárlatot", "hu") == 0.0
    assert scorer.score_batch(["crisis", "crisis"], ["und", "en"])[0] == 0.0


def test_scores_stay_in_range(scorer: LexiconSentimentScorer) -> None:
    text = " ".join(["disaster catastrophe deaths outbreak"] * 50)
    assert -1.0 <= scorer.score(text, "en") < -0.95


def _spans(text: str, *names: str) -> dict[str, list[tuple[int, int]]]:
    return {name.lower(): [(text.index(name), text.index(name) + len(name))] for name in names}


def test_per_city_tone_follows_the_clause(scorer: LexiconSentimentScorer) -> None:
    splitter = ClauseSplitter(scorer.rules)
    text = "Wuhan lockdown deepens crisis while Chengdu celebrates pandas"
    article = scorer.score(text, "en")
    [tones] = city_sentiment(scorer, splitter, [(text, "en", _spans(text, "Wuhan", "Chengdu"),
                                                 article)])
    assert tones["wuhan"] < -0.15
    assert tones["chengdu"] > 0.15

    zh = "武汉疫情严重，而成都庆祝大熊猫节日"
    [zh_tones] = city_sentiment(scorer, splitter, [(zh, "zh", _spans(zh, "武汉", "成都"), 0.0)])
    assert zh_tones["武汉"] < 0 < zh_tones["成都"]


def test_a_city_alone_in_its_sentence_is_read_whole(scorer: LexiconSentimentScorer) -> None:
    splitter = ClauseSplitter(scorer.rules)
    text = ("Los trenes que parten de Xi'an, capital de Shaanxi, y llegan a Europa baten "
            "récords. Otra noticia.")
    start = text.index("Xi'an")
    # commas and "y" inside the sentence do not end what it says about the city
    assert splitter.context(text, start, start + 5, "es") == text.split(".")[0]
    # another city in the sentence: each city gets its side of the nearest boundary
    two = "Wuhan mourns its dead, and Shanghai celebrates"
    wuhan, shanghai = (0, 5), (two.index("Shanghai"), two.index("Shanghai") + 8)
    assert splitter.context(two, *wuhan, "en", [shanghai]).strip() == "Wuhan mourns its dead"
    assert splitter.context(two, *shanghai, "en", [wuhan]).strip() == "Shanghai celebrates"


def test_per_city_tone_falls_back_to_sentence_then_article(
    scorer: LexiconSentimentScorer,
) -> None:
    splitter = ClauseSplitter(scorer.rules)
    text = "Beijing: deadly explosion at a chemical plant"
    [tones] = city_sentiment(scorer, splitter, [(text, "en", _spans(text, "Beijing"), 0.3)])
    assert tones["beijing"] < 0  # "Beijing" alone carries no tone; its sentence does
    calm = "Report from Beijing.\n\nThe meeting is on Tuesday."
    [calm_tones] = city_sentiment(scorer, splitter, [(calm, "en", _spans(calm, "Beijing"), 0.3)])
    assert calm_tones["beijing"] == 0.3


def test_bad_lexicon_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "en.txt"
    path.write_text("good\t2\nbad weight\n")
    with pytest.raises(ConfigError, match=r"en\.txt:2"):
        Lexicon.load(path, "en")


@pytest.mark.parametrize(
    ("text", "language", "label"),
    [
        # General evaluative words and emoji added for quoted reactions and social posts.
        ("What a sad and stupid decision, I am so disappointed", "en", "negative"),
        ("Awesome news, congratulations Chengdu! 😍", "en", "positive"),
        ("Leider ist das Konzert abgesagt, so ein Mist", "de", "negative"),
        ("Herzlichen Glückwunsch, das ist toll!", "de", "positive"),
        ("Quelle honte, c'est nul et ridicule", "fr", "negative"),
        ("Bravo, c'est génial !", "fr", "positive"),
        ("Qué triste y qué vergüenza", "es", "negative"),
        ("¡Felicidades, es genial!", "es", "positive"),
        ("Che schifo, purtroppo è sempre peggio", "it", "negative"),
        ("Complimenti, bellissimo concerto", "it", "positive"),
        ("Que vergonha, ridículo e triste", "pt", "negative"),
        ("Que lindo, adorei, parabéns!", "pt", "positive"),
        ("للأسف قصف ومجزرة في المدينة", "ar", "negative"),
        ("مبروك بالتوفيق", "ar", "positive"),
        # News vocabulary keeps its sign next to the new words.
        ("Thanks to the lockdown the outbreak death toll keeps rising", "en", "negative"),
        ("Wuhan celebrates as tourism gets a boost", "en", "positive"),
    ],
)
def test_everyday_evaluative_words(
    scorer: LexiconSentimentScorer, text: str, language: str, label: str
) -> None:
    assert scorer.settings.label(scorer.score(text, language)) == label
