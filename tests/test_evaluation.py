"""The NLP evaluation harness: metrics, the annotated sets, and `cityradar eval`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cityradar.cli import cli
from cityradar.records import CityMention
from nlp import eval_sets
from nlp import evaluation as ev
from tests.conftest import CONFIG_DIR, REPO_ROOT

EVAL_DIR = REPO_ROOT / "data" / "eval"
REQUIRED_LANGUAGES = {"en", "fr", "de", "es", "it", "pt", "ru", "ar", "ja", "ko", "zh"}


# -- metrics on hand-computed cases ---------------------------------------------------------


def test_precision_recall_f1_from_counts() -> None:
    scores = ev.PRF(tp=2, fp=1, fn=3)
    assert scores.precision == pytest.approx(2 / 3)
    assert scores.recall == pytest.approx(2 / 5)
    assert scores.f1 == pytest.approx(2 * (2 / 3) * (2 / 5) / (2 / 3 + 2 / 5))
    assert ev.PRF(0, 0, 0).f1 == 0.0
    assert (ev.PRF(1, 0, 0) + ev.PRF(0, 2, 1)) == ev.PRF(1, 2, 1)


def test_macro_f1_is_the_unweighted_mean_over_labels() -> None:
    gold = ["a", "a", "b", "c"]
    predicted = ["a", "b", "b", "c"]
    # a: P 1, R 1/2 -> 2/3; b: P 1/2, R 1 -> 2/3; c: 1
    assert ev.macro_f1(gold, predicted) == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert ev.accuracy(gold, predicted) == pytest.approx(0.75)
    # a label nobody used still counts when the caller names it (F1 0)
    assert ev.macro_f1(gold, predicted, ["a", "b", "c", "d"]) == pytest.approx(
        (2 / 3 + 2 / 3 + 1) / 4
    )


def test_confusion_counts_pairs_and_lists_errors_most_frequent_first() -> None:
    gold = ["neg", "neg", "neg", "pos", "neu"]
    predicted = ["neu", "neu", "neg", "neu", "neu"]
    assert ev.confusion(gold, predicted)[("neg", "neu")] == 2
    assert ev.top_confusions(gold, predicted) == [["neg", "neu", 2], ["pos", "neu", 1]]
    with pytest.raises(ValueError):
        ev.accuracy(["a"], [])


def test_grouped_scores_report_each_group_and_overall() -> None:
    rows = [("en", "x", "x"), ("en", "y", "x"), ("fr", "x", "x")]
    report = ev.grouped_scores(rows)
    assert report["per_group"]["en"]["accuracy"] == 0.5
    assert report["per_group"]["fr"]["accuracy"] == 1.0
    assert report["overall"]["n"] == 3
    assert report["overall"]["accuracy"] == pytest.approx(0.6667, abs=1e-4)


def _sentence(mentions: list[CityMention], **extra: object) -> eval_sets.AnnotatedSentence:
    return eval_sets.AnnotatedSentence(id="s1", lang="en", text="x" * 60, mentions=mentions,
                                       **extra)


def test_mentions_match_on_city_and_overlapping_span_one_to_one() -> None:
    gold = [CityMention("beijing", "Beijing", 0, 7, "government"),
            CityMention("wuhan", "Wuhan", 20, 25, "place")]
    predicted = [CityMention("beijing", "Beijing", 0, 9, "place"),  # overlaps, wrong kind
                 CityMention("beijing", "Beijing", 3, 7, "place"),  # second match: spurious
                 CityMention("shanghai", "Wuhan", 20, 25, "place")]  # wrong city
    report = ev.mention_report([_sentence(gold)], [predicted])
    overall = report["overall"]
    assert (overall["tp"], overall["fp"], overall["fn"]) == (1, 2, 1)
    # metonymy: the one government mention was predicted as a place -> recall 0
    assert overall["metonymy"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0,
                                   "tp": 0, "fp": 0, "fn": 1}
    assert report["kind_confusion"] == [["government", "place", 1]]
    assert {m["city"] for m in report["missed"]} == {"wuhan"}


def test_topic_scores_per_topic_and_micro_overall() -> None:
    sentences = [_sentence([], topics=["food", "tourism"]), _sentence([], topics=["food"])]
    report = ev.topic_report(sentences, [["food"], ["food", "sport_events"]],
                             ["food", "tourism", "sport_events"])
    assert report["per_topic"]["food"]["f1"] == 1.0
    assert report["per_topic"]["tourism"]["recall"] == 0.0
    assert report["per_topic"]["sport_events"]["fp"] == 1
    assert (report["overall"]["tp"], report["overall"]["fp"], report["overall"]["fn"]) == (2, 1, 1)


def test_city_sentiment_counts_an_unfound_city_as_neutral() -> None:
    sentence = _sentence([], city_sentiment={"wuhan": "negative", "beijing": "positive"})
    rows = ev.city_sentiment_rows([sentence], [{"wuhan": "negative"}])
    assert sorted(rows) == [("en", "negative", "negative"), ("en", "positive", "neutral")]


# -- loaders ------------------------------------------------------------------------------------


def test_semeval_scores_map_to_labels_with_a_neutral_band() -> None:
    band = eval_sets.SEMEVAL_NEUTRAL_BAND
    assert eval_sets.semeval_label(-0.5) == "negative"
    assert eval_sets.semeval_label(band) == "positive"
    assert eval_sets.semeval_label(band / 2) == "neutral"
    assert eval_sets.semeval_label(-band / 2) == "neutral"


def test_phrasebank_reads_iso_8859_1_and_reports_bad_lines(tmp_path: Path) -> None:
    good = tmp_path / "latin1.txt"
    good.write_bytes("Sales in Espoo rose 5 % to 3 M\u20ac .@positive\n".replace("\u20ac", "")
                     .encode("utf-8") + "Operating profit fell in Jyv\xe4skyl\xe4 .@negative\n"
                     .encode("iso-8859-1"))
    items = eval_sets.load_financial_phrasebank(good)
    assert [i.label for i in items] == ["positive", "negative"]
    assert "Jyväskylä" in items[1].text
    bad = tmp_path / "bad.txt"
    bad.write_text("no label here\n", encoding="utf-8")
    with pytest.raises(eval_sets.EvaluationDataError, match=r"bad.txt:1"):
        eval_sets.load_financial_phrasebank(bad)


def test_annotated_loader_rejects_a_span_that_is_not_the_surface(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    line = {"id": "x", "lang": "en", "text": "Flooding in Wuhan", "mentions": [
        {"city": "wuhan", "surface": "Wuhan", "start": 11, "end": 16, "kind": "place"}]}
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    with pytest.raises(eval_sets.EvaluationDataError, match=r"set.jsonl:1: mentions\[0\]"):
        eval_sets.load_annotated(path)


# -- the annotated sets are valid ---------------------------------------------------------------


@pytest.fixture(scope="module")
def config_ids() -> tuple[set[str], set[str]]:
    cities = yaml.safe_load((CONFIG_DIR / "cities.yaml").read_text(encoding="utf-8"))["cities"]
    topics = yaml.safe_load((CONFIG_DIR / "topics.yaml").read_text(encoding="utf-8"))["topics"]
    return {c["id"] for c in cities}, set(topics)


def test_annotated_city_set_is_valid_and_large_enough(config_ids: tuple[set[str], set[str]]
                                                      ) -> None:
    city_ids, _ = config_ids
    sentences = eval_sets.load_annotated(EVAL_DIR / "cities.jsonl")  # checks every span = surface
    assert len(sentences) >= 300
    assert {s.lang for s in sentences} >= REQUIRED_LANGUAGES
    assert len({s.id for s in sentences}) == len(sentences)
    kinds = {m.kind for s in sentences for m in s.mentions}
    assert kinds == {"place", "government"}
    assert any(not s.mentions for s in sentences), "sentences with no city are part of the set"
    for s in sentences:
        assert s.split in ("dev", "test")
        assert {m.city for m in s.mentions} <= city_ids
        assert set(s.city_sentiment) == {m.city for m in s.mentions}, s.id


def test_annotated_topic_set_uses_configured_topics(config_ids: tuple[set[str], set[str]]
                                                    ) -> None:
    _, topic_ids = config_ids
    sentences = eval_sets.load_annotated(EVAL_DIR / "topics.jsonl")
    assert len(sentences) >= 300
    for s in sentences:
        assert set(s.topics) <= topic_ids, s.id
    cities = {s.id: s.text for s in eval_sets.load_annotated(EVAL_DIR / "cities.jsonl")}
    assert {s.id: s.text for s in sentences} == cities


def test_build_script_computes_offsets_from_surfaces() -> None:
    from data.eval import build  # data/eval is a plain folder, importable as a namespace

    record = build.parse_line("en | Peking and Beijing | beijing:Peking:p:0; beijing:Beijing:g |"
                              " pol", {"beijing"}, {"politics_diplomacy"})
    assert [(m["start"], m["end"], m["kind"]) for m in record["mentions"]] == [
        (0, 6, "place"), (11, 18, "government")]
    with pytest.raises(ValueError, match="not found"):
        build.parse_line("en | Wuhanese food | wuhan:Wuhan:p:+ |", {"wuhan"}, set())


def test_the_annotators_validator_names_each_bad_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from data.eval import build

    good, bad = tmp_path / "en.txt", tmp_path / "fr.txt"
    good.write_text("en | Floods in Wuhan | wuhan:Wuhan:p:- | env\n", encoding="utf-8")
    bad.write_text("fr | Inondations à Wuhan | wuhan:Wuhan:p | env\n", encoding="utf-8")
    assert build.check([good], {"wuhan"}, {"environment_disasters"}) == 0
    assert "1 sentences, tones negative 1" in capsys.readouterr().out
    assert build.check([good, bad], {"wuhan"}, {"environment_disasters"}) == 1
    assert f"{bad}:1: no tone given for ['wuhan']" in capsys.readouterr().err


def test_the_committed_sets_are_what_the_build_script_makes_of_the_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from data.eval import build

    shutil.copytree(EVAL_DIR / "source", tmp_path / "source")
    for fresh_set in ("fresh", "fresh2"):
        shutil.copytree(EVAL_DIR / fresh_set / "source", tmp_path / fresh_set / "source")
    monkeypatch.setattr(build, "HERE", tmp_path)
    assert build.main() == 0
    for name in ("cities.jsonl", "topics.jsonl", "fresh/cities.jsonl", "fresh2/cities.jsonl"):
        assert (tmp_path / name).read_bytes() == (EVAL_DIR / name).read_bytes(), name
    annotated = {s.text for s in eval_sets.load_annotated(EVAL_DIR / "cities.jsonl")}
    fresh = eval_sets.load_annotated(EVAL_DIR / eval_sets.FRESH_FILE)
    fresh2 = eval_sets.load_annotated(EVAL_DIR / eval_sets.FRESH2_FILE)
    assert len(fresh) > 900 and all(s.id.split("-")[1].startswith("f") for s in fresh)
    assert len(fresh2) > 500 and all(s.id.split("-")[1].startswith("g") for s in fresh2)
    # held out: no fresh sentence is in the dev or test split, nor in the other fresh set
    assert not {s.text for s in fresh} & annotated
    assert not {s.text for s in fresh2} & (annotated | {s.text for s in fresh})


def test_each_dev_sentence_carries_the_annotation_round_that_wrote_it() -> None:
    dev = eval_sets.load_annotated(EVAL_DIR / "cities.jsonl", "dev")
    rounds = {s.round for s in dev}
    assert None not in rounds and {1, 2, 9, 11} <= rounds and 10 not in rounds  # 10 is fresh
    assert {s.round for s in dev if s.id.split("-")[1].startswith("d")} >= {2, 11}


# -- the command -------------------------------------------------------------------------------


def test_eval_cities_prints_per_language_figures() -> None:
    result = CliRunner().invoke(
        cli, ["eval", "cities", "--data", str(EVAL_DIR / "cities.jsonl"), "--limit", "3"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for language in REQUIRED_LANGUAGES:
        assert any(line.split()[:1] == [language] for line in lines), language
    overall = next(line for line in lines if line.strip().startswith("overall"))
    assert "metonymy" in result.output and overall.split()[1] == str(3 * len(REQUIRED_LANGUAGES))


def test_eval_reports_a_missing_data_file_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["eval", "topics", "--data", str(tmp_path / "nope.jsonl")])
    assert result.exit_code != 0
    assert "nope.jsonl" in result.output and "not found" in result.output


# -- on the real public sets (skipped without ../shared/realdata) -------------------------------


def test_realdata_loaders_read_every_set(realdata: Path) -> None:
    wili = eval_sets.load_wili(realdata / "langid" / "wili2018_subset", limit=2)
    assert {"en", "de", "no", "ar"} <= {i.label for i in wili}
    tweets = eval_sets.load_xlmt(realdata / "sentiment" / "xlmt_tweets", limit=3)
    assert len(tweets) == 3 * len(eval_sets.XLMT_LANGUAGES)
    for name in ("Sentences_AllAgree.txt", "Sentences_50Agree.txt"):  # UTF-8 and ISO-8859-1
        assert eval_sets.load_financial_phrasebank(
            realdata / "sentiment" / "financial_phrasebank" / name)


def test_eval_language_json_on_realdata(realdata: Path) -> None:
    result = CliRunner().invoke(cli, ["eval", "language", "--data", str(realdata / "langid"),
                                      "--limit", "5", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    per_language = report["lingua_sentences"]["per_group"]
    assert len(per_language) >= 40
    assert set(per_language) <= set(report["configured_languages"])
    assert report["lingua_sentences"]["short_texts"]["overall"]["n"] > 0
    assert "cy" not in report["wili2018_subset"]["per_group"]  # Welsh is not configured


def test_eval_sentiment_on_realdata(realdata: Path) -> None:
    result = CliRunner().invoke(cli, ["eval", "sentiment", "--data", str(realdata / "sentiment"),
                                      "--limit", "10"])
    assert result.exit_code == 0, result.output
    assert "sentiment: xlmt_tweets" in result.output
    assert "sentiment: annotated_city_sentiment" in result.output
