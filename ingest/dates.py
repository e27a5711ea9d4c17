"""The one date parser for outside text: feed dates, export cells, API fields.

``parse_date(text)`` returns an aware UTC datetime, or None when the text is empty, unreadable
or ambiguous; it never guesses and never raises. A caller that must report a bad value (the
file importer names the row) wraps it and raises its own error.

Fast paths first, since most dates are regular: Unix epoch seconds/milliseconds, ISO 8601
(``datetime.fromisoformat``) and RFC 822 with a numeric or RFC-named zone (``email.utils``).
Everything else — weekday and month names in other languages ("Seg, 24 Set 2018"), 12-hour
clocks, zone abbreviations such as BST/CEST/JST, "21 January 2020", "1-Apr-20" — goes to
``dateparser`` (absolute dates only: "9 months ago" is not a publication date).
Values without a zone are taken as UTC. Plausibility (not before 1970, not in the future) is
judged later, in ``ingest.normalize``, for every source alike.
"""

from __future__ import annotations

import email.utils
import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)

# Zone names email.utils reads correctly; any other alphabetic zone it silently takes as UTC.
RFC822_ZONES = frozenset({"UT", "UTC", "GMT", "Z", "EST", "EDT", "CST", "CDT", "MST", "MDT",
                          "PST", "PDT"})
_EPOCH = re.compile(r"^\d{10}(\d{3})?$")
_AMPM = re.compile(r"\d\s*[AaPp]\.?[Mm]\b\.?")
_ZONE_AFTER_TIME = re.compile(r"\d\s+\(?([A-Za-z]{2,5})\)?\s*$")
# 08/02/2013 could be 8 February or 2 August: unless told the order, that is not read.
_SLASHED = re.compile(r"\b(\d{1,2})[/-](\d{1,2})[/-](\d{2,4})\b")
_DOTTED = re.compile(r"\b\d{1,2}\.\d{1,2}\.\d{4}\b")
# Languages dateparser tries for month and weekday names (a feed's own language first): the
# news languages CityRadar reads (config/nlp.yaml); all ~200 would cost seconds per new word.
DATE_LANGUAGES = ("en", "fr", "de", "es", "it", "pt", "ru", "ar", "ja", "ko", "zh", "vi", "th",
                  "hi", "fa", "tr", "pl", "nl", "uk", "he", "id", "el", "cs", "sv", "da", "fi",
                  "nb", "hu", "ro", "bg", "sr", "hr", "sk", "sl", "lt", "lv", "et", "ms", "bn",
                  "ur", "ta", "sw", "ca")
MAX_LEARNED = 10_000
_WORDS = re.compile(r"[^\W\d_]+")
_LOCALE_OF: dict[tuple[tuple[str, ...], tuple[str, ...]], str] = {}
_DATEPARSER_SETTINGS = {
    "TIMEZONE": "UTC",
    "RETURN_AS_TIMEZONE_AWARE": True,
    "PARSERS": ["absolute-time"],
}


def rfc822_safe(text: str) -> bool:
    """True when a reader of RFC 822 / ISO dates (email.utils, feedparser) gets ``text``
    right: no 12-hour clock, and a trailing zone, if any, that is numeric or RFC-named."""
    if _AMPM.search(text):
        return False
    zone = _ZONE_AFTER_TIME.search(text)
    return zone is None or zone.group(1).upper() in RFC822_ZONES


def parse_date(text: str | None, *, date_format: str | None = None,
               day_first: bool | None = None,
               languages: Sequence[str] | None = None) -> datetime | None:
    """``text`` as an aware UTC datetime; None when empty, unreadable or ambiguous.

    ``date_format``: a strptime format, then the only one accepted. ``day_first``: how to read
    all-numeric dates such as 08/02/2013 (None: not at all, unless one part is over 12).
    ``languages``: ISO codes to try first for month and weekday names (all others after).
    """
    value = " ".join((text or "").split())
    if not value:
        return None
    if date_format:
        try:
            return _utc(datetime.strptime(value, date_format))
        except ValueError:
            return None
    if _EPOCH.match(value):
        try:
            return datetime.fromtimestamp(int(value) / (1000 if len(value) == 13 else 1), UTC)
        except (ValueError, OverflowError, OSError):
            return None
    try:
        return _utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        pass
    if rfc822_safe(value):
        try:
            return _utc(email.utils.parsedate_to_datetime(value))
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    order = _numeric_order(value, day_first)
    if order == "ambiguous":
        return None
    hints = tuple(dict.fromkeys(re.split(r"[-_]", code.strip())[0].lower()
                                for code in languages or () if code and code.strip()))
    return _parse_free(value, order, hints)


def _numeric_order(text: str, day_first: bool | None) -> str | None:
    """DMY/MDY for an all-numeric date, "ambiguous" when it cannot be told, else None."""
    slashed = _SLASHED.search(text)
    if slashed:
        first, second = int(slashed.group(1)), int(slashed.group(2))
        if first > 12:
            return "DMY"
        if second > 12:
            return "MDY"
        if day_first is not None:
            return "DMY" if day_first else "MDY"
        return None if first == second else "ambiguous"
    if _DOTTED.search(text):
        return "DMY"  # 22.11.2022: the dotted form is day-first wherever it is written
    return None


@lru_cache(maxsize=4096)
def _parse_free(text: str, order: str | None, languages: tuple[str, ...]) -> datetime | None:
    """dateparser, with the locale learned per word pattern: the first "Seg, 24 Set 2018 ..."
    finds Portuguese among the candidate languages (tens of ms); the rest of that feed's dates
    ("Seg", "Set" again) go straight to a Portuguese-only parser (a few ms)."""
    words = (tuple(w.lower() for w in _WORDS.findall(text)), languages)
    known = _LOCALE_OF.get(words)
    if known is not None:
        data = _parser((), (known,), order).get_date_data(text)
        if data.date_obj is not None:
            return _utc(data.date_obj)
    data = None
    if languages:
        try:
            data = _parser(languages, (), order).get_date_data(text)
        except ValueError:  # a hinted language dateparser does not know
            data = None
    if data is None or data.date_obj is None:
        data = _parser(DATE_LANGUAGES, (), order).get_date_data(text)
    if data.date_obj is None:
        log.debug("unreadable date %r", text[:80])
        return None
    if data.locale and len(_LOCALE_OF) < MAX_LEARNED:
        _LOCALE_OF[words] = data.locale
    return _utc(data.date_obj)


@lru_cache(maxsize=64)
def _parser(languages: tuple[str, ...], locales: tuple[str, ...], order: str | None) -> Any:
    from dateparser.date import DateDataParser  # loaded on the first odd date only

    settings = dict(_DATEPARSER_SETTINGS)
    if order:
        settings["DATE_ORDER"] = order
    return DateDataParser(languages=list(languages) or None, locales=list(locales) or None,
                          settings=settings)


def _utc(moment: datetime) -> datetime | None:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):  # e.g. year 1 with a positive offset
        return None


__all__ = ["RFC822_ZONES", "parse_date", "rfc822_safe"]
