"""Where things are: the config directory and the store URL, from options or environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG_DIR = REPO_ROOT / "config"
DEFAULT_DB = "cityradar.db"


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

    def open_store(self):  # -> search.Store (imported lazily: the CLI starts fast)
        from search import open_store

        return open_store(self.store_url)

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
