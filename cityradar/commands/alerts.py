"""`cityradar detect`, `cityradar backtest` and `cityradar alerts list|show|ack|resolve`."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import click

from cityradar.records import ALERT_KINDS, ALERT_STATUSES, Alert


def _parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.UsageError(f"{option}: {value!r} is not a date (YYYY-MM-DD)") from None


def _load_config(config_dir: Path):
    from alerts.detectors import DetectorConfig
    from cityradar.config import ConfigError

    try:
        return DetectorConfig.load(config_dir)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def _store(ctx: click.Context):
    return ctx.obj.open_store(must_exist=True)


def _alert_line(alert: Alert) -> str:
    return (f"{alert.id}  {alert.status:<12} {alert.city:<10} {alert.kind:<15} "
            f"{alert.start} .. {alert.end}  peak {alert.peak} "
            f"{alert.observed:g}/{alert.expected:.1f}  severity {alert.severity:.1f}")


def _get_alert(store, alert_id: str) -> Alert:
    alert = store.get_alert(alert_id)
    if alert is None:
        raise click.ClickException(f"no alert with id {alert_id!r} (see `cityradar alerts list`)")
    return alert


@click.command()
@click.option("--since", metavar="DATE", help="Only episodes running on or after DATE.")
@click.pass_context
def detect(ctx: click.Context, since: str | None) -> None:
    """Update alert episodes from stored data (idempotent)."""
    from alerts.notifiers import NotifyConfig, notify_alerts
    from alerts.run_detection import summarize, update_alerts
    from cityradar.config import ConfigError
    from search.store import StoreError

    since_day = _parse_day(since, "--since")
    _load_config(ctx.obj.config_dir)
    try:
        NotifyConfig.load(ctx.obj.config_dir)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    store = _store(ctx)
    try:
        written = update_alerts(store, ctx.obj.config_dir, since=since_day)
        notified = notify_alerts(store, ctx.obj.config_dir, written)
    except (StoreError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    summary = summarize(written)
    click.echo(f"detect: {summary.get('opened', 0)} episodes opened, "
               f"{len(written) - summary.get('opened', 0)} updated")
    for alert in written:
        click.echo(f"  {alert.history[-1].what:<10.10} {_alert_line(alert)}")
    if notified:
        failed = sum(not n.ok for n in notified)
        click.echo(f"notify: {len(notified) - failed} sent, {failed} failed")
        for notification in notified:
            click.echo(f"  {notification.line()}")


@click.command()
@click.argument("series", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per episode.")
@click.option("--config", "config_dir", metavar="DIR", type=click.Path(path_type=Path),
              help="Configuration directory with alerts.yaml (default: the global --config).")
@click.pass_context
def backtest(ctx: click.Context, series: Path, as_json: bool, config_dir: Path | None) -> None:
    """Run the detectors over a count series CSV (date,city,count[,negative])."""
    from alerts.backtest import SeriesFileError, format_table, json_lines, read_series_csv
    from alerts.backtest import backtest as run_backtest

    config = _load_config(config_dir or ctx.obj.config_dir)
    try:
        series_by_city = read_series_csv(series)
    except SeriesFileError as exc:
        raise click.ClickException(str(exc)) from exc
    rows = run_backtest(series_by_city, config)
    if as_json:
        for line in json_lines(rows):
            click.echo(line)
    else:
        click.echo(format_table(rows))


@click.group()
def alerts() -> None:
    """The alert inbox: list, show and triage alert episodes."""

@alerts.command("list")
@click.option("--status", type=click.Choice(ALERT_STATUSES), multiple=True)
@click.option("--city", multiple=True, metavar="CITY")
@click.option("--kind", type=click.Choice(ALERT_KINDS), multiple=True)
@click.option("--since", metavar="DATE", help="Episodes ending on or after DATE.")
@click.option("--limit", type=click.IntRange(min=1), default=500, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per alert.")
@click.pass_context
def list_alerts(ctx: click.Context, status: tuple[str, ...], city: tuple[str, ...],
                kind: tuple[str, ...], since: str | None, limit: int, as_json: bool) -> None:
    """Alert episodes, newest first."""
    since_day = _parse_day(since, "--since")
    store = _store(ctx)
    try:
        found = store.list_alerts(cities=city, kinds=kind, statuses=status, since=since_day,
                                  limit=limit)
    finally:
        store.close()
    if as_json:
        for alert in found:
            click.echo(json.dumps(alert.to_dict(), ensure_ascii=False))
        return
    if not found:
        click.echo("no alerts")
    for alert in found:
        click.echo(_alert_line(alert))

@alerts.command()
@click.argument("alert_id", metavar="ID")
@click.pass_context
def show(ctx: click.Context, alert_id: str) -> None:
    """One alert with its evidence and history, as JSON."""
    store = _store(ctx)
    try:
        alert = _get_alert(store, alert_id)
    finally:
        store.close()
    click.echo(json.dumps(alert.to_dict(), ensure_ascii=False, indent=2))

def _triage(ctx: click.Context, alert_id: str, status: str, note: str) -> None:
    from alerts.episodes import TransitionError, operator_name, transition

    store = _store(ctx)
    try:
        alert = _get_alert(store, alert_id)
        try:
            changed = transition(alert, status, note=note, by=operator_name())
        except TransitionError as exc:
            raise click.ClickException(str(exc)) from exc
        store.upsert_alert(changed)
    finally:
        store.close()
    click.echo(_alert_line(changed))

@alerts.command()
@click.argument("alert_id", metavar="ID")
@click.option("--note", default="", help="A note for the alert's history.")
@click.pass_context
def ack(ctx: click.Context, alert_id: str, note: str) -> None:
    """Acknowledge an alert (new -> acknowledged; reopens a resolved one)."""
    _triage(ctx, alert_id, "acknowledged", note)

@alerts.command()
@click.argument("alert_id", metavar="ID")
@click.option("--note", default="", help="A note for the alert's history.")
@click.pass_context
def resolve(ctx: click.Context, alert_id: str, note: str) -> None:
    """Resolve an acknowledged alert."""
    _triage(ctx, alert_id, "resolved", note)


def register(cli: click.Group) -> None:
    cli.add_command(detect)
    cli.add_command(backtest)
    cli.add_command(alerts)


def _user() -> str:
    return os.environ.get("CITYRADAR_USER") or os.environ.get("USER") or ""
