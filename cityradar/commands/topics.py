"""`cityradar topics`: the planners' topic x market matrix, changes and pick-ups
(reports/planner.py)."""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import asdict
from typing import Any

import click

from cityradar.commands.alerts import _parse_day, _store


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _table(plan: Any, pickups: dict[str, list[Any]]) -> str:
    from reports.pickups import pickups_by_country
    from reports.planner import market_summary

    lines = [
        f"Foreign coverage by {plan.by}: {plan.start} .. {plan.end} "
        f"(compared with {plan.compare_start} .. {plan.compare_end})",
        f"Trend test: {plan.test}.",
        "Columns: reports in the period, before = in the comparison period, tone = mean tone "
        "(-1 negative .. +1 positive), neg = share of negative reports.",
    ]
    for city in plan.cities:
        lines.append("")
        lines.append(f"== {city} ==")
        for market in market_summary(plan, city):
            lines.append(f"{market['market']}: {market['count']} topic mentions "
                         "(a report with two topics counts for each)")
            lines.append(f"  {'kind':<11} {'topic':<24} {'reports':>7} {'before':>7} "
                         f"{'tone':>5} {'neg':>4}  trend")
            for kind in ("opportunity", "neutral", "risk"):
                for row in market[kind]:
                    tone = "" if row["mean_tone"] is None else f"{row['mean_tone']:+.2f}"
                    lines.append(
                        f"  {kind:<11} {row['label']:<24} {row['count']:>7} "
                        f"{row['compare_count']:>7} {tone:>5} "
                        f"{row['share_negative']:>4.0%}  {row['trend']}".rstrip()
                    )
            if market["falling"]:
                lines.append(f"  falling: {', '.join(market['falling'])}")
        found = pickups.get(city, [])
        lines.append(f"Own-voice stories picked up abroad: {_plural(len(found), 'report')}")
        for row in pickups_by_country(found):
            lines.append(f"  {row['country']:<8} {_plural(row['reports'], 'report')} of "
                         f"{_plural(row['own_stories'], 'own-voice story')}, median lag "
                         f"{row['median_lag_days']:g} days".replace("storys", "stories"))
        for pickup in found[:10]:
            lines.append(f"  +{pickup.lag_days}d {pickup.country} {pickup.outlet}: "
                         f"{pickup.headline!r} <- {pickup.own_outlet}: {pickup.own_headline!r}")
    return "\n".join(lines)


@click.command()
@click.option("--city", "cities", multiple=True, required=True, metavar="ID",
              help="City id (repeat to compare peers; the first one picks the markets).")
@click.option("--from", "date_from", metavar="DATE",
              help="First day (default: the last three calendar months of data).")
@click.option("--to", "date_to", metavar="DATE", help="Last day (default: last data day).")
@click.option("--by", type=click.Choice(["country", "language"]), default="country",
              show_default=True, help="Market = outlet country or article language.")
@click.option("--compare-from", metavar="DATE",
              help="Comparison period start (default: the previous period of same length).")
@click.option("--compare-to", metavar="DATE", help="Comparison period end.")
@click.option("--markets", default=8, show_default=True, type=click.IntRange(1, 100),
              help="How many top markets to show.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]),
              default="table", show_default=True)
@click.pass_context
def topics(ctx: click.Context, cities: tuple[str, ...], date_from: str | None,
           date_to: str | None,
           by: str, compare_from: str | None, compare_to: str | None, markets: int,
           fmt: str) -> None:
    """Which topics foreign media cover about a city, per market, with what tone, rising or
    falling against a comparison period, and the city's own stories picked up abroad."""
    from cityradar.config import ConfigError
    from nlp.gazetteer import load_cities
    from reports.pickups import find_pickups, pickups_by_country
    from reports.planner import build_plan, default_period, market_summary, peer_rows, topic_catalog
    from search.export import spreadsheet_safe
    from search.store import ArticleFilter, StoreError

    start, end = _parse_day(date_from, "--from"), _parse_day(date_to, "--to")
    compare_start = _parse_day(compare_from, "--compare-from")
    compare_end = _parse_day(compare_to, "--compare-to")
    if (compare_start is None) != (compare_end is None):
        raise click.UsageError("give both --compare-from and --compare-to, or neither")
    try:
        known = {c.id for c in load_cities(ctx.obj.config_dir)}
        catalog = topic_catalog(ctx.obj.config_dir)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    unknown = [c for c in cities if c not in known]
    if unknown:
        raise click.UsageError(f"--city: unknown city {', '.join(unknown)} "
                               f"(known: {', '.join(sorted(known))})")
    store = _store(ctx)
    try:
        if start is None or end is None:
            span = store.date_range(ArticleFilter(cities=list(cities)))
            if span is None:
                raise click.ClickException(f"no dated coverage of {', '.join(cities)} "
                                           "in the store")
            last = end or span[1]
            start = start or default_period(last)[0]
            end = last
        plan = build_plan(store, cities, start, end, compare_start, compare_end,
                          by=by, top_markets=markets, topics=catalog)  # type: ignore[arg-type]
        pickups = {city: find_pickups(store, city, start, end,
                                      config_dir=ctx.obj.config_dir)
                   for city in plan.cities}
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    except StoreError as exc:
        raise click.ClickException(f"store {ctx.obj.store_url}: {exc}") from exc
    finally:
        store.close()
    if fmt == "json":
        doc = {
            "cities": plan.cities, "by": plan.by, "voice": plan.voice,
            "period": [plan.start.isoformat(), plan.end.isoformat()],
            "comparison": [plan.compare_start.isoformat(), plan.compare_end.isoformat()],
            "test": plan.test,
            "markets": {city: market_summary(plan, city) for city in plan.cities},
            "peers": peer_rows(plan),
            "picked_up": {city: [asdict(p) for p in found]
                          for city, found in pickups.items()},
            "picked_up_by_country": {city: pickups_by_country(found)
                                     for city, found in pickups.items()},
        }
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        rows = [c.as_row() for c in plan.cells]
        fields = list(rows[0]) if rows else ["city", "market", "topic", "count"]
        writer = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})
    else:
        click.echo(_table(plan, pickups))


def register(cli: click.Group) -> None:
    cli.add_command(topics)
