"""`cityradar translate`: machine-translate stored headlines (and summaries on demand)."""

from __future__ import annotations

import click

from cityradar.settings import Settings

BATCH = 256


@click.command("translate")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]),
              help="Only articles published on or after this day (YYYY-MM-DD).")
@click.option("--city", "cities", multiple=True, metavar="ID")
@click.option("--language", "languages", multiple=True, metavar="CODE",
              help="Only articles in this language (repeatable).")
@click.option("--summaries", is_flag=True, help="Translate the summaries too.")
@click.pass_obj
def translate(settings: Settings, since, cities: tuple[str, ...],
              languages: tuple[str, ...], summaries: bool) -> None:
    """Translate the titles of stored foreign-language articles into the target language
    (nlp.yaml translation); stored with each article and the model's name, done once per
    model."""
    from cityradar.config import ConfigError
    from nlp.translation import translate_articles, translator_from_config
    from search.store import ArticleFilter

    try:
        translator = translator_from_config(settings.config_dir)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if translator is None:
        raise click.ClickException(
            "translation is off (nlp.yaml translation.backend: none); set a backend "
            "and models first")
    filters = ArticleFilter(cities=cities, languages=languages,
                            date_from=since.date() if since else None)
    store = settings.open_store()
    seen = done = 0
    try:
        batch = []
        for article in store.iter_articles(filters):
            seen += 1
            batch.append(article)
            if len(batch) >= BATCH:
                done += _flush(store, translate_articles(batch, translator, summaries))
                batch = []
        if batch:
            done += _flush(store, translate_articles(batch, translator, summaries))
    except ConfigError as exc:  # a model that is not there: one line, what to do
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    click.echo(f"translated {done} of {seen} article(s) into "
               f"{translator.settings.target} (the rest were in the target language or "
               "already translated)")


def register(cli: click.Group) -> None:
    cli.add_command(translate)


def _flush(store, articles) -> int:
    if articles:
        store.upsert_articles(articles)
    return len(articles)
