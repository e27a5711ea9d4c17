"""`cityradar export articles|alerts`: stream records out of either store backend."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import click

from cityradar.settings import Settings

_FORMAT = click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]),
                       default="jsonl", show_default=True)
_OUT = click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
                    help="Output file (default: standard output; Parquet needs a file). "
                         "Written to OUT.partial and renamed when complete.")
_DAY = click.DateTime(["%Y-%m-%d"])


@contextlib.contextmanager
def _output(out: Path | None, fmt: str) -> Iterator[IO[bytes]]:
    if out is None or str(out) == "-":
        if fmt == "parquet":
            raise click.UsageError("--format parquet needs --out FILE")
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    partial = out.with_name(out.name + ".partial")
    try:
        with open(partial, "wb") as handle:
            yield handle
        os.replace(partial, out)
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)


def _run(settings: Settings, fmt: str, out: Path | None,
         write: Callable[[Any, IO[bytes]], Any], what: str) -> None:
    from search.store import StoreError

    store = settings.open_store()
    try:
        with _output(out, fmt) as handle:
            report = write(store, handle)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    click.echo(f"exported {report.rows:,} {what} as {fmt}"
               + (f" to {out}" if out and str(out) != "-" else ""), err=True)


@click.group("export")
def export() -> None:
    """Export stored articles or alerts (JSON lines, CSV, Parquet), streamed."""

@export.command("articles")
@click.option("--city", "cities", multiple=True, metavar="ID")
@click.option("--language", "languages", multiple=True, metavar="CODE")
@click.option("--topic", "topics", multiple=True, metavar="ID")
@click.option("--sentiment", "sentiments", multiple=True,
              type=click.Choice(["negative", "neutral", "positive"]))
@click.option("--outlet", "outlets", multiple=True, metavar="NAME")
@click.option("--country", "countries", multiple=True, metavar="CC")
@click.option("--voice", type=click.Choice(["foreign", "own"]))
@click.option("--from", "date_from", type=_DAY, help="Published on or after (YYYY-MM-DD).")
@click.option("--to", "date_to", type=_DAY, help="Published on or before (YYYY-MM-DD).")
@click.option("--unique", is_flag=True, help="Only first-seen copies of syndicated stories.")
@click.option("--with-body", is_flag=True, help="Include the full text (body) column.")
@_FORMAT
@_OUT
@click.pass_obj
def articles(settings: Settings, cities, languages, topics, sentiments, outlets, countries,
             voice, date_from, date_to, unique: bool, with_body: bool, fmt: str,
             out: Path | None) -> None:
    """Articles matching the filters, oldest first (unknown dates last)."""
    from search.export import export_articles
    from search.store import ArticleFilter

    if date_from and date_to and date_from > date_to:
        raise click.UsageError("--from is after --to")
    filters = ArticleFilter(
        cities=cities, languages=languages, topics=topics, sentiment_labels=sentiments,
        outlets=outlets, countries=countries, voice=voice,
        date_from=date_from.date() if date_from else None,
        date_to=date_to.date() if date_to else None, unique_stories=unique)
    _run(settings, fmt, out,
         lambda store, handle: export_articles(store.iter_articles(filters), fmt, handle,
                                               with_body), "articles")

@export.command("alerts")
@click.option("--city", "cities", multiple=True, metavar="ID")
@click.option("--kind", "kinds", multiple=True,
              type=click.Choice(["volume_surge", "negative_spike"]))
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(["new", "acknowledged", "resolved"]))
@click.option("--since", type=_DAY, help="Episodes ending on or after (YYYY-MM-DD).")
@_FORMAT
@_OUT
@click.pass_obj
def alerts(settings: Settings, cities, kinds, statuses, since, fmt: str,
           out: Path | None) -> None:
    """Alert episodes, newest first, with status, notes and evidence story ids."""
    from search.export import export_alerts

    day = since.date() if since else None
    _run(settings, fmt, out,
         lambda store, handle: export_alerts(
             store.iter_alerts(cities=cities, kinds=kinds, statuses=statuses, since=day),
             fmt, handle), "alerts")


def register(cli: click.Group) -> None:
    cli.add_command(export)
