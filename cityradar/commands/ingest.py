"""`cityradar ingest`, `watch` and `sources`."""

from __future__ import annotations

import logging
from typing import Any

import click

from cityradar.config import ConfigError
from cityradar.settings import Settings

log = logging.getLogger(__name__)


def _print_report(report: Any) -> None:
    rows = [("source", "seen", "new", "status")]
    for s in report.sources:
        status = "error: " + s.error if s.error else ("not modified" if s.not_modified else "ok")
        if s.warning and not s.error:
            status += f" ({s.warning})"
        rows.append((s.source_id, str(s.seen), str(s.new), status))
    width = max(len(r[0]) for r in rows)
    for source_id, seen, new, status in rows:
        click.echo(f"{source_id:<{width}}  {seen:>6}  {new:>6}  {status}")
    click.echo(
        f"total: {len(report.sources)} sources, {report.seen} items seen, {report.new} new, "
        f"{len(report.failed)} failed, {report.elapsed_s:.1f}s"
    )


def _ingest(settings: Settings, source_ids: tuple[str, ...], tag: bool) -> Any:
    from ingest.pipeline import ingest_once

    tagger = settings.tagger(tag)
    try:
        return ingest_once(settings, source_ids=source_ids or None, tagger=tagger)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command()
@click.option("--source", "source_ids", multiple=True, metavar="ID",
              help="Only this source (repeatable). Default: every enabled source.")
@click.option("--once", is_flag=True, help="One cycle (the default; see `watch` for more).")
@click.option("--no-tag", is_flag=True, help="Store articles untagged (tag them later).")
@click.pass_obj
def ingest(settings: Settings, source_ids: tuple[str, ...], once: bool, no_tag: bool) -> None:
    """Pull the configured feeds and news searches now, and store what is new."""
    report = _ingest(settings, source_ids, not no_tag)
    _print_report(report)
    if report.all_failed:
        raise click.ClickException(f"all {len(report.sources)} sources failed")


@click.command()
@click.option("--interval", default="15m", show_default=True,
              help="Time between cycles: 90s, 15m, 1h.")
@click.option("--max-cycles", type=click.IntRange(min=1), help="Stop after N cycles.")
@click.option("--source", "source_ids", multiple=True, metavar="ID")
@click.option("--no-tag", is_flag=True, help="Store articles untagged.")
@click.pass_obj
def watch(settings: Settings, interval: str, max_cycles: int | None,
          source_ids: tuple[str, ...], no_tag: bool) -> None:
    """Ingest, tag and update alerts on a schedule until Ctrl-C."""
    from ingest.scheduler import parse_interval, run_every

    try:
        interval_s = parse_interval(interval)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--interval") from exc

    from search.store import StoreError
    from search.urls import redact_text

    settings.open_store().close()  # a store that cannot open stops watch at once
    failed_cycles: list[int] = []
    ran: list[int] = []

    def cycle(number: int) -> None:
        ran.append(number)
        try:
            report = _ingest(settings, source_ids, not no_tag)
        except (click.ClickException, StoreError) as exc:
            failed_cycles.append(number)
            reason = exc.format_message() if isinstance(exc, click.ClickException) else (
                redact_text(" ".join(str(exc).split()), settings.store_url))
            click.echo(f"error: cycle {number} failed: {reason[:300]}", err=True)
            return
        click.echo(f"cycle {number}: {report.new} new from {len(report.sources)} sources, "
                   f"{len(report.failed)} failed")
        if report.all_failed:
            failed_cycles.append(number)
            click.echo(f"error: cycle {number}: all {len(report.sources)} sources failed",
                       err=True)
        _update_alerts(settings)
        _monthly_report(settings)

    try:
        run_every(cycle, interval_s, max_cycles)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
    if ran and len(failed_cycles) == len(ran):
        raise click.ClickException(f"every cycle failed ({len(ran)} of {len(ran)})")


@click.command()
@click.pass_obj
def sources(settings: Settings) -> None:
    """List the configured sources with their ingest health."""
    from ingest.sources import load_sources

    try:
        config = load_sources(settings.config_dir)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    store = settings.open_store()
    try:
        health = {h.source_id: h for h in store.list_source_health()}
    finally:
        store.close()
    for source in config.sources:
        h = health.get(source.id)
        state = "enabled " if source.enabled else "disabled"
        if h is None:
            seen = "never fetched"
        elif h.consecutive_failures:
            seen = f"FAILING x{h.consecutive_failures}: {h.last_error}"
        else:
            last = h.last_success.strftime("%Y-%m-%d %H:%M") if h.last_success else "-"
            seen = f"ok {last} UTC, {h.items_new} new / {h.items_seen} seen"
            if h.last_warning:
                seen += f"; warning: {h.last_warning}"
        click.echo(f"{source.id}\t{state}\t{source.kind}\t{source.outlet}\t"
                   f"{source.language or '-'}\t{source.country or '-'}\t{seen}")


def register(cli: click.Group) -> None:
    cli.add_command(ingest)
    cli.add_command(watch)
    cli.add_command(sources)


def _update_alerts(settings: Settings) -> None:
    from alerts.run_detection import update_alerts

    store = settings.open_store()
    try:
        update_alerts(store, settings.config_dir)
    except Exception:
        log.exception("alert detection failed; watch continues")
    finally:
        store.close()


def _monthly_report(settings: Settings) -> None:
    """The previous month's report, once, when config/reports.yaml asks for it."""
    from reports.scheduled import write_due_report

    store = settings.open_store()
    try:
        for line in write_due_report(store, settings.config_dir):
            click.echo(line)
    except Exception:
        log.exception("monthly report failed; watch continues")
    finally:
        store.close()
