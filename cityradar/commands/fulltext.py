"""`cityradar fetch-text`: fetch, extract and re-tag the full text of stored articles."""

from __future__ import annotations

import click

from cityradar.settings import Settings


@click.command("fetch-text")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]),
              help="Only articles published on or after this day (YYYY-MM-DD).")
@click.option("--source", "source_ids", multiple=True, metavar="ID",
              help="Only articles of this source (repeatable; 'gnews' matches its editions).")
@click.option("--refresh", is_flag=True,
              help="Fetch again pages already read (conditional GET: unchanged pages cost "
                   "a 304).")
@click.option("--no-tag", is_flag=True, help="Store the text without re-tagging.")
@click.pass_obj
def fetch_text(settings: Settings, since, source_ids: tuple[str, ...], refresh: bool,
               no_tag: bool) -> None:
    """Fetch the page of each stored article still without full text (honouring
    robots.txt), store its main text, and re-tag it with the lead and the sentences that
    name a city. Paywalls, consent walls and failed extractions are recorded per article."""
    from cityradar.config import ConfigError
    from ingest.fetch import Fetcher
    from ingest.fulltext import fetch_full_text, stored_candidates, summary_line
    from ingest.sources import load_sources

    try:
        options = load_sources(settings.config_dir).fetch
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    tagger = settings.tagger(not no_tag)
    store = settings.open_store()
    try:
        with Fetcher(options) as fetcher:
            report = fetch_full_text(
                store,
                stored_candidates(store, since.date() if since else None, source_ids),
                fetcher, tagger, refresh=refresh)
    finally:
        store.close()
    click.echo(summary_line(report))
    failed = report.statuses.get("error", 0) + report.statuses.get("http_error", 0)
    if report.fetched and failed == report.fetched:
        raise click.ClickException(f"all {report.fetched} page fetches failed")


def register(cli: click.Group) -> None:
    cli.add_command(fetch_text)
