"""Streaming export of articles and alerts from any Store backend: JSON lines, CSV, Parquet.

Records are read with the store's cursors (``Store.iter_articles`` / ``Store.iter_alerts``,
keyset / search_after pages) and written as they come, so memory stays bounded whatever the
store's size: JSON lines and CSV row by row, Parquet in row groups of ``PARQUET_BATCH`` rows
(pyarrow ``ParquetWriter``). JSON lines carry the full records (``to_dict``); CSV and Parquet
carry the flat columns below (lists joined with ``;``, e.g. ``cities`` = ``wuhan;beijing``).

CSV cells that a spreadsheet would run as a formula (text starting with ``=``, ``+``, ``-``,
``@``, tab or carriage return: titles come from outside) get a leading apostrophe.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from cityradar.records import Alert, Article

FORMATS = ("jsonl", "csv", "parquet")
PARQUET_BATCH = 10_000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

ARTICLE_COLUMNS: tuple[tuple[str, str], ...] = (
    # (column, Parquet type: string | double | timestamp | bool)
    ("id", "string"), ("url", "string"), ("title", "string"), ("title_translated", "string"),
    ("translation_model", "string"), ("summary", "string"), ("published_at", "timestamp"),
    ("outlet", "string"), ("domain", "string"), ("country", "string"), ("source_id", "string"),
    ("voice", "string"), ("language", "string"), ("cities", "string"),
    ("government_cities", "string"), ("topics", "string"), ("sentiment", "double"),
    ("sentiment_label", "string"), ("dup_of", "string"), ("cluster_id", "string"),
    ("full_text_status", "string"), ("body_chars", "double"), ("tagger_version", "string"),
)
BODY_COLUMN = ("body", "string")
ALERT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "string"), ("city", "string"), ("kind", "string"), ("language_group", "string"),
    ("start", "string"), ("peak", "string"), ("end", "string"), ("observed", "double"),
    ("expected", "double"), ("severity", "double"), ("status", "string"), ("notes", "string"),
    ("stories", "string"), ("created_at", "timestamp"), ("updated_at", "timestamp"),
)


@dataclass(slots=True)
class ExportReport:
    rows: int = 0


def article_row(article: Article, with_body: bool = False) -> dict[str, Any]:
    tags = article.tags
    places = [c for c in (tags.cities if tags else {}) if _kind(article, c) == "place"]
    government = [c for c in (tags.cities if tags else {}) if _kind(article, c) == "government"]
    translation = article.extras.get("translation") or {}
    row = {
        "id": article.id, "url": article.url, "title": article.title,
        "title_translated": translation.get("title"),
        "translation_model": translation.get("model"),
        "summary": article.summary, "published_at": article.published_at,
        "outlet": article.outlet, "domain": article.domain, "country": article.country,
        "source_id": article.source_id, "voice": article.voice,
        "language": tags.language if tags else article.language_hint,
        "cities": ";".join(places), "government_cities": ";".join(government),
        "topics": ";".join(sorted(tags.topics)) if tags else "",
        "sentiment": tags.sentiment if tags else None,
        "sentiment_label": tags.sentiment_label if tags else None,
        "dup_of": article.dup_of, "cluster_id": article.cluster_id,
        "full_text_status": (article.extras.get("fulltext") or {}).get("status"),
        "body_chars": float(len(article.body)) if article.body else None,
        "tagger_version": tags.tagger_version if tags else None,
    }
    if with_body:
        row["body"] = article.body
    return row


def _kind(article: Article, city: str) -> str:
    kinds = {m.kind for m in article.tags.mentions if m.city == city} if article.tags else set()
    return "place" if "place" in kinds or not kinds else "government"


def alert_row(alert: Alert) -> dict[str, Any]:
    stories = alert.evidence.get("stories") or alert.evidence.get("top_stories") or []
    ids = [s if isinstance(s, str) else str(s.get("id", "")) for s in stories
           if isinstance(s, str | dict)]
    return {
        "id": alert.id, "city": alert.city, "kind": alert.kind,
        "language_group": alert.language_group, "start": alert.start.isoformat(),
        "peak": alert.peak.isoformat(), "end": alert.end.isoformat(),
        "observed": alert.observed, "expected": alert.expected, "severity": alert.severity,
        "status": alert.status, "notes": " | ".join(alert.notes), "stories": ";".join(ids),
        "created_at": alert.created_at, "updated_at": alert.updated_at,
    }


def spreadsheet_safe(value: Any) -> Any:
    """A text cell a spreadsheet would evaluate gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def export_records(
    records: Iterable[Any],
    to_row: Callable[[Any], dict[str, Any]],
    columns: tuple[tuple[str, str], ...],
    fmt: str,
    out: IO[bytes],
    to_json: Callable[[Any], dict[str, Any]] | None = None,
) -> ExportReport:
    """Write ``records`` to the binary stream ``out`` in ``fmt``; returns the row count."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    report = ExportReport()
    if fmt == "jsonl":
        for record in records:
            data = to_json(record) if to_json else to_row(record)
            out.write(json.dumps(data, ensure_ascii=False, default=str).encode("utf-8") + b"\n")
            report.rows += 1
        return report
    if fmt == "csv":
        import io

        text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
        writer = csv.writer(text)
        writer.writerow([name for name, _type in columns])
        for record in records:
            row = to_row(record)
            writer.writerow([_csv_cell(row.get(name)) for name, _type in columns])
            report.rows += 1
        text.flush()
        text.detach()
        return report
    _write_parquet(records, to_row, columns, out, report)
    return report


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return spreadsheet_safe(value)


def _write_parquet(records: Iterable[Any], to_row: Callable[[Any], dict[str, Any]],
                   columns: tuple[tuple[str, str], ...], out: IO[bytes],
                   report: ExportReport) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"string": pa.string(), "double": pa.float64(), "bool": pa.bool_(),
             "timestamp": pa.timestamp("us", tz="UTC")}
    schema = pa.schema([(name, types[kind]) for name, kind in columns])
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        for batch in _batches(records, PARQUET_BATCH):
            rows = [to_row(record) for record in batch]
            table = pa.Table.from_pydict(
                {name: [row.get(name) for row in rows] for name, _kind in columns},
                schema=schema)
            writer.write_table(table)
            report.rows += len(rows)


def _batches(records: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def export_articles(records: Iterable[Article], fmt: str, out: IO[bytes],
                    with_body: bool = False) -> ExportReport:
    columns = (*ARTICLE_COLUMNS, BODY_COLUMN) if with_body else ARTICLE_COLUMNS
    return export_records(records, lambda a: article_row(a, with_body), columns, fmt, out,
                          to_json=lambda a: _article_json(a, with_body))


def _article_json(article: Article, with_body: bool) -> dict[str, Any]:
    data = article.to_dict()
    if not with_body:
        data.pop("body", None)
        fulltext = (data.get("extras") or {}).get("fulltext")
        if isinstance(fulltext, dict) and "excerpt" in fulltext:
            data["extras"] = {**data["extras"],
                              "fulltext": {k: v for k, v in fulltext.items() if k != "excerpt"}}
    return data


def export_alerts(records: Iterable[Alert], fmt: str, out: IO[bytes]) -> ExportReport:
    return export_records(records, alert_row, ALERT_COLUMNS, fmt, out,
                          to_json=lambda a: a.to_dict())
