"""`cityradar tag` (the NLP stage on JSON lines)."""

from __future__ import annotations

import hashlib
import io
import json
import sys
from collections.abc import Iterator
from typing import IO, Any

import click

from cityradar.records import Article


def article_from_json(data: Any) -> Article:
    """An Article from Article.to_dict() or a minimal {"title", "summary", "url"} object."""
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    url = data.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ValueError("missing 'url'")
    title = data.get("title")
    if not isinstance(title, str):
        raise ValueError("missing 'title' (a string)")
    summary = data.get("summary") or ""
    if not isinstance(summary, str):
        raise ValueError("'summary' must be a string")
    values = dict(data)
    if not values.get("id"):
        values["id"] = hashlib.sha1(url.strip().encode("utf-8")).hexdigest()
    values["summary"] = summary
    try:
        return Article.from_dict(values)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not an article: {exc}") from exc


def _read_articles(stream: IO[str]) -> Iterator[tuple[int, Article | str]]:
    """(line number, article or error message) per non-blank line (never raises on a line)."""
    from ingest.jsonlines import parse_json_line

    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        data, error = parse_json_line(line)
        if error is not None:
            yield number, error
            continue
        try:
            yield number, article_from_json(data)
        except (ValueError, TypeError, AttributeError, OverflowError) as exc:
            yield number, str(exc).splitlines()[0] if str(exc) else type(exc).__name__


@click.command("tag")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True,
              help="Articles tagged (and written) per batch.")
@click.pass_obj
def tag(settings: Any, batch_size: int) -> None:
    """Tag JSON lines of articles from stdin; write tagged JSON lines to stdout.

    Each line: an article (Article.to_dict) or at least {"title", "summary", "url"}.
    A malformed line is reported on stderr with its number and skipped; the exit code is
    then 1.
    """
    from cityradar.config import ConfigError
    from nlp.pipeline import Tagger

    try:
        tagger = Tagger.from_config(settings.config_dir)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    failed = 0
    pending: list[Article] = []

    def flush() -> None:
        for article in tagger.tag(pending):
            click.echo(json.dumps(article.to_dict(), ensure_ascii=False))
        pending.clear()

    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    for number, item in _read_articles(stdin):
        if isinstance(item, str):
            failed += 1
            click.echo(f"cityradar tag: line {number}: {item}; skipped", err=True)
            continue
        pending.append(item)
        if len(pending) >= batch_size:
            flush()
    flush()
    if failed:
        click.echo(f"cityradar tag: {failed} line(s) skipped", err=True)
        sys.exit(1)


def register(cli: click.Group) -> None:
    cli.add_command(tag)
