"""`cityradar import FILE` and `cityradar dedupe` (re-cluster syndicated copies in the store).
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import click

from cityradar.config import ConfigError
from cityradar.settings import Settings

log = logging.getLogger(__name__)

MAX_ERRORS_SHOWN = 20


def register(cli: click.Group) -> None:
    cli.add_command(import_command)
    cli.add_command(dedupe_command)


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt",
              type=click.Choice(["jsonl", "csv", "gdelt-events", "gdelt-gkg"]),
              help="File format. Default: from the extension (.jsonl/.json, .csv/.tsv).")
@click.option("--map", "mapping", metavar="FIELD=COLUMN,...",
              help="Columns for fields, e.g. title=Headline,url=Link,published_at=Date,"
                   "outlet=Source. Fields: url title summary body published_at outlet domain "
                   "country language voice source_id. Unmapped fields are found by common "
                   "column names.")
@click.option("--date-format", metavar="FMT",
              help="strptime format of the date column, e.g. '%d/%m/%Y %H:%M'. Default: ISO, "
                   "epoch, or free-form dates.")
@click.option("--errors", "errors_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the rows that could not be imported to this file, unchanged.")
@click.option("--no-tag", is_flag=True, help="Store articles untagged (tag them later).")
@click.pass_obj
def import_command(settings: Settings, file: Path, fmt: str | None, mapping: str | None,
                   date_format: str | None, errors_path: Path | None, no_tag: bool) -> None:
    """Import articles from a file: JSON lines, CSV exports of news databases, GDELT files.

    Good rows are normalized, deduplicated (by URL and as syndicated copies), tagged and
    stored; bad rows are reported by line number. Exits 0 when rows were imported (even if
    some were bad), 1 when none could be.
    """
    from ingest.file_import import FileImportError, import_file, parse_mapping
    from ingest.syndication import IngestPreparer

    if not file.is_file():
        raise click.ClickException(f"{file}: no such file")
    try:
        fields = parse_mapping(mapping)
    except FileImportError as exc:
        raise click.UsageError(str(exc)) from exc
    tagger = settings.tagger(not no_tag)
    store = settings.open_store()
    try:
        preparer = IngestPreparer.from_config(settings.config_dir, store)
        report = import_file(file, store, fmt=fmt, mapping=fields, date_format=date_format,
                             config_dir=settings.config_dir, tagger=tagger, preparer=preparer,
                             errors_path=errors_path)
    except (FileImportError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()

    for error in report.errors[:MAX_ERRORS_SHOWN]:
        where = f"line {error.line}" if error.line else "file"
        click.echo(f"{file.name} {where}: {error.reason}", err=True)
    if len(report.errors) > MAX_ERRORS_SHOWN:
        click.echo(f"... and {len(report.errors) - MAX_ERRORS_SHOWN} more bad rows", err=True)
    encoding = f", {report.encoding}" if report.encoding else ""
    click.echo(f"{file.name} ({report.format}{encoding}): {report.rows} rows, "
               f"{report.accepted} imported ({report.new} new, {report.known} already stored "
               f"or repeated, {report.copies} syndicated copies), {len(report.errors)} bad "
               f"in {report.elapsed_s:.1f}s")
    if report.dates_unknown:
        click.echo(f"warning: {report.dates_unknown} rows with an implausible publication date "
                   "(before 1970 or in the future) stored as date unknown")
    if report.errors:
        lines = [str(e.line) for e in report.errors if e.line][:MAX_ERRORS_SHOWN]
        more = "…" if len(report.errors) > MAX_ERRORS_SHOWN else ""
        saved = f"; written to {errors_path}" if errors_path else ""
        click.echo(f"warning: {len(report.errors)} bad rows"
                   f"{' on lines ' + ', '.join(lines) + more if lines else ''}{saved}")
    if report.accepted == 0:
        raise click.ClickException(f"nothing imported from {file.name}")


@click.command("dedupe")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]),
              help="Only articles published on or after this day (YYYY-MM-DD).")
@click.option("--window-days", type=click.IntRange(min=0), default=7, show_default=True,
              help="Copies must be published within this many days of the story's first copy.")
@click.pass_obj
def dedupe_command(settings: Settings, since, window_days: int) -> None:
    """Cluster the stored articles into stories again, oldest first (syndicated copies)."""
    from ingest.syndication import recluster_store
    from search.store import ArticleFilter

    filters = ArticleFilter(date_from=since.date() if since else None)
    store = settings.open_store(must_exist=True)
    try:
        report = recluster_store(store, filters, window_days=window_days)
    finally:
        store.close()
    since_text = f" since {date.isoformat(since.date())}" if since else ""
    click.echo(f"{report.articles} articles{since_text}: {report.stories} stories, "
               f"{report.changed} cluster assignments changed")
