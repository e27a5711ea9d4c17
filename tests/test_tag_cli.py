"""`cityradar tag` on JSON lines: tags good lines, reports bad ones by number, exit 1."""

from __future__ import annotations

import json

from click.testing import CliRunner

from cityradar.cli import cli
from cityradar.records import Article
from tests.conftest import CONFIG_DIR


def test_tag_reports_bad_lines_and_tags_the_rest() -> None:
    full = Article(id="keep-me", url="https://news.test/full", title="武汉封城",
                   summary="疫情严重", language_hint="zh").to_dict()
    lines = [
        json.dumps({"title": "Chengdu celebrates its pandas", "summary": "A delicious festival.",
                    "url": "https://news.test/a"}),
        "{not json",
        json.dumps({"title": "no url here"}),
        "",
        json.dumps(full, ensure_ascii=False),
    ]
    result = CliRunner().invoke(cli, ["--config", str(CONFIG_DIR), "tag"],
                                input="\n".join(lines) + "\n")
    assert result.exit_code == 1
    assert "line 2: invalid JSON" in result.stderr
    assert "line 3: missing 'url'" in result.stderr
    out = [Article.from_dict(json.loads(line)) for line in result.stdout.splitlines()]
    assert [a.url for a in out] == ["https://news.test/a", "https://news.test/full"]
    first, second = out
    assert len(first.id) == 40  # filled from a hash of the url
    assert first.tags.cities.keys() == {"chengdu"} and first.tags.sentiment_label == "positive"
    assert second.id == "keep-me"
    assert second.tags.language == "zh" and second.tags.city_sentiment["wuhan"] < 0


def test_tag_all_good_exits_zero() -> None:
    line = json.dumps({"title": "Shanghai hosts a tech expo", "url": "https://news.test/b"})
    result = CliRunner().invoke(cli, ["--config", str(CONFIG_DIR), "tag"], input=line + "\n")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["tags"]["cities"].keys() == {"shanghai"}
