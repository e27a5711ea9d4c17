"""The transformers sentiment backend and `cityradar models fetch`, on tiny models built here.

Every model is built locally (tests/tiny_models.py) and loaded back by path through the same
code that loads real hub models; nothing touches the Hugging Face hub (offline mode is forced).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from cityradar.cli import cli  # noqa: E402
from cityradar.config import ConfigError  # noqa: E402
from cityradar.records import Article  # noqa: E402
from nlp.backends import sentiment_scorer_from_config  # noqa: E402
from nlp.models import (  # noqa: E402
    COMPLETE_MARKER,
    ModelNotFoundError,
    fetch_model,
    fetched_path,
    resolve_model,
)
from nlp.pipeline import Tagger  # noqa: E402
from nlp.transformers_backend import (  # noqa: E402
    TransformersSentimentScorer,
    TransformersSettings,
    label_values,
)
from tests.conftest import CONFIG_DIR, REPO_ROOT, config_with_sentiment  # noqa: E402
from tests.tiny_models import build_tiny_classifier  # noqa: E402

NEGATIVE = ["Suzhou mourns victims of the explosion", "Nanjing suffers terrible floods",
            "Tianjin faces a deadly outbreak and fears a crisis"]
POSITIVE = ["Xi'an celebrates a wonderful festival", "Changsha wins a great award",
            "Chongqing welcomes happy visitors and reports record growth"]
NEUTRAL = ["Zhengzhou publishes the budget report", "Shenyang updates the bus timetable"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_classifier(tmp_path_factory.mktemp("tiny-sentiment"))



@pytest.fixture(scope="module")
def scorer(tiny_model: Path,
           tmp_path_factory: pytest.TempPathFactory) -> TransformersSentimentScorer:
    config = config_with_sentiment(tmp_path_factory.mktemp("cfg"), backend="transformers",
                         model=str(tiny_model), device="cpu", batch_size=4)
    built = sentiment_scorer_from_config(config)  # the factory the tagger uses
    assert isinstance(built, TransformersSentimentScorer)
    return built


def test_scores_follow_the_model_and_stay_in_range(scorer: TransformersSentimentScorer) -> None:
    texts = NEGATIVE + POSITIVE + NEUTRAL
    scores = scorer.score_batch(texts, ["en"] * len(texts))
    assert len(scores) == len(texts)
    assert all(-1.0 <= s <= 1.0 for s in scores)
    negative, positive = scores[: len(NEGATIVE)], scores[len(NEGATIVE) : -len(NEUTRAL)]
    neutral = scores[-len(NEUTRAL) :]
    assert max(negative) < -0.5, negative
    assert min(positive) > 0.5, positive
    assert all(abs(s) < 0.5 for s in neutral), neutral


def test_score_is_the_expected_value_over_label_probabilities(
    scorer: TransformersSentimentScorer,
) -> None:
    texts = [NEGATIVE[0], POSITIVE[0], NEUTRAL[0]]
    probabilities = scorer.probabilities(texts)
    assert [len(row) for row in probabilities] == [3, 3, 3]
    assert all(abs(sum(row) - 1.0) < 1e-5 for row in probabilities)
    expected = [round(-row[0] + row[2], 4) for row in probabilities]  # values -1, 0, 1
    assert scorer.score_batch(texts, ["en", "en", "en"]) == pytest.approx(expected, abs=1e-4)


def test_batch_size_and_order_do_not_change_scores(tiny_model: Path) -> None:
    texts = NEGATIVE + POSITIVE + NEUTRAL + ["Wuhan " * 40 + "reports many deaths"]
    one = TransformersSentimentScorer.from_settings(
        TransformersSettings(model=str(tiny_model), device="cpu", batch_size=1))
    many = TransformersSentimentScorer.from_settings(
        TransformersSettings(model=str(tiny_model), device="cpu", batch_size=64))
    languages = ["en"] * len(texts)
    by_one = one.score_batch(texts, languages)
    assert many.score_batch(texts, languages) == pytest.approx(by_one, abs=1e-3)
    reversed_scores = many.score_batch(texts[::-1], languages)
    assert reversed_scores[::-1] == pytest.approx(by_one, abs=1e-3)


def test_long_and_blank_texts(scorer: TransformersSentimentScorer) -> None:
    # The tiny model has 64 positions: without truncation a long article would crash it.
    # Truncated, only the first 64 tokens count: the rest of the text changes nothing.
    long_text = "Hangzhou celebrates a wonderful festival. " + "The council met. " * 2000
    scores = scorer.score_batch([long_text, long_text[:1000], "", "   ", POSITIVE[1]],
                                ["en"] * 5)
    assert -1.0 <= scores[0] <= 1.0
    assert scores[0] == pytest.approx(scores[1], abs=1e-4)
    assert scores[2] == scores[3] == 0.0
    assert scores[4] > 0.5


def test_per_city_tone_uses_the_clause_windows(tiny_model: Path, tmp_path: Path) -> None:
    config = config_with_sentiment(tmp_path, backend="transformers", model=str(tiny_model),
                                   device="cpu")
    tagger = Tagger.from_config(config)
    article = Article(
        id="t1", url="https://example.test/1", language_hint="en",
        title="Wuhan mourns victims of the explosion,",
        summary="while Chengdu celebrates a wonderful festival",
    )
    [tagged] = tagger.tag([article])
    assert tagged.tags is not None
    per_city = tagged.tags.city_sentiment
    assert set(per_city) >= {"wuhan", "chengdu"}, per_city
    assert per_city["wuhan"] < -0.3 < 0.3 < per_city["chengdu"], per_city


@pytest.mark.parametrize(
    ("labels", "values"),
    [
        (["negative", "neutral", "positive"], [-1.0, 0.0, 1.0]),
        (["Positive", "Negative"], [1.0, -1.0]),
        (["NEG", "NEU", "POS"], [-1.0, 0.0, 1.0]),
        (["1 star", "2 stars", "3 stars", "4 stars", "5 stars"], [-1.0, -0.5, 0.0, 0.5, 1.0]),
        (["LABEL_0", "LABEL_1", "LABEL_2"], [-1.0, 0.0, 1.0]),
    ],
)
def test_labels_read_from_the_model(labels: list[str], values: list[float]) -> None:
    assert label_values(dict(enumerate(labels))) == values


def test_label_map_wins_and_is_checked() -> None:
    id2label = {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}
    assert label_values(id2label, {"label_0": 1, "LABEL_1": -1, "2": 0}) == [1.0, -1.0, 0.0]
    with pytest.raises(ConfigError, match="no value for model label 'label_2'"):
        label_values(id2label, {"LABEL_0": 1, "LABEL_1": -1})
    with pytest.raises(ConfigError, match="outside"):
        label_values(id2label, {"LABEL_0": 3, "LABEL_1": -1, "LABEL_2": 0})
    with pytest.raises(ConfigError, match="cannot tell the tone"):
        label_values({0: "joy", 1: "anger"})


def test_label_map_from_config_changes_scores(tiny_model: Path, tmp_path: Path) -> None:
    config = config_with_sentiment(tmp_path, backend="transformers", model=str(tiny_model),
                                   device="cpu",
                                   label_map={"negative": 1.0, "neutral": 0.0, "positive": -1.0})
    inverted = sentiment_scorer_from_config(config)
    assert inverted.score_batch([POSITIVE[0], NEGATIVE[0]], ["en", "en"]) == [
        pytest.approx(-0.9, abs=0.1), pytest.approx(0.9, abs=0.1)]


def test_star_model_maps_five_labels(tmp_path: Path) -> None:
    stars = build_tiny_classifier(tmp_path / "stars", train_steps=0,
                                  labels=[f"{n} stars" for n in range(1, 6)])
    scorer = TransformersSentimentScorer.from_settings(
        TransformersSettings(model=str(stars), device="cpu"))
    assert scorer.values.tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]
    [score] = scorer.score_batch(["Wuhan holds a council meeting"], ["en"])
    assert -1.0 <= score <= 1.0


def test_missing_model_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYRADAR_MODELS_DIR", str(tmp_path / "models"))
    with pytest.raises(ModelNotFoundError) as caught:
        TransformersSentimentScorer.from_settings(TransformersSettings(model="nobody/no-model"))
    message = str(caught.value)
    assert "model 'nobody/no-model' not found locally" in message
    assert "run `cityradar models fetch` with internet access" in message
    assert "\n" not in message
    with pytest.raises(ModelNotFoundError, match="not found"):
        resolve_model(str(tmp_path / "nowhere" / "model"))


def test_tag_command_reports_a_missing_model(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYRADAR_MODELS_DIR", str(tmp_path / "models"))
    config = config_with_sentiment(tmp_path, backend="transformers", model="nobody/no-model")
    article = json.dumps({"url": "https://example.test/a", "title": "Wuhan reports deaths"})
    result = CliRunner().invoke(cli, ["--config", str(config), "tag"], input=article + "\n")
    assert result.exit_code == 1
    assert "not found locally" in result.output
    assert "cityradar models fetch" in result.output


def test_a_fetched_model_is_found_by_name_and_a_partial_one_is_not(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "models"
    monkeypatch.setenv("CITYRADAR_MODELS_DIR", str(models))
    target = fetched_path("example/tiny-sentiment")
    shutil.copytree(tiny_model, target)
    with pytest.raises(ModelNotFoundError):  # no completion marker: an interrupted download
        resolve_model("example/tiny-sentiment")
    (target / COMPLETE_MARKER).write_text("{}", encoding="utf-8")
    assert resolve_model("example/tiny-sentiment") == target
    assert fetch_model("example/tiny-sentiment") == target  # already there: no download
    loaded = TransformersSentimentScorer.from_settings(
        TransformersSettings(model="example/tiny-sentiment", device="cpu"))
    assert loaded.score_batch([NEGATIVE[1]], ["en"])[0] < -0.5


def test_models_fetch_offline_fails_cleanly(tmp_path: Path) -> None:
    models = tmp_path / "models"
    result = CliRunner().invoke(
        cli, ["models", "fetch", "--model", "cardiffnlp/twitter-xlm-roberta-base-sentiment",
              "--dir", str(models)],
        env={"HF_HUB_OFFLINE": "1"},
    )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert "cannot fetch model 'cardiffnlp/twitter-xlm-roberta-base-sentiment'" in lines[0]
    assert "offline" in lines[0]
    assert not models.exists()


def test_models_fetch_of_a_local_directory_needs_no_download(tiny_model: Path) -> None:
    result = CliRunner().invoke(cli, ["models", "fetch", "--model", str(tiny_model)])
    assert result.exit_code == 0, result.output
    assert str(tiny_model) in result.output


def test_cuda_requested_without_a_gpu_is_a_config_error(tiny_model: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        TransformersSentimentScorer.from_settings(
            TransformersSettings(model=str(tiny_model), device="cuda"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_scores_match_cpu_scores(tiny_model: Path) -> None:
    texts = NEGATIVE + POSITIVE + NEUTRAL
    cpu = TransformersSentimentScorer.from_settings(
        TransformersSettings(model=str(tiny_model), device="cpu"))
    gpu = TransformersSentimentScorer.from_settings(
        TransformersSettings(model=str(tiny_model), device="cuda"))
    assert gpu.device == "cuda"
    languages = ["en"] * len(texts)
    assert gpu.score_batch(texts, languages) == pytest.approx(
        cpu.score_batch(texts, languages), abs=1e-3)


def test_default_pipeline_runs_without_torch(tmp_path: Path) -> None:
    transformers_config = config_with_sentiment(tmp_path, backend="transformers", model="x/y")
    script = f"""
import importlib.abc
import sys


class _NotInstalled(importlib.abc.MetaPathFinder):  # as if torch and transformers were absent
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("torch", "transformers"):
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, _NotInstalled())
for loaded in [m for m in sys.modules if m.split(".")[0] in ("torch", "transformers")]:
    del sys.modules[loaded]
from cityradar.config import ConfigError
from nlp.backends import sentiment_scorer_from_config
lexicon = sentiment_scorer_from_config({str(CONFIG_DIR)!r})
print(lexicon.score_batch(["A deadly outbreak"], ["en"])[0] < 0)
try:
    sentiment_scorer_from_config({str(transformers_config)!r})
except ConfigError as exc:
    print(exc)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120, check=True)
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "True"
    assert "needs torch and transformers" in lines[1]
    assert "pip install 'cityradar[transformers]'" in lines[1]
