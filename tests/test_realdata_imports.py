"""Every CSV/TSV export under ../shared/realdata imports (issue 14, item 12), with its counts.

The NYT 2020 export (quotes inside quoted fields) stored 0 of 1,830 rows before: the dialect
sniffer guessed ``doublequote=False`` and re-serializing a row for the error report raised.
Counts are what the files hold: rows read, rows imported, distinct articles stored, bad rows
(with the reason, from the file itself: "3 months ago" is not a date).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from ingest.file_import import import_file, parse_mapping
from search import open_store
from tests.conftest import CONFIG_DIR

# path: (rows, imported, new, bad, first bad reason or None); labels.csv (a language table)
# has no title column, so it is imported with --map title=English.
EXPECTED = {
    "langid/wili2018_subset/labels.csv": (235, 235, 235, 0, None),
    "news/coaid_2020/05-01-2020/NewsFakeCOVID-19.csv": (572, 571, 546, 1, "unreadable date"),
    "news/coaid_2020/05-01-2020/NewsRealCOVID-19.csv": (1590, 1590, 1580, 0, None),
    "news/coaid_2020/07-01-2020/NewsFakeCOVID-19.csv": (266, 265, 254, 1, "url is not http(s)"),
    "news/coaid_2020/07-01-2020/NewsRealCOVID-19.csv": (1127, 1127, 1109, 0, None),
    "news/coaid_2020/09-01-2020/NewsFakeCOVID-19.csv": (56, 54, 54, 2, "unreadable date"),
    "news/coaid_2020/09-01-2020/NewsRealCOVID-19.csv": (893, 893, 893, 0, None),
    "news/coaid_2020/11-01-2020/NewsFakeCOVID-19.csv": (31, 31, 31, 0, None),
    "news/coaid_2020/11-01-2020/NewsRealCOVID-19.csv": (922, 922, 922, 0, None),
    "news/nyt2020/nyt2020.csv": (1830, 1830, 1830, 0, None),
}


def test_every_realdata_csv_and_tsv_is_listed(realdata: Path) -> None:
    found = {str(p.relative_to(realdata)) for p in realdata.rglob("*")
             if p.suffix.lower() in (".csv", ".tsv")}
    assert found == set(EXPECTED)


@pytest.mark.realdata
@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_realdata_export_imports_with_its_counts(realdata: Path, tmp_path: Path,
                                                 relative: str) -> None:
    rows, imported, new, bad, reason = EXPECTED[relative]
    store = open_store(str(tmp_path / "radar.db"))
    mapping = parse_mapping("title=English") if relative.endswith("labels.csv") else {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. dateutil's UnknownTimezoneWarning for "PDT"
            report = import_file(realdata / relative, store, mapping=mapping,
                                 config_dir=CONFIG_DIR)
        stored = store.count()
    finally:
        store.close()
    assert (report.rows, report.accepted, report.new, len(report.errors)) == (
        rows, imported, new, bad)
    assert stored == new
    if reason:
        assert reason in report.errors[0].reason


@pytest.mark.realdata
def test_coaid_pdt_dates_are_read_in_their_zone(realdata: Path) -> None:
    from ingest.file_import import cell_date

    assert cell_date("Apr 8, 2020 at 4:43pm PDT").isoformat() == "2020-04-08T23:43:00+00:00"
