"""`cityradar models fetch`: download the configured sentiment model once, for offline use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click


@click.group("models")
def models() -> None:
    """Optional NLP models (the transformers sentiment backend)."""

@models.command("fetch")
@click.option("--model", "model_name", metavar="NAME",
              help="Hugging Face model name (default: sentiment.model in nlp.yaml).")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              help="Models directory. Env: CITYRADAR_MODELS_DIR "
                   "(default ~/.cache/cityradar/models).")
@click.option("--revision", metavar="REV", help="Branch, tag or commit to fetch.")
@click.option("--translation", is_flag=True,
              help="Fetch the translation models of nlp.yaml (translation.models).")
@click.pass_obj
def fetch(settings: Any, model_name: str | None, directory: Path | None,
          revision: str | None, translation: bool) -> None:
    """Download the sentiment model once; tagging then runs without internet access."""
    from cityradar.config import ConfigError
    from nlp.config_schema import nlp_section
    from nlp.models import DEFAULT_SENTIMENT_MODEL, ModelFetchError, fetch_model

    if translation:
        from nlp.translation import TranslationSettings

        try:
            names = TranslationSettings.from_config(settings.config_dir).models.values()
            for name in dict.fromkeys(names):
                click.echo(f"{name}: {fetch_model(name, directory, revision)}")
        except (ModelFetchError, ConfigError) as exc:
            raise click.ClickException(str(exc)) from exc
        return
    if not model_name:
        try:
            sentiment = nlp_section(settings.config_dir, "sentiment")
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from exc
        model_name = str(sentiment.get("model") or DEFAULT_SENTIMENT_MODEL)
    try:
        path = fetch_model(model_name, directory, revision)
    except (ModelFetchError, ConfigError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{model_name}: {path}")


def register(cli: click.Group) -> None:
    cli.add_command(models)
