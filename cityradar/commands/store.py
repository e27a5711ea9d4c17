"""``cityradar migrate``: copy everything from one store to another (either direction)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from search.store import Store, StoreError, UpsertResult

log = logging.getLogger(__name__)


def migrate(source: Store, target: Store, batch_size: int = 1000,
            progress: Any = None) -> dict[str, int]:
    """Copy articles (in batches), alerts, fetch state, source health and meta.

    Returns counts per kind. Raises StoreError when the target refused or lost articles.
    ``progress`` is called with (articles copied so far, articles in the source).
    """
    total = source.count()
    copied = failed = spooled = 0
    batch = []

    def flush() -> None:
        nonlocal copied, failed, spooled
        result: UpsertResult = target.upsert_articles(batch)
        for article_id, reason in result.failed:
            log.error("migrate: article %s not copied: %s", article_id, reason)
        copied += len(batch) - len(result.failed)
        failed += len(result.failed)
        spooled += result.spooled
        batch.clear()
        if progress:
            progress(copied + failed, total)

    for article in source.iter_articles(batch_size=batch_size):
        batch.append(article)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()

    alerts = source.list_alerts(limit=10_000_000)
    for alert in alerts:
        target.upsert_alert(alert)
    health = source.list_source_health()
    for record in health:
        target.put_source_health(record)
    meta = _copy_meta(source, target)
    fetch_state_count = _copy_fetch_state(source, target)

    counts = {"articles": copied, "failed": failed, "spooled": spooled, "alerts": len(alerts),
              "source_health": len(health), "meta": meta, "fetch_state": fetch_state_count}
    if failed:
        raise StoreError(f"migrate: {failed} of {total} articles were refused by the target "
                         "(see the log for ids and reasons)")
    if spooled:
        raise StoreError(f"migrate: target unreachable, {spooled} articles spooled; run again "
                         "when it answers")
    landed = target.count()
    if landed < total:
        raise StoreError(f"migrate: count check failed: source has {total} articles, target "
                         f"{landed}")
    return counts


_INTERNAL_META = ("cityradar.schema_version",)


def _copy_meta(source: Store, target: Store) -> int:
    copied = 0
    for key, value in source.list_meta().items():
        if key not in _INTERNAL_META:
            target.put_meta(key, value)
            copied += 1
    return copied


def _copy_fetch_state(source: Store, target: Store) -> int:
    states = list(source.list_fetch_state())
    for state in states:
        target.put_fetch_state(state)
    return len(states)


@click.command("migrate")
@click.option("--from", "source_url", required=True, metavar="URL",
              help="Source store: sqlite:///path.db or http(s)://es-host:9200.")
@click.option("--to", "target_url", required=True, metavar="URL",
              help="Target store: sqlite:///path.db or http(s)://es-host:9200.")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 50_000))
def migrate_command(source_url: str, target_url: str, batch_size: int) -> None:
    """Copy articles, alerts, fetch state, source health and metadata between stores."""
    from search import open_store

    if source_url == target_url:
        raise click.UsageError("--from and --to name the same store")
    if not source_url.startswith(("http://", "https://")):
        source_path = Path(source_url.removeprefix("sqlite:///"))
        if not source_path.is_file():
            raise click.UsageError(f"source store {source_path} does not exist")
    try:
        source = open_store(source_url)
    except StoreError as exc:
        raise click.ClickException(f"cannot open source: {exc}") from exc
    try:
        target = open_store(target_url)
    except StoreError as exc:
        source.close()
        raise click.ClickException(f"cannot open target: {exc}") from exc
    try:
        health = source.health()
        if not health.get("ok"):
            raise click.ClickException(f"source not usable: {health.get('detail')}")

        def progress(done: int, total: int) -> None:
            click.echo(f"articles {done}/{total}", err=True)

        counts = migrate(source, target, batch_size=batch_size, progress=progress)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        source.close()
        target.close()
    click.echo(
        "migrated " + ", ".join(f"{count} {kind.replace('_', ' ')}"
                                for kind, count in counts.items()
                                if kind not in ("failed", "spooled"))
        + f"; count check ok ({counts['articles']} articles)"
    )


def register(cli: click.Group) -> None:
    cli.add_command(migrate_command)
