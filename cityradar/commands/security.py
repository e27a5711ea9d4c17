"""`cityradar users add|list`: the UI's sign-in users file (see ui/auth.py, docs/security.md)."""

from __future__ import annotations

import os
from pathlib import Path

import click


@click.group()
def users() -> None:
    """Manage who may sign in to the UI (a users file of scrypt password hashes)."""

@users.command("add")
@click.argument("name")
@click.option("--file", "path", type=click.Path(dir_okay=False, path_type=Path),
              default=lambda: os.environ.get("CITYRADAR_AUTH_FILE") or "users.yaml",
              show_default="$CITYRADAR_AUTH_FILE or users.yaml",
              help="The users file the UI reads (CITYRADAR_AUTH_FILE).")
@click.password_option("--password", help="Prompted (hidden, twice) when not given.")
def add(name: str, path: Path, password: str) -> None:
    """Add NAME (or set a new password for NAME)."""
    from ui.auth import AuthConfigError, save_user

    if not name.strip() or any(c.isspace() for c in name):
        raise click.UsageError("NAME: one word, no spaces")
    try:
        save_user(path, name, password)
    except AuthConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{name}: password set in {path} (scrypt hash; file mode 0600)")

@users.command("list")
@click.option("--file", "path", type=click.Path(dir_okay=False, path_type=Path),
              default=lambda: os.environ.get("CITYRADAR_AUTH_FILE") or "users.yaml")
def list_users(path: Path) -> None:
    """The user names in the users file (never the hashes)."""
    from ui.auth import AuthConfigError, load_users

    try:
        names = sorted(load_users(path))
    except AuthConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    for name in names:
        click.echo(name)


def register(cli: click.Group) -> None:
    cli.add_command(users)
