"""`cityradar report monthly` and `cityradar index cicii`."""

from __future__ import annotations

import json
import logging
import sys
from datetime import date
from pathlib import Path

import click

from cityradar.config import ConfigError
from cityradar.settings import Settings

log = logging.getLogger(__name__)


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"invalid date {value!r}: expected YYYY-MM-DD",
                                 param_hint=option) from None


@click.group()
def report() -> None:
    """Reports for leadership (monthly coverage per city, ranking, tone, topics)."""

@report.command("monthly")
@click.option("--month", metavar="YYYY-MM", required=True)
@click.option("--format", "fmt", type=click.Choice(["html", "pdf", "md"]), default="html",
              show_default=True)
@click.option("--out", metavar="PATH",
              help="File to write (default: cityradar-report-YYYY-MM.<format> here); "
                   "'-' writes html/md to standard output.")
@click.option("--city", "cities", multiple=True, metavar="ID",
              help="Only this city (repeatable). Default: every watched city.")
@click.option("--voice", type=click.Choice(["foreign", "own", "all"]), default="foreign",
              show_default=True, help="Foreign media, the cities' own channels, or both.")
@click.pass_obj
def monthly(settings: Settings, month: str, fmt: str, out: str | None,
            cities: tuple[str, ...], voice: str) -> None:
    """Monthly report: summary, city ranking, per-city trends, tone, topics, alerts."""
    from reports.monthly import build_report, render_html, render_markdown
    from reports.output import write_report
    from reports.ranking import parse_month

    try:
        first = parse_month(month)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from None
    if out == "-" and fmt == "pdf":
        raise click.BadParameter("a PDF cannot go to standard output; give a file",
                                 param_hint="--out")
    store = settings.open_store()
    try:
        report = build_report(store, settings.config_dir, first, cities, voice,
                              charts=fmt != "md")
    except (ValueError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    if out == "-":
        sys.stdout.write(render_html(report) if fmt == "html" else render_markdown(report))
        return
    path = Path(out) if out else Path(report.filename(fmt))
    try:
        write_report(report, fmt, path)
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from exc
    click.echo(f"{path}")
    for sentence in report.summary:
        click.echo(f"  {sentence}", err=True)


@click.group()
def index() -> None:
    """Influence indices (CICII, the City International Communication Influence Index)."""

@index.command("cicii")
@click.option("--from", "date_from", metavar="YYYY-MM-DD",
              help="Period start (needed unless --dimensions).")
@click.option("--to", "date_to", metavar="YYYY-MM-DD", help="Period end (inclusive).")
@click.option("--indicators", metavar="CSV",
              help="city,indicator,value rows: the non-media indicators (and overrides); "
                   "kept in the store for the period.")
@click.option("--benchmarks", metavar="CSV", help="indicator,benchmark rows: B per indicator.")
@click.option("--dimensions", metavar="CSV",
              help="city,media,social,innovation,cognition: totals from given scores.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.option("--out", metavar="PATH", help="Write the output to a file.")
@click.pass_obj
def cicii(settings: Settings, date_from: str | None, date_to: str | None,
          indicators: str | None, benchmarks: str | None, dimensions: str | None,
          as_json: bool, out: str | None) -> None:
    """City International Communication Influence Index per city: indicator and dimension
    scores, total, rank, tier, and the correlation of the totals with GDP."""
    from nlp.gazetteer import load_cities
    from reports import cicii as index_mod

    try:
        config = index_mod.CiciiConfig.load(settings.config_dir)
        cities = load_cities(settings.config_dir)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    names = index_mod.CityNames(cities)
    gdp = {c.id: c.gdp_2019 for c in cities}
    try:
        bench = (index_mod.read_benchmarks(benchmarks, config) if benchmarks else {})
        if dimensions:
            scores = index_mod.read_dimensions(dimensions, config, names)
            result = index_mod.from_dimensions(scores, config, gdp)
        else:
            if not date_from or not date_to:
                raise click.UsageError("give --from and --to (or --dimensions CSV)")
            start, end = _day(date_from, "--from"), _day(date_to, "--to")
            if end < start:
                raise click.BadParameter("--to is before --from", param_hint="--to")
            imported = (index_mod.read_indicators(indicators, config, names)
                        if indicators else None)
            store = settings.open_store()
            try:
                if imported is not None:
                    index_mod.store_indicators(store, start, end, imported,
                                               Path(indicators).name)  # type: ignore[arg-type]
                result = index_mod.index_for_period(
                    store, settings.config_dir, start, end, imported=imported,
                    benchmarks=bench)
            finally:
                store.close()
    except index_mod.CiciiInputError as exc:
        raise click.ClickException(str(exc)) from exc
    if dimensions and date_from and date_to:
        result.period = (_day(date_from, "--from"), _day(date_to, "--to"))
    label = {c.id: c.name for c in cities}
    text = (json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n" if as_json
            else _table(result, config, label))
    if out:
        try:
            Path(out).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from exc
        click.echo(out)
    else:
        click.echo(text, nl=False)


def register(cli: click.Group) -> None:
    cli.add_command(report)
    cli.add_command(index)


def _table(result, config, label: dict[str, str]) -> str:
    dims = [d.id for d in config.dimensions]
    lines = []
    if result.period:
        lines.append(f"CICII {result.period[0]} to {result.period[1]}"
                     + (f" (media indicators: {result.media_measure})"
                        if result.media_measure else ""))
    lines.append(f"{'rank':>4}  {'city':<12}" + "".join(f"{d:>12}" for d in dims)
                 + f"{'total':>9}{'tier':>6}")
    for city in result.cities:
        cells = "".join(
            f"{city.dimensions[d]:>12.2f}" if city.dimensions.get(d) is not None
            else f"{'missing':>12}" for d in dims)
        total = f"{city.total:>9.2f}" if city.total is not None else f"{'—':>9}"
        lines.append(f"{city.rank or '—':>4}  {label.get(city.city, city.city):<12}{cells}"
                     f"{total}{city.tier or '—':>6}")
    if result.mean_total is not None:
        lines.append(f"mean total {result.mean_total:.2f}")
    corr = result.gdp_correlation
    if corr.get("r") is not None:
        lines.append(f"correlation with GDP 2019: r = {corr['r']:.3f}, p = {corr['p']:.2g} "
                     f"({corr['n']} cities)")
    if result.missing:
        by_city: dict[str, list[str]] = {}
        for item in result.missing:
            by_city.setdefault(item["city"], []).append(item["indicator"])
        lines.append(f"missing values ({len(result.missing)}), no total for those cities:")
        for city, inds in by_city.items():
            lines.append(f"  {label.get(city, city)}: {', '.join(inds)}")
    return "\n".join(lines) + "\n"
