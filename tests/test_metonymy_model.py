"""The learned metonymy reading: what the linker asks it, how it reads a context, its file."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from cityradar.config import ConfigError
from nlp.cities import CityLinker
from nlp.e5_model import PieceVocabulary, piece_weights, shared_tokenizer
from nlp.gazetteer import load_cities
from nlp.metonymy_model import (
    DEFAULT_MODEL_PATH,
    SLOTS,
    Context,
    MetonymyModel,
    slot_means,
    slot_pieces,
)

CONFIG = Path(__file__).resolve().parents[1] / "config"
RULES = CONFIG / "lexicons" / "metonymy.yaml"
TRAINER = Path(__file__).resolve().parents[1] / "scripts" / "train_metonymy_model.py"
WORDS = ("beijing", "zorbles", "the", "exporters", "reopens", "its", "museums", "in",
         "residents", "of", "glorped", "by")


def tiny_vocabulary() -> PieceVocabulary:
    pieces = ["<s>", "<pad>", "</s>", "<unk>", "▁", *(f"▁{word}" for word in WORDS),
              *"abcdefghijklmnopqrstuvwxyz", *(f"▁{c}" for c in "abcdefghijklmnopqrstuvwxyz")]
    scores = np.array([0.0] * 5 + [-8.0] * len(WORDS) + [-12.0] * 52, dtype=np.float32)
    return PieceVocabulary(pieces, scores, {}, bos=0, eos=2, pad=1, unk=3)


def slot(side: str, first: int) -> int:
    return next(i for i, (s, f, _) in enumerate(SLOTS) if s == side and f == first)


def invented_verb_model(path: Path | None = None) -> MetonymyModel:
    """A model that reads the name as the state right before the made-up verb "zorbles" or
    right after "glorped by", and as the city otherwise."""
    vocabulary = tiny_vocabulary()
    logits = np.zeros((len(vocabulary.pieces), len(SLOTS)), dtype=np.float32)
    logits[vocabulary.pieces.index("▁zorbles"), slot("after", 0)] = 8.0
    logits[vocabulary.pieces.index("▁glorped"), slot("before", 0)] = 8.0
    model = MetonymyModel(vocabulary, logits, intercept=-3.0, threshold=0.5,
                          languages=frozenset({"en"}))
    if path is not None:
        model.save(path)
    return model


def test_slots_take_the_pieces_next_to_the_name_first_and_count_back_before_it() -> None:
    vocabulary = tiny_vocabulary()
    text = "residents of beijing zorbles the exporters"
    start = text.index("beijing")
    [row] = slot_pieces(shared_tokenizer(vocabulary),
                        [Context.of(text, start, start + len("beijing"))])
    named = {(side, first): [vocabulary.pieces[i] for i in ids]
             for (side, first, _), ids in zip(SLOTS, row, strict=True)}
    assert named["after", 0] == ["▁zorbles", "▁the"]
    assert named["after", 2] == ["▁exporters"]
    assert named["before", 0] == ["▁residents", "▁of"]
    assert named["before", 2] == []


def test_the_probability_is_the_intercept_plus_each_slots_mean_piece_logit() -> None:
    model = invented_verb_model()
    text = "beijing zorbles the exporters"
    context = Context.of(text, 0, len("beijing"))
    # "zorbles" and "the" share the first slot after the name, weighted by their SIF weights
    weights = piece_weights(model.vocabulary.scores)
    zorbles, the = (model.vocabulary.pieces.index(p) for p in ("▁zorbles", "▁the"))
    mean = 8.0 * weights[zorbles] / (weights[zorbles] + weights[the])
    np.testing.assert_allclose(model.probabilities([context]), [1 / (1 + np.exp(3.0 - mean))],
                               rtol=1e-5)
    assert model.is_state([context, Context.of("beijing reopens its museums", 0, 7)]) == [
        True, False]


def test_the_linker_asks_the_model_only_where_no_rule_decides(tmp_path: Path) -> None:
    invented_verb_model(tmp_path / "model.npz")
    with_model = CityLinker(load_cities(CONFIG), RULES, tmp_path / "model.npz")
    rules_only = CityLinker(load_cities(CONFIG), RULES)

    def kinds(linker: CityLinker, text: str) -> list[str]:
        return [m.kind for m in linker.link(text, "en")]

    # no rule knows the made-up verbs: the rules leave the name a place, the model reads it
    assert kinds(rules_only, "Beijing zorbles the exporters") == ["place"]
    assert kinds(with_model, "Beijing zorbles the exporters") == ["government"]
    assert kinds(with_model, "Exporters glorped by Beijing") == ["government"]
    assert kinds(with_model, "Beijing reopens its museums") == ["place"]
    # a rule that matches decides, whatever the model would say: "residents of" is a place cue
    assert kinds(with_model, "The residents of Beijing zorbles") == ["place"]
    # it is asked only about the languages it was trained on
    assert [m.kind for m in with_model.link("Beijing zorbles the exporters", "sv")] == ["place"]
    assert [m.kind for m in with_model.link("Beijing zorbles the exporters", "en-GB")] == [
        "government"]
    # and two cities acting together are cities
    assert kinds(with_model, "Beijing and Shanghai zorbles the exporters") == ["place", "place"]


def test_nlp_yaml_chooses_the_model_or_rules_alone(tmp_path: Path) -> None:
    config = tmp_path / "config"
    (config / "lexicons").mkdir(parents=True)
    for name in ("cities.yaml", "lexicons/metonymy.yaml"):
        (config / name).write_text((CONFIG / name).read_text(encoding="utf-8"),
                                   encoding="utf-8")
    invented_verb_model(config / "my_model.npz")
    nlp_yaml = (CONFIG / "nlp.yaml").read_text(encoding="utf-8")

    def linker_with(section: str) -> CityLinker:
        (config / "nlp.yaml").write_text(nlp_yaml + section, encoding="utf-8")
        return CityLinker.from_config(config)

    chosen = linker_with("\nlinking:\n  metonymy_model: my_model.npz\n")
    assert chosen.link("Beijing zorbles the exporters", "en")[0].kind == "government"
    assert linker_with("\nlinking:\n  metonymy_model: none\n").metonymy_model is None
    with pytest.raises(ConfigError, match=r"linking\.metonymy_model: no file"):
        linker_with("\nlinking:\n  metonymy_model: missing.npz\n")
    (config / "nlp.yaml").write_text(nlp_yaml, encoding="utf-8")
    shipped = CityLinker.from_config(config).metonymy_model
    assert shipped is not None and shipped.meta == MetonymyModel.load(DEFAULT_MODEL_PATH).meta
    # the model completes the rules: without them, naming a model is a mistake
    (config / "lexicons" / "metonymy.yaml").unlink()
    with pytest.raises(ConfigError, match="needs the rules"):
        linker_with("\nlinking:\n  metonymy_model: my_model.npz\n")


def test_the_file_keeps_the_readings_and_a_damaged_one_is_a_one_line_error(
        tmp_path: Path) -> None:
    model = invented_verb_model(tmp_path / "model.npz")
    loaded = MetonymyModel.load(tmp_path / "model.npz")
    contexts = [Context.of("beijing zorbles the exporters", 0, 7),
                Context.of("beijing reopens its museums", 0, 7)]
    np.testing.assert_allclose(loaded.probabilities(contexts), model.probabilities(contexts),
                               atol=1e-3)
    assert loaded.threshold == 0.5 and loaded.languages == {"en"}
    good = (tmp_path / "model.npz").read_bytes()
    for name, content in (("bad.npz", b"not a model"), ("empty.npz", b""),
                          ("truncated.npz", good[:len(good) // 2])):
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ConfigError, match="cannot read the metonymy model") as error:
            MetonymyModel.load(tmp_path / name)
        assert "\n" not in str(error.value)
    # and the linker reads it when it is made, so a damaged file stops the start
    with pytest.raises(ConfigError, match=r"truncated\.npz"):
        CityLinker(load_cities(CONFIG), RULES, tmp_path / "truncated.npz")


def test_the_trainers_folded_logits_give_the_fitted_regressions_probabilities() -> None:
    from sklearn.linear_model import LogisticRegression

    spec = importlib.util.spec_from_file_location("train_metonymy_model", TRAINER)
    assert spec is not None and spec.loader is not None
    trainer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(trainer)
    vocabulary = tiny_vocabulary()
    vectors = np.random.default_rng(0).normal(size=(len(vocabulary.pieces), 6)).astype(
        np.float32)
    texts = ["beijing zorbles the exporters", "beijing reopens its museums",
             "residents of beijing", "exporters glorped by beijing", "in beijing",
             "beijing zorbles its residents"]
    contexts = [Context.of(t, t.index("beijing"), t.index("beijing") + 7) for t in texts]
    weights = piece_weights(vocabulary.scores)
    matrix = slot_means(slot_pieces(shared_tokenizer(vocabulary), contexts), vectors,
                        weights).reshape(
        len(texts), -1)
    gold = np.array([True, False, False, True, False, True])
    fitted = LogisticRegression(C=10.0).fit(matrix, gold)
    model = MetonymyModel(vocabulary, trainer.fold_slots(fitted.coef_[0], vectors),
                          float(fitted.intercept_[0]), 0.5, frozenset({"en"}))
    np.testing.assert_allclose(model.probabilities(contexts),
                               fitted.predict_proba(matrix)[:, 1], atol=1e-5)
    # the tagger's reading: a rule where one matches, else the model at its threshold
    assert trainer.combined(["place", None, None, "government"], np.array([0.9, 0.9, 0.1, 0.1]),
                            0.5).tolist() == [False, True, False, True]


STATE_IN_NEW_WORDS = [  # no rule knows these phrasings, and no dev sentence has them
    ("Pekín mueve ficha en el Pacífico Sur", "es"),
    ("Pequim aperta o cerco às exportações de gálio", "pt"),
    ("Peking zieht die Daumenschrauben an", "de"),
    ("北京对日本水产品亮红灯", "zh"),
    ("베이징, 대만 무기 판매에 발끈", "ko"),
    ("بكين تلوّح بالرد على الرسوم الأوروبية", "ar"),
]
CITY_DOING_ITS_OWN_THINGS = [
    ("Pékin rouvre ses musées", "fr"),
    ("Beijing reopens its museums", "en"),
    ("Peking eröffnet eine neue U-Bahn-Linie", "de"),
    ("Pekín estrena una nueva línea de metro", "es"),
    ("北京新开通一条地铁线路", "zh"),
]


@pytest.fixture(scope="module")
def linkers() -> tuple[CityLinker, CityLinker]:
    return CityLinker(load_cities(CONFIG), RULES), CityLinker.from_config(CONFIG)


@pytest.mark.parametrize(("text", "language"), STATE_IN_NEW_WORDS + CITY_DOING_ITS_OWN_THINGS)
def test_the_shipped_model_reads_beijing_where_the_rules_do_not(
        linkers: tuple[CityLinker, CityLinker], text: str, language: str) -> None:
    rules_only, shipped = linkers
    assert [m.kind for m in rules_only.link(text, language)] == ["place"]
    expected = "government" if (text, language) in STATE_IN_NEW_WORDS else "place"
    assert [m.kind for m in shipped.link(text, language)] == [expected]


@pytest.mark.parametrize(("text", "language"), [
    ("Beijing", "en"),
    ("BEIJING (Reuters) - Factory activity shrank for a third month", "en"),
    ("A slow spring\n\nBEIJING, March 3 (Reuters) - Factory activity shrank", "en"),
    ("PÉKIN (AFP) - L'activité manufacturière a reculé", "fr"),
    ("(베이징=연합뉴스) 중국의 제조업 경기가 위축됐다", "ko"),
    ("【北京共同】中国の製造業景況感が悪化した", "ja"),
    ("新华社北京3月3日电 制造业采购经理指数回落", "zh"),
])
def test_a_name_standing_alone_or_in_a_dateline_is_the_city(
        linkers: tuple[CityLinker, CityLinker], text: str, language: str) -> None:
    _rules_only, shipped = linkers
    assert [m.kind for m in shipped.link(text, language) if m.city == "beijing"] == ["place"]


def test_the_model_is_not_asked_without_a_known_language(
        linkers: tuple[CityLinker, CityLinker]) -> None:
    _rules_only, shipped = linkers
    text = "Pekín mueve ficha en el Pacífico Sur"
    assert shipped.link(text, "ES_es")[0].kind == "government"
    assert shipped.link(text, None)[0].kind == "place"


def test_vocabularies_that_differ_only_in_their_pieces_get_their_own_tokenizers() -> None:
    vocabulary = tiny_vocabulary()
    swapped = list(vocabulary.pieces)
    dog, cat = swapped.index("▁museums"), swapped.index("▁exporters")
    swapped[dog], swapped[cat] = swapped[cat], swapped[dog]
    other = PieceVocabulary(swapped, vocabulary.scores, {}, bos=0, eos=2, pad=1, unk=3)
    assert shared_tokenizer(vocabulary).piece_ids(["museums"]) == [[dog]]
    assert shared_tokenizer(other).piece_ids(["museums"]) == [[cat]]
