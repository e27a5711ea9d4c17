"""Importing article files: JSON lines and CSV exports of news databases.

``import_file(path, store, ...)`` reads a file of articles (Factiva / LexisNexis / Meltwater
CSV exports with a column mapping, or JSON lines that are Article-shaped or minimal), and
sends the good rows through the same path as ingest: normalize (canonical URL, id) -> exact
dedupe -> outlet registry -> syndication clustering -> tagging -> batched upserts. A bad row
never stops the others: it becomes a ``RowError`` with its line number (and, on request, is
written unchanged to an errors file so it can be fixed and imported again).

Encoding: a BOM wins (UTF-8, UTF-16, UTF-32); otherwise strict UTF-8; otherwise the encoding
``charset-normalizer`` detects (Windows-1252, GB18030, Shift-JIS… exports are common).
"""

from __future__ import annotations

import codecs
import csv
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes

from cityradar.records import Article, RawItem, Tags
from ingest.dates import parse_date
from ingest.jsonlines import parse_json_line
from ingest.normalize import REJECTED_DATE, drop_repeated_urls, normalize_item
from ingest.syndication import IngestPreparer
from search.store import Store

log = logging.getLogger(__name__)

FORMATS = ("jsonl", "csv", "gdelt-events", "gdelt-gkg")
FIELDS = ("url", "title", "summary", "body", "published_at", "outlet", "domain", "country",
          "language", "voice", "source_id")
# Column names seen in exports, case-insensitive, for each field (used when not --map'ped).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "url": ("url", "link", "uri", "article url", "permalink", "web link", "weblink", "source url",
            "web_url", "news_url"),
    "title": ("title", "headline", "hd", "heading", "article title"),
    "summary": ("summary", "snippet", "abstract", "description", "lead", "lp",
                "lead paragraph", "excerpt", "hit sentence"),
    "body": ("body", "text", "content", "full text", "td", "article text"),
    "published_at": ("published_at", "published", "date", "publication date", "pd", "pubdate",
                     "published date", "datetime", "load-date", "load date", "time",
                     "pub_date", "publish_date"),
    "outlet": ("outlet", "source", "source name", "publication", "sn", "publisher",
               "media outlet", "media", "newspaper"),
    "domain": ("domain", "site", "source domain", "website"),
    "country": ("country", "source country", "outlet country"),
    "language": ("language", "lang", "la", "language_hint"),
    "voice": ("voice",),
    "source_id": ("source_id",),
}
BATCH_SIZE = 500
MAX_FIELD_CHARS = 1_000_000

Tagger = Callable[[list[Article]], list[Article]]


class FileImportError(ValueError):
    """The file as a whole cannot be imported (unreadable, unknown format, bad mapping)."""


@dataclass(slots=True)
class RowError:
    line: int  # 1-based line of the file where the row starts
    reason: str
    raw: str = ""  # the row as it was in the file (CSV fields re-joined, or the JSON line)


@dataclass(slots=True)
class ImportReport:
    path: str
    format: str
    encoding: str = ""
    rows: int = 0  # data rows read (header excluded)
    accepted: int = 0  # rows that made an article
    new: int = 0  # articles stored that were not stored before
    known: int = 0  # accepted rows whose article was already stored or repeated in the file
    copies: int = 0  # new articles that are syndicated copies of an earlier story
    errors: list[RowError] = field(default_factory=list)
    elapsed_s: float = 0.0
    dates_unknown: int = 0  # rows whose implausible publication date was stored as unknown


@dataclass(slots=True)
class _Row:
    line: int
    item: RawItem | None
    raw: str
    tags: Tags | None = None
    error: str | None = None


def parse_mapping(spec: str | None) -> dict[str, str]:
    """``"title=Headline,url=Link"`` -> ``{"title": "Headline", "url": "Link"}``."""
    mapping: dict[str, str] = {}
    if not spec:
        return mapping
    for part in spec.split(","):
        if not part.strip():
            continue
        name, sep, column = part.partition("=")
        name, column = name.strip(), column.strip()
        if not sep or not column:
            raise FileImportError(f"--map: expected field=Column, got {part.strip()!r}")
        if name not in FIELDS:
            raise FileImportError(f"--map: unknown field {name!r} (fields: {', '.join(FIELDS)})")
        mapping[name] = column
    return mapping


def decode_bytes(data: bytes) -> tuple[str, str]:
    """The text and the encoding it was read with (BOM, else UTF-8, else detected)."""
    for bom, encoding in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                          (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace"), encoding
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise FileImportError("cannot tell the file's text encoding (is it a binary file?)")
    log.info("import: detected encoding %s", best.encoding)
    return data.decode(best.encoding, errors="replace"), best.encoding


def cell_date(value: str, date_format: str | None = None) -> datetime | None:
    """An export's date cell read by ``ingest.dates.parse_date``: empty = None; unreadable or
    ambiguous = ValueError (the row is reported). With ``date_format`` (strptime) only that
    format is accepted; all-numeric dates read month first (08/02/2013 = 2 August), as the
    news-database exports print them; values without a zone are taken as UTC."""
    if not value.strip():
        return None
    moment = parse_date(value, date_format=date_format, day_first=False)
    if moment is None:
        raise ValueError(f"unreadable date {value.strip()[:80]!r}")
    return moment


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    raise FileImportError(f"cannot tell the format of {path.name}: give --format "
                          f"({'|'.join(FORMATS)})")


def _item(values: dict[str, str], line: int, source_id: str, date_format: str | None
          ) -> tuple[RawItem, str]:
    """A RawItem from mapped cell values and the voice, or ValueError with the reason."""
    title = values.get("title", "").strip()
    url = values.get("url", "").strip()
    if not title and not url:
        raise ValueError("no title and no url")
    if url and not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"url is not http(s): {url[:80]!r}")
    for name, value in values.items():
        if len(value) > MAX_FIELD_CHARS:
            raise ValueError(f"{name} is longer than {MAX_FIELD_CHARS:,} characters")
    voice = values.get("voice", "").strip().lower() or "foreign"
    if voice not in ("foreign", "own"):
        raise ValueError(f"voice must be foreign or own, got {voice!r}")
    country = values.get("country", "").strip().upper() or None
    if country is not None and not re.fullmatch(r"[A-Z]{2}", country):
        raise ValueError(f"country must be an ISO alpha-2 code, got {country!r}")
    item = RawItem(
        url=url,
        title=title or url,
        summary=values.get("summary", ""),
        body=values.get("body") or None,
        published_at=cell_date(values.get("published_at", ""), date_format),
        outlet=values.get("outlet", "").strip(),
        domain=values.get("domain", "").strip(),
        country=country,
        source_id=values.get("source_id", "").strip() or source_id,
        language_hint=values.get("language", "").strip().lower() or None,
        extras={"import_line": line},
    )
    return item, voice


def csv_dialect(text: str) -> Any:
    """RFC 4180 quoting (``""`` inside quoted fields, as every news-database export writes)
    with the delimiter the header line uses. Only the delimiter is sniffed: the sniffer's
    quoting guesses (``doublequote=False`` on the NYT export) misread real files."""
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", "\t", ";", "|")}
    delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","

    class Dialect(csv.excel):
        pass

    Dialect.delimiter = delimiter
    return Dialect


def iter_csv(text: str, mapping: dict[str, str], date_format: str | None, source_id: str
             ) -> Iterator[_Row]:
    """Rows of a CSV/TSV export. Records are parsed from the file's physical lines; when a
    quote is never closed, the record it opens swallows the lines after it and comes out with
    the wrong number of fields (or runs into the end of the file), so its first line is
    reported bad ("unterminated quote") and reading resumes on the next line: one bad row
    never takes the following rows with it. ``raw`` is the record's text as it was in the
    file (never re-serialized)."""
    lines = text.splitlines(keepends=True)
    if not lines:
        return
    dialect = csv_dialect(text)
    header = next(csv.reader([lines[0]], dialect), [])
    columns = _resolve_columns([h.strip() for h in header], mapping)
    index = 1
    while index < len(lines):
        # one reader until a runaway quote; then a fresh one from the line after it
        reader = csv.reader((lines[i] for i in range(index, len(lines))), dialect,
                            strict=True)
        read = 0  # physical lines this reader has consumed
        while index < len(lines):
            first = index
            try:
                cells = next(reader)
            except StopIteration:
                index = len(lines)
                break
            except csv.Error as exc:
                runaway = reader.line_num - read > 1 or "unexpected end of data" in str(exc)
                reason = "unterminated quote" if runaway else f"unreadable CSV: {exc}"
                yield _Row(first + 1, None, lines[first].rstrip("\r\n"), error=reason)
                index = first + 1
                break
            consumed, read = reader.line_num - read, reader.line_num
            if consumed > 1 and len(cells) != len(header) and '"' in lines[first]:
                yield _Row(first + 1, None, lines[first].rstrip("\r\n"),
                           error="unterminated quote")
                index = first + 1
                break
            index = first + consumed
            if not cells or not any(c.strip() for c in cells):
                continue
            raw = "".join(lines[first:index]).rstrip("\r\n")
            if len(cells) < len(header) or (
                    len(cells) > len(header) and any(c.strip() for c in cells[len(header):])):
                yield _Row(first + 1, None, raw,
                           error=f"expected {len(header)} fields, found {len(cells)}")
                continue
            values = {name: cells[column] for name, column in columns.items()}
            yield _parse_row(values, first + 1, raw, source_id, date_format)


def _resolve_columns(header: list[str], mapping: dict[str, str]) -> dict[str, int]:
    folded = {name.casefold(): index for index, name in enumerate(header)}
    columns: dict[str, int] = {}
    for name, column in mapping.items():
        if column.casefold() not in folded:
            raise FileImportError(f"--map {name}={column}: no such column (columns: "
                                  f"{', '.join(header)})")
        columns[name] = folded[column.casefold()]
    for name, aliases in COLUMN_ALIASES.items():
        if name in columns:
            continue
        for alias in aliases:
            if alias in folded and folded[alias] not in columns.values():
                columns[name] = folded[alias]
                break
    if "title" not in columns and "url" not in columns:
        raise FileImportError(
            f"no title or url column among {', '.join(header)}: map one, e.g. "
            "--map title=Headline,url=Link")
    return columns


def _parse_row(values: dict[str, str], line: int, raw: str, source_id: str,
               date_format: str | None, tags: Tags | None = None) -> _Row:
    try:
        item, voice = _item(values, line, source_id, date_format)
    except ValueError as exc:
        return _Row(line, None, raw, error=str(exc))
    item.extras["voice"] = voice
    return _Row(line, item, raw, tags=tags)


def iter_jsonl(text: str, mapping: dict[str, str], date_format: str | None, source_id: str
               ) -> Iterator[_Row]:
    """Article-shaped lines (``cityradar tag`` output keeps its tags) or minimal ones; a
    ``--map`` renames keys (``title=headline``)."""
    renames = {column: name for name, column in mapping.items()}
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        record, error = parse_json_line(raw)
        if error is not None:
            yield _Row(line, None, raw, error=error)
            continue
        if not isinstance(record, dict):
            yield _Row(line, None, raw, error="expected a JSON object")
            continue
        record = {renames.get(k, k): v for k, v in record.items()}
        if "language" not in record and record.get("language_hint"):
            record["language"] = record["language_hint"]
        values = {name: _text(record.get(name)) for name in FIELDS if record.get(name) is not None}
        tags = None
        if isinstance(record.get("tags"), dict):
            try:
                tags = Tags.from_dict(record["tags"])
            except (TypeError, ValueError) as exc:
                yield _Row(line, None, raw, error=f"invalid tags: {exc}")
                continue
        yield _parse_row(values, line, raw, source_id, date_format, tags)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value) if isinstance(
        value, (dict, list)) else str(value)


def import_file(
    path: Path | str,
    store: Store,
    *,
    fmt: str | None = None,
    mapping: dict[str, str] | None = None,
    date_format: str | None = None,
    config_dir: Path | str | None = None,
    tagger: Tagger | None = None,
    preparer: IngestPreparer | None = None,
    errors_path: Path | str | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Import one file into ``store``; see the module docstring. Raises FileImportError when
    the file as a whole cannot be read; bad rows are in the report's ``errors``."""
    path = Path(path)
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise FileImportError(f"unknown format {fmt!r} (formats: {', '.join(FORMATS)})")
    if preparer is None:
        if config_dir is None:
            raise FileImportError("import_file needs a config_dir or a preparer")
        preparer = IngestPreparer.from_config(config_dir, store)
    report = ImportReport(str(path), fmt)
    started = time.perf_counter()
    if fmt.startswith("gdelt-"):
        _import_gdelt(path, fmt, store, preparer.then(tagger), config_dir, report)
    else:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise FileImportError(f"cannot read {path}: {exc.strerror or exc}") from exc
        text, report.encoding = decode_bytes(data)
        source_id = f"import:{path.name}"
        rows = (iter_csv if fmt == "csv" else iter_jsonl)(text, mapping or {}, date_format,
                                                          source_id)
        header = text.splitlines()[0] if fmt == "csv" and text else None
        _import_rows(rows, store, preparer, tagger, report, batch_size)
        if errors_path is not None and report.errors:
            _write_errors(Path(errors_path), report.errors, header)
    report.elapsed_s = time.perf_counter() - started
    for error in report.errors:
        log.info("%s line %d: %s", path.name, error.line, error.reason)
    if report.errors:
        log.warning("%s: %d bad rows not imported (first on line %d: %s)", path.name,
                    len(report.errors), report.errors[0].line, report.errors[0].reason)
    return report


def _import_rows(rows: Iterator[_Row], store: Store, preparer: IngestPreparer,
                 tagger: Tagger | None, report: ImportReport, batch_size: int) -> None:
    batch: list[_Row] = []
    for row in rows:
        report.rows += 1
        if row.error is not None:
            report.errors.append(RowError(row.line, row.error, row.raw))
            continue
        batch.append(row)
        if len(batch) >= batch_size:
            _store_batch(batch, store, preparer, tagger, report)
            batch = []
    if batch:
        _store_batch(batch, store, preparer, tagger, report)


def _store_batch(rows: list[_Row], store: Store, preparer: IngestPreparer,
                 tagger: Tagger | None, report: ImportReport) -> None:
    fetched_at = datetime.now(UTC)
    by_id: dict[str, _Row] = {}
    articles: list[Article] = []
    for row in rows:
        assert row.item is not None
        voice = str(row.item.extras.pop("voice", "foreign"))
        article = normalize_item(row.item, fetched_at, voice)
        if article is None:
            report.errors.append(RowError(row.line, "no usable url or text", row.raw))
            continue
        article.tags = row.tags
        report.dates_unknown += REJECTED_DATE in article.extras
        by_id.setdefault(article.id, row)
        articles.append(article)
    report.accepted += len(articles)
    fresh = drop_repeated_urls(articles, store)
    report.known += len(articles) - len(fresh)
    if not fresh:
        return
    fresh = preparer(fresh)
    untagged = [a for a in fresh if a.tags is None]
    if tagger is not None and untagged:
        tagged = {a.id: a for a in tagger(untagged)}
        fresh = [tagged.get(a.id, a) for a in fresh]
    stored = store.upsert_articles(fresh)
    report.new += stored.inserted + stored.spooled
    failed = {article_id for article_id, _ in stored.failed}
    report.copies += sum(1 for a in fresh if a.dup_of is not None and a.id not in failed)
    for article_id, reason in stored.failed:
        row = by_id.get(article_id)
        report.accepted -= 1
        report.errors.append(RowError(row.line if row else 0, f"not stored: {reason}",
                                      row.raw if row else ""))


def _import_gdelt(path: Path, fmt: str, store: Store, prepare_and_tag: Tagger,
                  config_dir: Path | str | None, report: ImportReport) -> None:
    try:
        from ingest.backfill import import_file as import_gdelt_file
        from ingest.gdelt_files import CityMatcher
        from nlp.gazetteer import load_cities
    except ImportError as exc:
        raise FileImportError(f"GDELT file import is not available: {exc}") from exc
    if config_dir is None:
        raise FileImportError("GDELT import needs the config directory (for the cities)")
    if not path.is_file():
        raise FileImportError(f"cannot read {path}: no such file")
    matcher = CityMatcher(load_cities(Path(config_dir)))
    kind = "export" if fmt == "gdelt-events" else "gkg"
    result = import_gdelt_file(path, kind, store, matcher, prepare_and_tag)
    report.rows, report.accepted, report.new = result.rows, result.matched, result.new
    report.known = max(0, result.matched - result.new)
    if result.broken:
        report.errors.append(
            RowError(0, f"{result.broken} broken rows (the log names the first ones)"))


def _write_errors(path: Path, errors: list[RowError], header: str | None) -> None:
    """The bad rows unchanged (CSV: under the file's header), ready to fix and import again."""
    with path.open("w", encoding="utf-8", newline="") as out:
        if header is not None:
            out.write(header.lstrip("\ufeff") + "\n")
        for error in errors:
            if error.raw:
                out.write(error.raw + "\n")
