"""Where things are: the config directory and the store URL, from options or environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def shipped_config_dir() -> Path:
    """The shipped configuration: ``config/`` of a checkout (or an editable install), else the
    copy that a non-editable install (``pip install .``) carries as ``cityradar/_config``
    (setup.py copies ``config/`` there when building the wheel)."""
    installed = Path(__file__).resolve().parent / "_config"
    return installed if installed.is_dir() else REPO_ROOT / "config"


DEFAULT_CONFIG_DIR = shipped_config_dir()
DEFAULT_DB = "cityradar.db"


# The passwords .env.example ships with: a deployment still using one is refused at start.
PLACEHOLDER_PREFIX = "change-me"
PASSWORD_ENVS = ("CITYRADAR_ES_PASSWORD", "ELASTIC_PASSWORD")


def check_placeholder_password() -> None:
    """A one-line ``click.ClickException`` when a store password is the .env.example one."""
    import click

    for name in PASSWORD_ENVS:
        if os.environ.get(name, "").startswith(PLACEHOLDER_PREFIX):
            raise click.ClickException(
                f"{name} is the placeholder from .env.example: set a real password in .env "
                "(docs/production.md)")


@dataclass(slots=True)
class Settings:
    config_dir: Path
    store_url: str

    @classmethod
    def resolve(
        cls, config_dir: str | None = None, db: str | None = None, store: str | None = None
    ) -> Settings:
        """Options win over environment (CITYRADAR_CONFIG, CITYRADAR_STORE, CITYRADAR_DB)."""
        directory = Path(config_dir or os.environ.get("CITYRADAR_CONFIG") or DEFAULT_CONFIG_DIR)
        if store:
            url = store
        elif db:
            url = f"sqlite:///{db}"
        elif os.environ.get("CITYRADAR_STORE"):
            url = os.environ["CITYRADAR_STORE"]
        else:
            url = f"sqlite:///{os.environ.get('CITYRADAR_DB', DEFAULT_DB)}"
        return cls(config_dir=directory, store_url=url)

    def sqlite_path(self) -> Path | None:
        """The SQLite file of the store URL, or None for Elasticsearch."""
        if self.store_url.startswith(("http://", "https://")):
            return None
        return Path(self.store_url.removeprefix("sqlite:///"))

    def open_store(self, *, must_exist: bool = False):  # -> search.Store (imported lazily)
        """The one way every command opens its store. Any failure is a one-line
        ``click.ClickException`` naming the store (credentials masked), never a traceback.

        A SQLite file is only created in a directory that exists (a mistyped ``--db``
        directory is an error, not a new empty store); with ``must_exist`` (commands that only
        read or update what is stored: ``alerts``, ``detect``, ``dedupe``) the
        file must exist too.
        """
        import sqlite3

        import click

        from search import open_store
        from search.store import StoreError
        from search.urls import redact_text, redact_url

        shown = redact_url(self.store_url)
        path = self.sqlite_path()
        if path is None:
            check_placeholder_password()
        if path is not None:
            if not path.parent.is_dir():
                raise click.ClickException(
                    f"cannot open store {path}: directory {path.parent} does not exist "
                    "(check --db / CITYRADAR_STORE)")
            if path.is_dir():
                raise click.ClickException(f"cannot open store {path}: it is a directory")
            if must_exist and not path.exists():
                raise click.ClickException(
                    f"no store at {path} (check --db / CITYRADAR_STORE; `cityradar ingest`, "
                    "`import` or `demo` creates one)")
        try:
            return open_store(self.store_url)
        except (StoreError, OSError, sqlite3.Error, ValueError) as exc:
            reason = " ".join(redact_text(str(exc), self.store_url).split()) or type(
                exc).__name__
            where = "" if shown.removeprefix("sqlite:///") in reason else f" {shown}"
            raise click.ClickException(f"cannot open store{where}: {reason[:300]}") from exc

    def tagger(self, enabled: bool = True):  # -> Callable[[list[Article]], list[Article]] | None
        """The NLP stage's ``Tagger.tag`` for this config, or None when tagging is turned off.

        A bad NLP configuration is a one-line ``click.ClickException``.
        """
        if not enabled:
            return None
        import click

        from cityradar.config import ConfigError
        from nlp.pipeline import Tagger

        try:
            return Tagger.from_config(self.config_dir).tag
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from exc
