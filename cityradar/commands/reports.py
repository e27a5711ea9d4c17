"""`cityradar report` and `cityradar index`: part of the design's CLI contract, not built yet."""

from __future__ import annotations

import sys

import click

NOT_BUILT = "not built yet (no issue has scheduled the monthly report and the CICII index)"


def _not_built(name: str) -> None:
    click.echo(f"cityradar {name}: {NOT_BUILT}", err=True)
    sys.exit(2)


def register(cli: click.Group) -> None:
    @cli.group()
    def report() -> None:
        """Reports for leadership (monthly coverage per city). Not built yet."""

    @report.command("monthly")
    @click.option("--month", metavar="YYYY-MM", required=True)
    @click.option("--format", "fmt", type=click.Choice(["html", "pdf", "md"]), default="html")
    @click.option("--out", metavar="PATH")
    def monthly(month: str, fmt: str, out: str | None) -> None:
        """Monthly report per city: volume by language, change, tone, topics, ranking."""
        _not_built("report monthly")

    @cli.group()
    def index() -> None:
        """Influence indices. Not built yet."""

    @index.command("cicii")
    @click.option("--indicators", metavar="CSV", required=True)
    @click.option("--benchmarks", metavar="CSV")
    @click.option("--json", "as_json", is_flag=True)
    def cicii(indicators: str, benchmarks: str | None, as_json: bool) -> None:
        """City International Communication Influence Index from indicator counts."""
        _not_built("index cicii")
