"""`cityradar ui`: start the Streamlit app against the configured store."""

from __future__ import annotations

import logging
import os
import signal

import click

from cityradar.settings import Settings, check_placeholder_password

log = logging.getLogger(__name__)


@click.command("ui")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0: every interface, e.g. in a container).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: a free one).")
@click.option("--open/--no-open", "open_browser", default=False,
              help="Open the UI in the default web browser.")
@click.pass_obj
def ui(settings: Settings, host: str, port: int | None, open_browser: bool) -> None:
    """Start the Streamlit UI (on 127.0.0.1 unless --host) and serve until Ctrl-C."""
    from ui.launch import LaunchError, launch, stop

    if not settings.config_dir.is_dir():
        raise click.UsageError(f"config directory not found: {settings.config_dir}")
    from search.urls import redact_url
    from ui.auth import AUTH_FILE_ENV, AuthConfigError, load_users, login_required

    if login_required():  # production: refuse to serve without a usable users file
        path = os.environ.get(AUTH_FILE_ENV)
        if not path:
            raise click.ClickException(f"login is required but {AUTH_FILE_ENV} is not set "
                                       "(write one with `cityradar users add`)")
        try:
            load_users(path)
        except AuthConfigError as exc:
            raise click.ClickException(str(exc)) from exc
    check_placeholder_password()
    try:
        process, url = launch(settings.store_url, settings.config_dir, port=port,
                              open_browser=open_browser, host=host)
    except LaunchError as exc:
        log.warning("UI server stderr:\n%s", exc.stderr)
        raise click.ClickException(exc.one_line) from exc
    click.echo(f"CityRadar UI: {url}  (store {redact_url(settings.store_url)}; Ctrl-C to stop)")
    # SIGTERM (kill, service managers) must stop the server too, not orphan it.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        code = process.wait()
    except KeyboardInterrupt:
        click.echo("stopping the UI…", err=True)
        return
    finally:
        stop(process)
    if code != 0:
        raise click.ClickException(f"the UI server exited with code {code}")


def register(cli: click.Group) -> None:
    cli.add_command(ui)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt
