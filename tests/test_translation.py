"""Headline translation with a tiny real Marian model built locally: real MarianTokenizer /
MarianMTModel loading by path and real generation, offline (HF_HUB_OFFLINE=1); the hub is never
touched. With no model configured nothing changes and nothing fails."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from cityradar.cli import cli
from cityradar.config import ConfigError
from nlp.translation import (
    TranslationSettings,
    translate_articles,
    translated_title,
    translator_from_config,
)
from search import open_store
from tests.conftest import CONFIG_DIR
from tests.contract.factories import make_article
from tests.tiny_marian import build_tiny_marian

RUSSIAN = "Вспышка коронавируса в Ухане"


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_marian(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_marian(tmp_path_factory.mktemp("models") / "tiny-marian-mul-en")


def config_with(directory: Path, translation: dict) -> Path:
    """The shipped config with nlp.yaml's translation section replaced."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in CONFIG_DIR.iterdir():
        if path.name != "nlp.yaml":
            (directory / path.name).symlink_to(path)
    nlp = yaml.safe_load((CONFIG_DIR / "nlp.yaml").read_text(encoding="utf-8"))
    nlp["translation"] = translation
    (directory / "nlp.yaml").write_text(yaml.safe_dump(nlp, allow_unicode=True),
                                        encoding="utf-8")
    return directory


def articles():
    return [make_article(title=RUSSIAN, language="ru"),
            make_article(title="تفشي فيروس كورونا في ووهان", language="ar"),
            make_article(title="우한에서 코로나바이러스 발생", language="ko"),
            make_article(title="Wuhan placed under lockdown", language="en")]


def test_titles_are_translated_once_per_model(tiny_marian: Path, tmp_path: Path) -> None:
    config = config_with(tmp_path / "config", {"backend": "marian", "target": "en",
                                               "models": {"*": str(tiny_marian)}})
    translator = translator_from_config(config)
    assert translator is not None
    originals = articles()
    done = translate_articles(originals, translator)
    assert [a.title for a in done] == [a.title for a in originals[:3]]  # not the English one
    for article in done:
        translation = translated_title(article)
        assert translation.title == "Coronavirus outbreak in Wuhan"
        assert translation.model == str(tiny_marian) and translation.target == "en"
    assert translated_title(done[0]).source_language == "ru"
    # Stored with the model's name: a second pass translates nothing...
    assert translate_articles([*done, originals[3]], translator) == []
    # ...until the title or the model changes.
    changed = done[0]
    changed.title = "Ухань закрыт на карантин"
    (again,) = translate_articles([changed], translator)
    assert translated_title(again).title == "Wuhan placed under quarantine"
    summaries = translate_articles(
        [make_article(title=RUSSIAN, summary="Больницы Уханя переполнены", language="ru")],
        translator, summaries=True)
    assert translated_title(summaries[0]).summary == "Wuhan hospitals are overwhelmed"


def test_translate_command_stores_translations(tiny_marian: Path, tmp_path: Path) -> None:
    config = config_with(tmp_path / "config", {"backend": "marian",
                                               "models": {"ru": str(tiny_marian)}})
    db = tmp_path / "radar.db"
    with open_store(str(db)) as store:
        store.upsert_articles(articles())
    args = ["--db", str(db), "--config", str(config), "translate"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "translated 1 of 4" in result.output  # only Russian has a model here
    with open_store(str(db)) as store:
        stored = {a.title: translated_title(a) for a in store.iter_articles()}
    assert stored[RUSSIAN].title == "Coronavirus outbreak in Wuhan"
    assert stored["Wuhan placed under lockdown"] is None
    assert "translated 0 of 4" in CliRunner().invoke(cli, args).output


def test_no_model_configured_changes_nothing(tmp_path: Path) -> None:
    assert TranslationSettings.from_config(CONFIG_DIR).backend == "none"
    assert translator_from_config(CONFIG_DIR) is None
    db = tmp_path / "radar.db"
    result = CliRunner().invoke(cli, ["--db", str(db), "translate"])
    assert result.exit_code == 1
    assert "translation is off" in result.output and len(result.output.splitlines()) == 1


def test_bad_or_missing_models_are_one_line_errors(tmp_path: Path) -> None:
    bad = config_with(tmp_path / "bad", {"backend": "argos", "models": {"*": "x"}})
    with pytest.raises(ConfigError, match=r"translation\.backend"):
        TranslationSettings.from_config(bad)
    missing = config_with(tmp_path / "missing", {
        "backend": "marian", "models": {"*": "Helsinki-NLP/opus-mt-mul-en"}})
    db = tmp_path / "radar.db"
    with open_store(str(db)) as store:
        store.upsert_articles(articles()[:1])
    env = {"CITYRADAR_MODELS_DIR": str(tmp_path / "models")}
    result = CliRunner(env=env).invoke(cli, ["--db", str(db), "--config", str(missing),
                                             "translate"])
    assert result.exit_code == 1
    assert "not found locally" in result.output and "models fetch" in result.output
    fetch = CliRunner(env=env).invoke(cli, ["--config", str(missing), "models", "fetch",
                                            "--translation"])
    assert fetch.exit_code == 1 and "offline mode is on" in fetch.output
