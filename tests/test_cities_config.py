"""The cities gazetteer: the shipped cities.yaml loads; every kind of mistake names its field."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from cityradar.config import ConfigError
from nlp.cities import CityLinker
from nlp.gazetteer import cities_by_id, load_cities

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"

STUDY_CITIES = {
    "beijing", "shanghai", "guangzhou", "shenzhen", "tianjin", "chongqing", "chengdu",
    "hangzhou", "wuhan", "nanjing", "xian", "zhengzhou", "changsha", "suzhou", "shenyang",
}
REQUIRED_LANGUAGES = {
    "en", "fr", "de", "es", "it", "pt", "ru", "ar", "ja", "ko", "zh", "zh-Hant", "vi", "th", "hi",
}


def _shipped() -> dict:
    return yaml.safe_load((CONFIG_DIR / "cities.yaml").read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: dict) -> Path:
    (tmp_path / "cities.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return tmp_path


def test_shipped_file_has_the_15_study_cities_with_domain_facts() -> None:
    cities = cities_by_id(load_cities(CONFIG_DIR))
    assert set(cities) == STUDY_CITIES
    wuhan, xian, beijing = cities["wuhan"], cities["xian"], cities["beijing"]
    assert (wuhan.zh, wuhan.zh_hant, wuhan.admin, wuhan.gawc, wuhan.gdp_2019) == (
        "武汉", "武漢", "S", "B", 16900
    )
    assert (xian.name, xian.gawc, xian.region, xian.province) == (
        "Xi'an", None, "Northwest", "Shaanxi"
    )
    assert beijing.metonym and not wuhan.metonym
    assert sorted(c.id for c in cities.values() if c.admin == "M") == [
        "beijing", "chongqing", "shanghai", "tianjin"
    ]


def test_every_city_is_named_in_every_required_language() -> None:
    for city in load_cities(CONFIG_DIR):
        missing = REQUIRED_LANGUAGES - set(city.names)
        assert not missing, f"{city.id} lacks names in {sorted(missing)}"


def test_all_names_covers_scripts_history_and_inflections() -> None:
    cities = cities_by_id(load_cities(CONFIG_DIR))
    assert {"Wuhan", "武汉", "武漢", "Ухань", "Уханя", "Ухане", "ووهان", "우한", "ウーハン",
            "Hankow"} <= cities["wuhan"].all_names()
    beijing_forms = {"Peking", "Pékin", "Pekín", "Пекином", "ペキン", "北京"}
    assert beijing_forms <= cities["beijing"].all_names()
    assert {"Sian", "Hsi-an", "Xian", "Xi'an"} <= cities["xian"].all_names()
    assert {"Mukden", "Fengtien"} <= cities["shenyang"].all_names()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["cities"][3].update(admin="X"),
         r"cities\[3\]\.admin: expected one of M, S, O, got 'X'"),
        (lambda d: d["cities"][2].pop("zh"), r"cities\[2\]\.zh: missing"),
        (lambda d: d["cities"][0].update(gdp_2019="lots"),
         r"cities\[0\]\.gdp_2019: expected int or float, got str"),
        (lambda d: d["cities"][5].update(gawc=3), r"cities\[5\]\.gawc: expected a string or null"),
        (lambda d: d["cities"][1].update(id="Shang Hai"), r"cities\[1\]\.id: expected lowercase"),
        (lambda d: d["cities"][4].update(id="beijing"),
         r"cities\[4\]\.id: duplicate id 'beijing' \(already cities\[0\]\)"),
        (lambda d: d["cities"][8]["names"].update(ru="Ухань"),
         r"cities\[8\]\.names\.ru: expected a list, got str"),
        (lambda d: d["cities"][8]["names"].update(ko=[""]),
         r"cities\[8\]\.names\.ko\[0\]: expected a non-empty string"),
        (lambda d: d["cities"][13]["homonyms"][0].pop("cues"),
         r"cities\[13\]\.homonyms\[0\]\.cues: expected at least one cue"),
        (lambda d: d["cities"][13].update(ambiguous_forms=["Soochoo"]),
         r"cities\[13\]\.ambiguous_forms\[0\]: 'Soochoo' is not one of the city's names"),
        (lambda d: d["cities"][0].update(metonym="yes"),
         r"cities\[0\]\.metonym: expected true or false"),
        (lambda d: d.update(cities={}), r"cities: expected a list of cities"),
    ],
)
def test_each_kind_of_error_names_the_file_and_field(tmp_path: Path, mutate, message: str) -> None:
    data = _shipped()
    mutate(data)
    config_dir = _write(tmp_path, data)
    with pytest.raises(ConfigError, match=message) as caught:
        load_cities(config_dir)
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(str(config_dir / "cities.yaml"))


def test_broken_yaml_and_missing_file_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape("cities.yaml: cannot read")):
        load_cities(tmp_path)
    (tmp_path / "cities.yaml").write_text("cities: [\n  - id: wuhan\n  bad", "utf-8")
    with pytest.raises(ConfigError, match=re.escape("cities.yaml: line")):
        load_cities(tmp_path)


def test_a_surface_form_cannot_name_two_cities(tmp_path: Path) -> None:
    data = _shipped()
    data["cities"][1]["names"]["en"].append("Peking")
    with pytest.raises(ConfigError, match="'Peking' already names 'beijing'"):
        CityLinker(load_cities(_write(tmp_path, data)))


def test_adding_a_city_is_editing_the_yaml_only(tmp_path: Path) -> None:
    data = _shipped()
    data["cities"].append({
        "id": "harbin", "name": "Harbin", "zh": "哈尔滨", "zh_hant": "哈爾濱", "admin": "S",
        "region": "Northeast", "gawc": None, "gdp_2019": 5249.4, "province": "Heilongjiang",
        "names": {"en": ["Harbin"], "ru": ["Харбин", "Харбина", "Харбине"], "zh": ["哈尔滨"]},
        "context": ["Heilongjiang"],
    })
    config_dir = _write(tmp_path, data)
    cities = cities_by_id(load_cities(config_dir))
    assert cities["harbin"].gdp_2019 == pytest.approx(5249.4)
    linker = CityLinker.from_config(config_dir)
    text = "Снег в Харбине; 哈尔滨冰雪节 and Harbin's ice festival"
    found = [(m.city, m.surface, m.start, m.end) for m in linker.link(text)]
    assert found == [
        ("harbin", "Харбине", 7, 14), ("harbin", "哈尔滨", 16, 19), ("harbin", "Harbin", 27, 33)
    ]


def test_load_cities_sees_an_edited_file(tmp_path: Path) -> None:
    data = _shipped()
    config_dir = _write(tmp_path, data)
    assert len(load_cities(config_dir)) == 15
    data["cities"] = data["cities"][:3]
    (config_dir / "cities.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    stat = (config_dir / "cities.yaml").stat()
    os.utime(config_dir / "cities.yaml", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert [city.id for city in load_cities(config_dir)] == ["beijing", "shanghai", "guangzhou"]


def test_derived_case_forms_are_matched_but_not_searched_for() -> None:
    """German/Dutch/Polish/Czech case forms are derived by grammar for the linker; news-search
    queries (GDELT, feeds) and the demo corpus keep the configured names, and no form is
    derived from one that is already inflected."""
    from ingest.gdelt_doc import GdeltDocConfig, build_queries

    wuhan = cities_by_id(load_cities(CONFIG_DIR))["wuhan"]
    assert "Wuhaner" in wuhan.derived_names["de"] and "Wuhaner" not in wuhan.names["de"]
    assert "Wuhaner" in wuhan.all_names()
    derived = {form for forms in wuhan.derived_names.values() for form in forms}
    assert "Wu-chanemem" not in derived and "Wuhanuu" not in derived
    queries = build_queries(wuhan, GdeltDocConfig())
    assert len(queries) == 1 and '"Wuhaner"' not in queries[0]
    [mention] = CityLinker.from_config(CONFIG_DIR).link("Die Wuhaner Behörden melden", "de")
    assert mention.city == "wuhan"
