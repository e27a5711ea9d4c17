"""`cityradar backfill gdelt` and `cityradar gdelt fetch|timeline` (GDELT sources)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

import click

from cityradar.config import ConfigError
from cityradar.settings import Settings

log = logging.getLogger(__name__)


def _cities(settings: Settings, wanted: tuple[str, ...]) -> list[Any]:
    from nlp.gazetteer import load_cities

    try:
        cities = load_cities(settings.config_dir)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if not wanted:
        return cities
    by_id = {c.id: c for c in cities}
    unknown = [w for w in wanted if w not in by_id]
    if unknown:
        raise click.BadParameter(f"unknown city id(s): {', '.join(unknown)} "
                                 f"(known: {', '.join(sorted(by_id))})", param_hint="--city")
    return [by_id[w] for w in wanted]


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"expected YYYY-MM-DD, got {value!r}",
                                 param_hint=option) from exc


def _moment(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"expected YYYY-MM-DD[THH:MM], got {value!r}",
                                 param_hint=option) from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@click.group()
def backfill() -> None:
    """Import historical coverage from bulk archives."""

@backfill.command("gdelt")
@click.option("--from", "date_from", required=True, metavar="DATE", help="First day (UTC).")
@click.option("--to", "date_to", required=True, metavar="DATE", help="Last day (UTC).")
@click.option("--master-url", metavar="URL", help="GDELT master file list (config default).")
@click.option("--workers", type=click.IntRange(min=1, max=32), help="Parallel downloads.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(["export", "gkg"]),
              help="File kinds (repeatable; default from config/gdelt.yaml).")
@click.option("--no-tag", is_flag=True, help="Keep GDELT's geocoding and tone only.")
@click.pass_obj
def backfill_gdelt_cmd(settings: Settings, date_from: str, date_to: str,
                       master_url: str | None, workers: int | None, kinds: tuple[str, ...],
                       no_tag: bool) -> None:
    """Download GDELT Events/GKG files of a date range and import our cities (resumable)."""
    from ingest.backfill import BackfillConfig, BackfillError, backfill_gdelt

    start, end = _day(date_from, "--from"), _day(date_to, "--to")
    assert start is not None and end is not None
    if start > end:
        raise click.BadParameter(f"{date_from} is after --to {date_to}",
                                 param_hint="--from")
    try:
        config = BackfillConfig.load(settings.config_dir)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    config.master_url = master_url or config.master_url
    config.workers = workers or config.workers
    config.kinds = list(kinds) or config.kinds
    cities = _cities(settings, ())
    tagger = settings.tagger(not no_tag)
    store = settings.open_store()
    from tqdm import tqdm

    bar = tqdm(unit="file", desc="gdelt backfill", disable=None)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        report = backfill_gdelt(store, cities, start, end, config, tagger=tagger,
                                progress=progress)
    except BackfillError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        bar.close()
        store.close()
    click.echo(f"{report.selected} files in range, {report.already_done} already imported, "
               f"{len(report.files)} processed: {report.rows} rows, {report.new} new "
               f"articles, {len(report.failed)} failed")
    for failed in report.failed:
        click.echo(f"  failed {failed.name}: {failed.error}", err=True)
    if report.failed:
        raise click.ClickException(
            f"{len(report.failed)} file(s) failed; run the same command again to retry them")


@click.group()
def gdelt() -> None:
    """GDELT DOC 2.0 API: articles and daily volumes per city."""

@gdelt.command("fetch")
@click.option("--city", "city_ids", multiple=True, metavar="ID",
              help="Only this city (repeatable). Default: every configured city.")
@click.option("--from", "start", metavar="DATETIME",
              help="Start (UTC). Default: the city's resume point, else the lookback.")
@click.option("--to", "end", metavar="DATETIME", help="End (UTC). Default: now.")
@click.option("--base-url", metavar="URL", help="DOC API endpoint (config default).")
@click.option("--no-timeline", is_flag=True, help="Skip TimelineVolRaw.")
@click.option("--no-tag", is_flag=True, help="Store articles untagged by CityRadar.")
@click.pass_obj
def gdelt_fetch(settings: Settings, city_ids: tuple[str, ...], start: str | None,
                end: str | None, base_url: str | None, no_timeline: bool,
                no_tag: bool) -> None:
    """Pull ArtList articles and TimelineVolRaw volumes from the GDELT DOC API."""
    from ingest.gdelt_doc import GdeltDocConfig, GdeltDocSource

    try:
        config = GdeltDocConfig.load(settings.config_dir)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    config.base_url = base_url or config.base_url
    cities = _cities(settings, city_ids)
    begin, until = _moment(start, "--from"), _moment(end, "--to")
    if begin and until and begin >= until:
        raise click.BadParameter("--from must be before --to", param_hint="--from")
    tagger = settings.tagger(not no_tag)
    store = settings.open_store()
    try:
        with GdeltDocSource(config, store, tagger) as source:
            reports = source.fetch_cities(cities, start=begin, end=until,
                                          timeline=not no_timeline)
    finally:
        store.close()
    for r in reports:
        status = f"error: {r.error}" if r.error else "ok"
        click.echo(f"{r.city}\t{r.seen} seen\t{r.new} new\t{r.timeline_days} days\t{status}")
    if reports and all(r.error for r in reports):
        raise click.ClickException(f"all {len(reports)} cities failed")

@gdelt.command("timeline")
@click.option("--city", "city_id", required=True, metavar="ID")
@click.pass_obj
def gdelt_timeline(settings: Settings, city_id: str) -> None:
    """Print a city's stored daily volumes: date, value, norm, share of all coverage."""
    from ingest.gdelt_doc import load_timeline

    _cities(settings, (city_id,))
    store = settings.open_store()
    try:
        points = load_timeline(store, city_id)
    finally:
        store.close()
    if not points:
        raise click.ClickException(f"no GDELT timeline stored for {city_id}; "
                                   "run `cityradar gdelt fetch` first")
    click.echo("date\tvalue\tnorm\tshare")
    for p in points:
        click.echo(f"{p.day}\t{p.value}\t{p.norm}\t{p.share:.6f}")


def register(cli: click.Group) -> None:
    cli.add_command(backfill)
    cli.add_command(gdelt)
