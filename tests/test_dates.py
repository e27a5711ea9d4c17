"""The one date parser (ingest.dates.parse_date): one contract (UTC or None, never a guess)
for feeds and exports alike; fast paths first, dateparser for the rest."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.dates import parse_date, rfc822_safe
from ingest.file_import import cell_date


def test_all_numeric_dates_are_read_only_in_a_known_order() -> None:
    assert parse_date("08/02/2013 12:00") is None
    assert parse_date("08/02/2013 12:00", day_first=True) == datetime(2013, 2, 8, 12, tzinfo=UTC)
    assert parse_date("08/02/2013 12:00", day_first=False) == datetime(2013, 8, 2, 12,
                                                                        tzinfo=UTC)
    assert parse_date("13/02/2013") == datetime(2013, 2, 13, tzinfo=UTC)  # 13 is no month
    assert cell_date("2/11/20") == datetime(2020, 2, 11, tzinfo=UTC)  # exports: month first


@pytest.mark.parametrize(("raw", "expected"), [
    ("Fri, 17 May 2019 06:00:00 BST", datetime(2019, 5, 17, 5, 0, tzinfo=UTC)),
    ("Thu, 14 Nov 2019 14:05:00 JST", datetime(2019, 11, 14, 5, 5, tzinfo=UTC)),
    ("Di, 05 Mär 2019 10:00:00 +0100", datetime(2019, 3, 5, 9, 0, tzinfo=UTC)),
    ("jeu., 05 déc. 2019 10:00:00 +0100", datetime(2019, 12, 5, 9, 0, tzinfo=UTC)),
    ("1-Apr-20", datetime(2020, 4, 1, tzinfo=UTC)),
    ("2020-01-21T10:00:00Z", datetime(2020, 1, 21, 10, 0, tzinfo=UTC)),
    ("1579600800000", datetime(2020, 1, 21, 10, 0, tzinfo=UTC)),
])
def test_feeds_and_exports_read_the_same_dates(raw: str, expected: datetime) -> None:
    assert parse_date(raw) == expected
    assert cell_date(raw) == expected  # one parser behind both


def test_relative_and_unreadable_text_is_none_and_a_format_is_the_only_one_accepted() -> None:
    assert parse_date("3 months ago") is None and parse_date("yesterday") is None
    assert parse_date("   ") is None and parse_date(None) is None
    assert parse_date("21/01/2020", date_format="%d/%m/%Y") == datetime(2020, 1, 21, tzinfo=UTC)
    assert parse_date("2020-01-21", date_format="%d/%m/%Y") is None


def test_a_language_hint_is_tried_first_and_a_wrong_one_does_no_harm() -> None:
    expected = datetime(2018, 9, 24, 22, 42, 40, tzinfo=UTC)
    assert parse_date("Seg, 24 Set 2018 19:42:40 -0300", languages=["pt-BR"]) == expected
    assert parse_date("Seg, 24 Set 2018 19:42:40 -0300", languages=["ja", "xx"]) == expected


def test_feedparser_is_trusted_only_where_rfc822_reads_right() -> None:
    assert rfc822_safe("Mon, 01 Jun 2020 10:00:00 GMT")
    assert rfc822_safe("2020-06-01T10:00:00+02:00")
    assert not rfc822_safe("Fri, 17 May 2019 06:00:00 BST")  # feedparser would say UTC
    assert not rfc822_safe("Sat, Dec 16 2023 02:02:33 PM")
