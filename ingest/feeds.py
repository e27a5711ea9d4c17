"""Feed bytes -> RawItems: feedparser on bytes, with encoding repair and careful dates
(``ingest.dates``)."""

from __future__ import annotations

import calendar
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import charset_normalizer
import feedparser
import ftfy
from charset_normalizer.md import mess_ratio

from cityradar.records import RawItem
from ingest.dates import parse_date, rfc822_safe
from ingest.sources import Source

log = logging.getLogger(__name__)

# feedparser's bozo exceptions that mean "parsed, but the declared/guessed encoding is doubtful".
ENCODING_DOUBTS = (
    feedparser.CharacterEncodingOverride,
    feedparser.CharacterEncodingUnknown,
    feedparser.NonXMLContentType,
)
MESS_MARGIN = 0.1
XML_DECLARATION = re.compile(rb"^(\s*<\?xml[^>]*?)\s+encoding\s*=\s*[\"'][^\"']*[\"']", re.I)


@dataclass(slots=True)
class ParsedFeed:
    title: str = ""
    language: str | None = None
    encoding: str | None = None
    items: list[RawItem] = field(default_factory=list)
    error: str | None = None  # the feed yielded nothing usable: a source error
    warning: str | None = None  # ill-formed but partly usable
    skipped: int = 0  # entries with neither title nor text


def parse_feed(content: bytes, source: Source, content_type: str | None = None) -> ParsedFeed:
    """Parse feed bytes into RawItems tagged with the source's outlet/domain/country/language."""
    headers = {"content-type": content_type} if content_type else {}
    parsed = feedparser.parse(content, response_headers=headers)
    redecoded = _redecode_if_doubtful(content, parsed)
    if redecoded is not None:
        parsed = redecoded
    result = ParsedFeed(
        title=_text(parsed.feed.get("title", "")),
        language=_language(parsed.feed.get("language")),
        encoding=parsed.get("encoding"),
    )
    bozo = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not parsed.entries:
        if not parsed.get("version"):
            reason = _one_line(bozo) if bozo else "no RSS/Atom/RDF channel found"
            result.error = f"not a readable feed: {reason}"
        elif bozo is not None and not isinstance(bozo, ENCODING_DOUBTS):
            result.error = f"ill-formed feed, no entries: {_one_line(bozo)}"
        return result
    if bozo is not None and not isinstance(bozo, ENCODING_DOUBTS):
        recovered = len(parsed.entries)
        result.warning = f"ill-formed feed, {recovered} entries recovered: {_one_line(bozo)}"
    language_hint = source.language or result.language
    for entry in parsed.entries:
        item = _item(entry, source, language_hint)
        if item is None:
            result.skipped += 1
        else:
            result.items.append(item)
    return result


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip()


def _redecode_if_doubtful(content: bytes, parsed: Any) -> Any | None:
    """When feedparser had to guess the encoding, let charset-normalizer decide, and re-parse
    the bytes transcoded to UTF-8 if it finds a different, plausible encoding."""
    if not isinstance(parsed.get("bozo_exception"), ENCODING_DOUBTS):
        return None
    if content.isascii():
        return None
    best = charset_normalizer.from_bytes(content).best()
    if best is None or best.encoding in ("utf_8", "ascii"):
        return None
    guessed = parsed.get("encoding") or "windows-1252"
    try:
        as_guessed = content.decode(guessed, errors="replace")
    except LookupError:
        as_guessed = content.decode("windows-1252", errors="replace")
    # Latin texts read as windows-1252 are usually right even when the detector prefers, say,
    # cp1250; only a clearly messier reading (CJK, Hebrew read as Latin) is replaced.
    if mess_ratio(as_guessed, 1.0) - best.chaos < MESS_MARGIN:
        return None
    text = str(best).encode("utf-8")
    text = XML_DECLARATION.sub(rb'\1 encoding="utf-8"', text, count=1)
    log.info("re-decoded feed as %s (feedparser guessed %s)", best.encoding, guessed)
    reparsed = feedparser.parse(text, response_headers={"content-type": "text/xml; charset=utf-8"})
    reparsed["encoding"] = best.encoding
    return reparsed


def _language(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().split(",")[0].strip().lower() or None


class _TextExtractor(HTMLParser):
    BLOCK = frozenset({"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})
    SKIP = frozenset({"script", "style"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skipping += 1
        elif tag in self.BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self._skipping:
            self._skipping -= 1
        elif tag in self.BLOCK:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(value: str) -> str:
    """Markup stripped, entities decoded, mojibake repaired, whitespace collapsed."""
    if not value:
        return ""
    if "<" in value or "&" in value:
        extractor = _TextExtractor()
        extractor.feed(value)
        extractor.close()
        value = "".join(extractor.parts)
    return _text(value)


def _text(value: str) -> str:
    value = ftfy.fix_encoding(value) if value and not value.isascii() else value
    return " ".join(value.split())


def _item(entry: Any, source: Source, language_hint: str | None) -> RawItem | None:
    link = entry.get("link") or ""
    guid = entry.get("id") or ""
    if not link and guid.startswith(("http://", "https://")):
        link = guid
    title = html_to_text(entry.get("title", ""))
    summary = entry.get("summary") or ""
    if not summary and entry.get("content"):
        summary = entry["content"][0].get("value", "")
    summary = html_to_text(summary)
    if not (title or summary):
        return None
    language = _language(entry.get("language")) or language_hint
    # An entry without a link is kept (url ""): normalize gives it a source-scoped identity.
    return RawItem(
        url=link.strip(),
        title=title,
        summary=summary,
        published_at=entry_date(entry, language),
        outlet=source.outlet,
        domain=source.domain,
        country=source.country,
        source_id=source.id,
        language_hint=language,
        extras={"guid": guid} if guid and guid != link else {},
    )


# --- dates ------------------------------------------------------------------------------------

def entry_date(entry: Any, language_hint: str | None = None) -> datetime | None:
    """The entry's publication (else update) time in UTC, or None when absent or unreadable.

    feedparser's own reading is used when it is right (RFC 822 / ISO with a zone it knows);
    anything else (other languages' names, 12-hour clocks, zone names such as BST, which
    feedparser would read as UTC) goes to the one ``ingest.dates.parse_date``."""
    for key in ("published", "updated", "created"):
        # dict.get: feedparser's own .get maps a missing "updated" to "published" with a warning
        raw = dict.get(entry, key)
        if not raw:
            continue
        parsed_struct = dict.get(entry, f"{key}_parsed")
        if parsed_struct and rfc822_safe(raw):
            try:
                return datetime.fromtimestamp(calendar.timegm(parsed_struct), UTC)
            except (ValueError, OverflowError, OSError):  # e.g. year 0: unreadable, not fatal
                log.debug("unreadable date %r", raw)
                continue
        value = parse_date(raw, languages=[language_hint] if language_hint else None)
        if value is not None:
            return value
        log.debug("unreadable date %r", raw)
    return None


__all__ = ["ParsedFeed", "entry_date", "html_to_text", "parse_feed"]
