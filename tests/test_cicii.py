"""The CICII index against the study's published table (domain.md) and its CSV inputs."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from nlp.gazetteer import load_cities
from reports.cicii import (
    CiciiConfig,
    CiciiInputError,
    CityNames,
    compute_index,
    from_dimensions,
    read_benchmarks,
    read_dimensions,
    read_indicators,
    score,
)
from tests.conftest import CONFIG_DIR, REPO_ROOT

# domain.md, "Published results (July 2019 – June 2020)": rank, city, media, social,
# innovation, cognition, total.
PUBLISHED = """\
1 Wuhan 90.76 93.63 86.32 85.68 89.57
2 Beijing 89.00 90.70 86.22 89.90 89.05
3 Shanghai 88.26 78.35 87.25 92.18 86.37
4 Shenzhen 80.20 61.65 77.99 79.68 75.02
5 Guangzhou 75.33 64.13 75.10 79.99 73.41
6 Hangzhou 71.88 59.04 67.49 72.68 67.95
7 Chengdu 69.86 55.03 73.28 75.42 67.95
8 Nanjing 71.74 55.28 69.51 70.40 66.91
9 Chongqing 69.08 58.86 65.87 67.94 65.66
10 Tianjin 71.89 51.90 63.23 69.71 64.72
11 Xi'an 66.92 46.02 70.86 77.62 64.62
12 Suzhou 67.35 45.20 59.10 68.97 60.49
13 Changsha 63.73 59.45 52.55 62.52 60.18
14 Shenyang 63.70 40.16 55.40 62.34 55.89
15 Zhengzhou 62.62 39.48 50.68 62.01 54.32
"""
# domain.md, raw counts under the English hashtag: city, Instagram, TikTok.
HASHTAGS = {
    "Beijing": (6_951_000, 126_400_000), "Tianjin": (369_000, 482_500),
    "Shanghai": (10_360_000, 134_500_000), "Guangzhou": (2_413_000, 12_400_000),
    "Chongqing": (538_000, 3_000_000), "Chengdu": (957_000, 74_700_000),
    "Wuhan": (754_000, 254_000_000), "Zhengzhou": (95_000, 65_000),
    "Xi'an": (541_000, 4_900_000), "Nanjing": (542_000, 14_500_000),
    "Hangzhou": (860_000, 13_400_000), "Shenzhen": (1_600_000, 30_300_000),
    "Suzhou": (450_000, 1_000_000), "Shenyang": (165_000, 970_000),
    "Changsha": (193_000, 200_500),
}


def published_rows() -> list[tuple[int, str, list[float], float]]:
    rows = []
    for line in PUBLISHED.splitlines():
        rank, name, *numbers = line.split()
        values = [float(n) for n in numbers]
        rows.append((int(rank), name, values[:4], values[4]))
    return rows


def expected_tier(total: float) -> int:
    """The study's tiers: >= 85, 71-85, 65-70, 60-64, < 60."""
    return 1 if total >= 85 else 2 if total >= 71 else 3 if total >= 65 else \
        4 if total >= 60 else 5


@pytest.fixture(scope="module")
def config() -> CiciiConfig:
    return CiciiConfig.load(CONFIG_DIR)


@pytest.fixture(scope="module")
def names() -> CityNames:
    return CityNames(load_cities(CONFIG_DIR))


def gdp() -> dict[str, float]:
    return {c.id: c.gdp_2019 for c in load_cities(CONFIG_DIR)}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def dimensions_csv(tmp_path: Path) -> Path:
    lines = ["city,media,social,innovation,cognition"]
    lines += [f"{name},{','.join(str(v) for v in dims)}" for _, name, dims, _ in published_rows()]
    return write(tmp_path / "dimensions.csv", "\n".join(lines) + "\n")


def test_config_holds_the_study_weights(config: CiciiConfig) -> None:
    assert [(d.id, d.weight) for d in config.dimensions] == [
        ("media", 0.35), ("social", 0.25), ("innovation", 0.2), ("cognition", 0.2)]
    weights = {i.id: i.weight for i in config.indicators.values()}
    assert weights == {
        "english_reports": 0.20, "other_language_reports": 0.15, "twitter_daily_posts": 0.25,
        "instagram_hashtag_posts": 0.05, "youtube_videos_10k": 0.05,
        "google_trends_video": 0.05, "tiktok_hashtag_posts": 0.05,
        "tripadvisor_reviews": 0.10, "google_trends_search": 0.10}


def test_published_dimension_scores_give_the_published_totals_ranks_and_tiers(
    tmp_path: Path, config: CiciiConfig, names: CityNames
) -> None:
    scores = read_dimensions(dimensions_csv(tmp_path), config, names)
    result = from_dimensions(scores, config, gdp())
    by_city = {c.city: c for c in result.cities}
    for rank, name, _, total in published_rows():
        city = by_city[names.resolve(name)]
        assert city.total == pytest.approx(total, abs=0.01), name
        assert city.rank == rank, name
        assert city.tier == expected_tier(total), name
    # domain.md says "mean total 69.49", but its own table's totals average 69.474: the
    # index reproduces the table (the text's mean is off by 0.016 in the study itself)
    published_mean = sum(total for *_, total in published_rows()) / 15
    assert result.mean_total == pytest.approx(published_mean, abs=0.01)
    assert result.mean_total == pytest.approx(69.49, abs=0.02)
    assert result.gdp_correlation["r"] == pytest.approx(0.754, abs=0.001)
    assert result.gdp_correlation["p"] < 0.01


def test_hashtag_counts_score_on_the_log_scale_monotone_in_the_counts(
    config: CiciiConfig, names: CityNames
) -> None:
    benchmark_instagram, benchmark_tiktok = 20_000_000, 500_000_000
    values = {names.resolve(n): {"instagram_hashtag_posts": float(ig),
                                  "tiktok_hashtag_posts": float(tt)}
              for n, (ig, tt) in HASHTAGS.items()}
    result = compute_index(values, config, gdp(), list(values),
                           benchmarks={"instagram_hashtag_posts": benchmark_instagram,
                                       "tiktok_hashtag_posts": benchmark_tiktok})
    for indicator, bench, column in (("instagram_hashtag_posts", benchmark_instagram, 0),
                                     ("tiktok_hashtag_posts", benchmark_tiktok, 1)):
        pairs = sorted((HASHTAGS[n][column],
                        next(c for c in result.cities if c.city == names.resolve(n))
                        .indicators[indicator]["score"]) for n in HASHTAGS)
        for (count, got) in pairs:
            assert got == pytest.approx(100 * math.log(count) / math.log(bench), abs=1e-3)
        scores = [s for _, s in pairs]
        assert scores == sorted(scores) and len(set(scores)) == len(scores)
    # no social or cognition values: every city is listed as missing them, none is scored
    assert all(c.total is None and c.rank is None for c in result.cities)
    assert {"city": "wuhan", "indicator": "twitter_daily_posts"} in result.missing


def test_score_clips_to_the_scale() -> None:
    assert score(1, 1000) == 0.0 and score(0, 1000) == 0.0
    assert score(10_000, 1000) == 100.0
    assert score(1000, 1000) == pytest.approx(100.0)
    with pytest.raises(ValueError):
        score(10, 1)


@pytest.mark.parametrize(("text", "message"), [
    ("city,indicator,value\nwuhan,tiktok_hashtag_posts,100\nbeijing,tiktok_posts,5\n",
     ":3: unknown indicator 'tiktok_posts'"),
    ("city,indicator,value\nwuhan,tiktok_hashtag_posts,many\n", ":2: value is not a number"),
    ("city,indicator,value\nwuhan,tiktok_hashtag_posts\n", ":2: expected 3 fields"),
    ("city,indicator,value\n\nGotham,tiktok_hashtag_posts,5\n", ":3: unknown city 'Gotham'"),
    ("city,indicator,value\nwuhan,tiktok_hashtag_posts,-5\n", ":2: value must be"),
    ("town,indicator,value\n", ":1: header must be city,indicator,value"),
])
def test_bad_indicator_rows_are_refused_with_the_line(
    tmp_path: Path, config: CiciiConfig, names: CityNames, text: str, message: str
) -> None:
    path = write(tmp_path / "indicators.csv", text)
    with pytest.raises(CiciiInputError) as caught:
        read_indicators(path, config, names)
    assert str(caught.value).startswith(str(path)) and message in str(caught.value)


def test_indicator_names_accept_city_names_and_benchmarks_are_checked(
    tmp_path: Path, config: CiciiConfig, names: CityNames
) -> None:
    path = write(tmp_path / "i.csv", "city,indicator,value\nXi’an,tiktok_hashtag_posts,4900000\n"
                 "武汉,instagram_hashtag_posts,\"754,000\"\n")
    assert read_indicators(path, config, names) == {
        "xian": {"tiktok_hashtag_posts": 4_900_000.0},
        "wuhan": {"instagram_hashtag_posts": 754_000.0}}
    bad = write(tmp_path / "b.csv", "indicator,benchmark\ntiktok_hashtag_posts,1\n")
    with pytest.raises(CiciiInputError, match=r":2: benchmark must be > 1"):
        read_benchmarks(bad, config)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cityradar.cli", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120, check=False)


def test_cli_dimensions_json_and_table(tmp_path: Path) -> None:
    csv_path = dimensions_csv(tmp_path)
    db = tmp_path / "store.db"
    run = cli("--db", str(db), "index", "cicii", "--from", "2019-07-01", "--to", "2020-06-30",
              "--dimensions", str(csv_path), "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert [c["city"] for c in data["cities"][:3]] == ["wuhan", "beijing", "shanghai"]
    assert data["cities"][0]["rank"] == 1 and data["cities"][0]["tier"] == 1
    assert data["gdp_correlation"]["r"] == pytest.approx(0.754, abs=0.001)
    table = cli("--db", str(db), "index", "cicii", "--from", "2019-07-01", "--to", "2020-06-30",
                "--dimensions", str(csv_path))
    assert table.returncode == 0, table.stderr
    assert "Wuhan" in table.stdout and "89.57" in table.stdout and "0.754" in table.stdout


def test_cli_indicators_are_stored_for_the_period_and_media_measured(tmp_path: Path) -> None:
    from search.sqlite_store import SQLiteStore
    from tests.contract.factories import make_article

    db = tmp_path / "store.db"
    with SQLiteStore(db) as store:
        store.upsert_articles([
            make_article(cities=["wuhan"], language=lang, published_at="2020-02-10")
            for lang in ("en", "en", "en", "fr", "de")])
    path = write(tmp_path / "ind.csv", "city,indicator,value\n" + "".join(
        f"wuhan,{ind},{value}\n" for ind, value in (
            ("twitter_daily_posts", 5000), ("instagram_hashtag_posts", 754000),
            ("youtube_videos_10k", 300), ("google_trends_video", 40),
            ("tiktok_hashtag_posts", 254000000), ("tripadvisor_reviews", 200000),
            ("google_trends_search", 60))))
    run = cli("--db", str(db), "index", "cicii", "--from", "2020-01-01", "--to", "2020-06-30",
              "--indicators", str(path), "--json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    wuhan = next(c for c in data["cities"] if c["city"] == "wuhan")
    assert wuhan["indicators"]["english_reports"]["value"] == 3
    assert wuhan["indicators"]["other_language_reports"]["value"] == 2
    assert wuhan["rank"] == 1 and wuhan["total"] is not None
    # the other cities have no imported values: listed as missing, not scored
    assert {"city": "beijing", "indicator": "twitter_daily_posts"} in data["missing"]
    assert all(c["total"] is None for c in data["cities"] if c["city"] != "wuhan")
    with SQLiteStore(db) as store:
        from reports.cicii import period_covering
        from reports.monthly import build_report, render_html, render_markdown

        assert period_covering(store, date(2020, 3, 1)) == (date(2020, 1, 1), date(2020, 6, 30))
        # the monthly report of a month inside the period shows the index
        report = build_report(store, CONFIG_DIR, date(2020, 2, 1), charts=False)
        assert report.index is not None and report.index.cities[0].city == "wuhan"
        assert "Influence Index (CICII), 2020-01-01 to 2020-06-30" in render_html(report)
        assert "## CICII influence index, 2020-01-01 to 2020-06-30" in render_markdown(report)
        outside = build_report(store, CONFIG_DIR, date(2020, 7, 1), charts=False)
        assert outside.index is None
    bad = write(tmp_path / "bad.csv", "city,indicator,value\nwuhan,facebook_likes,3\n")
    refused = cli("--db", str(db), "index", "cicii", "--from", "2020-01-01", "--to",
                  "2020-06-30", "--indicators", str(bad))
    assert refused.returncode != 0
    assert "bad.csv:2: unknown indicator 'facebook_likes'" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_an_imported_media_value_overrides_the_measured_one(tmp_path: Path) -> None:
    from reports.cicii import index_for_period
    from search.sqlite_store import SQLiteStore
    from tests.contract.factories import make_article

    with SQLiteStore(tmp_path / "store.db") as store:
        store.upsert_articles([make_article(cities=["wuhan"], language="en",
                                            published_at="2020-02-10")])
        result = index_for_period(store, CONFIG_DIR, date(2020, 1, 1), date(2020, 6, 30),
                                  city_ids=["wuhan"],
                                  imported={"wuhan": {"english_reports": 500_742.0}})
    measured = result.cities[0].indicators
    assert measured["english_reports"]["value"] == 500_742.0
    assert measured["english_reports"]["source"] == "csv"
    assert measured["other_language_reports"] == {
        "value": 0.0, "score": 0.0, "benchmark": 1_000_000.0, "source": "store (reach)"}
