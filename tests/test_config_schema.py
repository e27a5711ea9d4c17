"""Every shipped config file is validated by a schema: a typo'd key is a one-line error naming
the file and the key, wherever it is in the file; the default config directory is found."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.detectors import DetectorConfig
from alerts.notifiers import NotifyConfig
from cityradar.config import ConfigError, ConfigModel, default_config_dir, validate
from cityradar.settings import Settings
from ingest.backfill import BackfillConfig
from ingest.demo_corpus import DemoConfig, pickup_stories
from ingest.gdelt_doc import GdeltDocConfig
from ingest.outlets import OutletRegistry
from ingest.sources import load_sources
from nlp.cities import CityLinker
from nlp.gazetteer import load_cities
from nlp.topics import KeywordTopicClassifier, load_topics
from reports.cicii import CiciiConfig
from reports.scheduled import MonthlyReportConfig
from tests.conftest import CONFIG_DIR

KEY = "zz_typo_key"


def _pickups(config_dir: Path) -> object:
    return pickup_stories(DemoConfig.load(config_dir), date(2020, 1, 1), date(2020, 12, 31),
                          config_dir)


# Each shipped file and the loader that validates it (its top level and every section but
# those in SECTION_LOADERS).
LOADERS: dict[str, list[Callable[[Path], object]]] = {
    "sources.yaml": [lambda d: load_sources(d, cities=[])],
    "outlets.yaml": [OutletRegistry.from_config],
    "cities.yaml": [load_cities],
    "topics.yaml": [load_topics],
    "nlp.yaml": [KeywordTopicClassifier.from_config],
    "alerts.yaml": [DetectorConfig.load, NotifyConfig.load],  # each alone refuses a bad section
    "gdelt.yaml": [GdeltDocConfig.load, BackfillConfig.load],
    "cicii.yaml": [CiciiConfig.load],
    "reports.yaml": [MonthlyReportConfig.load],
    "lexicons/metonymy.yaml": [CityLinker.from_config],
    "demo/cities.yaml": [DemoConfig.load],
    "demo/outlets.yaml": [DemoConfig.load],
    "demo/pickups.yaml": [_pickups],
    **{f"demo/{p.name}": [DemoConfig.load] for p in sorted((CONFIG_DIR / "demo").glob("*.yaml"))
       if p.stem not in ("cities", "outlets", "pickups")},
}

# Sections another module reads and validates (the file's loader above passes them over).
SECTION_LOADERS: dict[tuple[str, str], list[Callable[[Path], object]]] = {
    ("alerts.yaml", "notify"): [NotifyConfig.load],
    ("gdelt.yaml", "files"): [BackfillConfig.load],
}

# Places inside the files (a path of keys and list indexes) where a fixed set of keys is
# expected: an unknown key there is an error too, not only at the top.
NESTED: list[tuple[str, tuple[Any, ...]]] = [
    ("sources.yaml", ("fetch",)),
    ("sources.yaml", ("feeds", 0)),
    ("sources.yaml", ("news_search", 0, "editions", 0)),
    ("outlets.yaml", ("groups", 0)),
    ("cities.yaml", ("cities", 0)),
    ("cities.yaml", ("cities", 13, "homonyms", 0)),
    ("topics.yaml", ("topics", "public_health")),
    ("nlp.yaml", ("tagger",)),
    ("nlp.yaml", ("language",)),
    ("nlp.yaml", ("topics",)),
    ("nlp.yaml", ("sentiment",)),
    ("nlp.yaml", ("sentiment", "thresholds")),
    ("nlp.yaml", ("sentiment", "rules", "en")),
    ("nlp.yaml", ("translation",)),
    ("alerts.yaml", ("baseline",)),
    ("alerts.yaml", ("episodes",)),
    ("alerts.yaml", ("notify",)),
    ("alerts.yaml", ("notify", "webhook")),
    ("alerts.yaml", ("notify", "email")),
    ("gdelt.yaml", ("doc",)),
    ("gdelt.yaml", ("files",)),
    ("cicii.yaml", ("dimensions", "media")),
    ("cicii.yaml", ("dimensions", "media", "indicators", "english_reports")),
    ("reports.yaml", ("monthly",)),
    ("lexicons/metonymy.yaml", ("languages", "en")),
    ("demo/cities.yaml", ("cities", "wuhan")),
    ("demo/outlets.yaml", ("outlets", 0)),
    ("demo/en.yaml", ("templates", "public_health", "negative", 0)),
    ("demo/pickups.yaml", ("stories", 0)),
    ("demo/pickups.yaml", ("stories", 0, "pickups", 0)),
]


def test_every_shipped_config_file_has_a_loader_here() -> None:
    shipped = {str(p.relative_to(CONFIG_DIR)) for p in CONFIG_DIR.rglob("*.yaml")}
    assert shipped == set(LOADERS), "a config file without a schema test (or a stale entry)"


def _inject(tmp_path: Path, name: str, where: tuple[Any, ...]) -> tuple[Path, Path]:
    config_dir = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config_dir)
    path = config_dir / name
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    target = document
    for step in where:
        target = target[step]
    assert isinstance(target, dict), f"{name}: {where} is not a mapping"
    target[KEY] = 1
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "utf-8")
    return config_dir, path


@pytest.mark.parametrize(("name", "where"),
                         [(name, ()) for name in LOADERS] + NESTED,
                         ids=lambda v: "/".join(map(str, v)) if isinstance(v, tuple) else v)
def test_an_unknown_key_is_a_one_line_error_naming_file_and_key(
    tmp_path: Path, name: str, where: tuple[Any, ...]
) -> None:
    config_dir, path = _inject(tmp_path, name, where)
    loaders = SECTION_LOADERS.get((name, where[0]), LOADERS[name]) if where else LOADERS[name]
    for loader in loaders:
        with pytest.raises(ConfigError) as caught:
            loader(config_dir)
        message = str(caught.value)
        assert "\n" not in message
        assert message.startswith(str(path)), message
        assert KEY in message, message


def test_the_shipped_files_load_unchanged() -> None:
    for loaders in [*LOADERS.values(), *SECTION_LOADERS.values()]:
        for loader in loaders:
            assert loader(CONFIG_DIR) is not None, loader


class _Example(ConfigModel):
    count: int
    enabled: bool = True
    items: list[str] = []  # noqa: RUF012 - pydantic copies defaults


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "f.yaml: count: missing"),
        ({"count": None}, "f.yaml: count: missing"),
        ({"count": "3"}, "f.yaml: count: expected a number (whole), got '3'"),
        ({"count": 3, "enabled": "yes"}, "f.yaml: enabled: expected true or false, got 'yes'"),
        ({"count": 3, "items": ["a", 2]}, "f.yaml: items[1]: expected a string, got int"),
        ({"count": 3, "items": "a"}, "f.yaml: items: expected a list, got str"),
        ({"count": 3, "colour": 1}, "f.yaml: colour: unknown setting"),
        ({"count": "x", "colour": 1}, "(and 1 more)"),
        (["count"], "f.yaml: expected a mapping, got list"),
    ],
)
def test_validation_errors_become_one_line_config_errors(data: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate(_Example, data, "f.yaml")
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert validate(_Example, {"count": 2}, "f.yaml").count == 2


def test_a_section_source_continues_the_field_path() -> None:
    with pytest.raises(ConfigError, match=r"^nlp\.yaml: language\.count: missing$"):
        validate(_Example, {}, "nlp.yaml: language")


def test_the_default_config_directory_is_defined_once(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CITYRADAR_CONFIG", raising=False)
    assert default_config_dir() == CONFIG_DIR  # a checkout: its config/
    assert Settings.resolve().config_dir == CONFIG_DIR
    monkeypatch.setenv("CITYRADAR_CONFIG", str(tmp_path))
    assert default_config_dir() == tmp_path
    assert Settings.resolve().config_dir == tmp_path
    assert Settings.resolve(config_dir="elsewhere").config_dir == Path("elsewhere")


def test_an_installed_copy_is_found_without_the_environment(monkeypatch, tmp_path: Path) -> None:
    import cityradar.config as config_module

    monkeypatch.delenv("CITYRADAR_CONFIG", raising=False)
    installed = tmp_path / "site-packages" / "cityradar" / "_config"
    monkeypatch.setattr(config_module, "PACKAGED_CONFIG_DIR", installed)
    assert default_config_dir() == CONFIG_DIR  # not installed: the checkout's config/
    installed.mkdir(parents=True)
    assert default_config_dir() == installed  # a non-editable install's package data
    monkeypatch.setenv("CITYRADAR_CONFIG", str(tmp_path))
    assert default_config_dir() == tmp_path  # the environment still wins
