"""The ``cityradar`` command. Thin: it parses options and wires the stages together.

Each area registers its commands from ``cityradar/commands/<area>.py``. Every command exits
non-zero with a one-line reason on bad input (``click.ClickException`` / ``UsageError``).
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from cityradar import __version__
from cityradar.settings import Settings

# Modules under cityradar/commands that each define ``register(cli)``.
COMMAND_MODULES = ("ingest", "nlp", "evaluation", "alerts", "demo", "reports", "ui", "store",
                   "models", "gdelt", "imports", "security", "fulltext", "export",
                   "translation", "topics")


class _Group(click.Group):
    """Store failures while a command runs (an Elasticsearch that stopped answering, a
    corrupt SQLite page) end the command with a one-line reason, credentials masked."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        from search.store import StoreError

        try:
            return super().invoke(ctx)
        except StoreError as exc:
            from search.urls import redact_text

            settings = ctx.obj
            text = " ".join(str(exc).split())
            if isinstance(settings, Settings):
                text = redact_text(text, settings.store_url)
            raise click.ClickException(f"store failed: {text[:300]}") from exc


@click.group(cls=_Group,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", metavar="PATH", help="SQLite store file (shorthand for --store sqlite:///PATH).")
@click.option(
    "--store",
    metavar="URL",
    help="Store URL: sqlite:///path.db or http(s)://es-host:9200. Env: CITYRADAR_STORE.",
)
@click.option(
    "--config", "config_dir", metavar="DIR", help="Configuration directory. Env: CITYRADAR_CONFIG."
)
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.version_option(__version__, prog_name="cityradar")
@click.pass_context
def cli(ctx: click.Context, db: str | None, store: str | None, config_dir: str | None,
        verbose: int) -> None:
    """CityRadar: overseas public-opinion risk monitor for cities.

    Pulls foreign-media coverage of watched cities, tags language, cities, topics and tone,
    stores it, and raises alerts on negative-opinion spikes and report-volume surges.
    """
    if db and store:
        raise click.UsageError("give --db or --store, not both")
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    ctx.obj = Settings.resolve(config_dir=config_dir, db=db, store=store)


class CommandModuleError(RuntimeError):
    """A module named in COMMAND_MODULES is missing or does not define ``register(cli)``."""


def register_commands(group: click.Group, modules: tuple[str, ...] = COMMAND_MODULES) -> None:
    """Add the commands of each ``cityradar.commands.<name>`` to ``group``; a missing module is
    an error (never silently skipped: the command would just vanish from the CLI)."""
    for name in modules:
        qualified = f"cityradar.commands.{name}"
        try:
            module = importlib.import_module(qualified)
        except ModuleNotFoundError as exc:
            if exc.name != qualified:
                raise  # a dependency of the module is missing: its own error says which
            raise CommandModuleError(
                f"{qualified} is listed in COMMAND_MODULES but does not exist") from exc
        register = getattr(module, "register", None)
        if not callable(register):
            raise CommandModuleError(f"{qualified} does not define register(cli)")
        register(group)


register_commands(cli)


def main() -> None:
    cli(prog_name="cityradar")


if __name__ == "__main__":
    main()
