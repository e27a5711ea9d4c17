"""The UI's CSV download helper: spreadsheet-safe cells, UTF-8 a spreadsheet reads."""

from __future__ import annotations

import csv
import io

import pandas as pd

from tests.contract.factories import make_article
from ui.downloads import articles_frame, csv_bytes


def test_csv_bytes_are_utf8_with_bom_and_never_formulas() -> None:
    frame = pd.DataFrame({"title": ["=1+2", "武汉封城", "-cmd", "plain"],
                          "tone": [-0.5, 0.1, 0.0, 0.2]})
    data = csv_bytes(frame)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r["title"] for r in rows] == ["'=1+2", "武汉封城", "'-cmd", "plain"]
    assert [r["tone"] for r in rows] == ["-0.5", "0.1", "0.0", "0.2"]  # numbers untouched


def test_articles_frame_has_the_export_columns() -> None:
    article = make_article(title="Вспышка в Ухане", language="ru")
    article.extras = {"translation": {"model": "m", "title": "Outbreak in Wuhan"}}
    frame = articles_frame([article])
    assert frame.loc[0, "title_translated"] == "Outbreak in Wuhan"
    assert frame.loc[0, "cities"] == "wuhan" and frame.loc[0, "language"] == "ru"
