"""`cityradar demo`: build the SYNTHETIC calibrated corpus into a fresh store, tag it, detect
alerts, then show the alert table (--no-ui) or open the UI until Ctrl-C."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as day_time
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import click

from cityradar.records import Alert, Article

log = logging.getLogger(__name__)

DEMO_DB = "cityradar-demo.db"
DEMO_META_KEY = "demo.corpus"
DEMO_ES_PREFIX = "cityradar-demo"
BATCH_SIZE = 500
DEMO_START, DEMO_END = date(2019, 7, 1), date(2020, 6, 30)


@dataclass(slots=True)
class DemoRun:
    """What a demo build did and how long each step took (seconds)."""

    articles: int = 0
    tagged: int = 0
    stored: int = 0
    tag_failures: int = 0
    store_failures: int = 0
    alerts: list[Alert] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


# -- tagging, optionally in worker processes -------------------------------------------------

_worker_tagger: Any = None


def _init_tagger(config_dir: str) -> None:
    global _worker_tagger
    from nlp.pipeline import Tagger

    _worker_tagger = Tagger.from_config(Path(config_dir))


def _tag_batch(batch: list[Article]) -> tuple[list[Article], int]:
    """Tag a batch; if the batch fails, tag one by one and drop (and log) the broken ones."""
    try:
        return list(_worker_tagger.tag(batch)), 0
    except Exception as exc:
        log.warning("demo: tagging a batch of %d failed (%s); retrying one by one",
                    len(batch), exc)
    tagged: list[Article] = []
    failures = 0
    for article in batch:
        try:
            tagged.extend(_worker_tagger.tag([article]))
        except Exception as exc:
            failures += 1
            log.error("demo: cannot tag article %s (%s): %s", article.id, article.url, exc)
    return tagged, failures


def _batches(articles: Sequence[Article], size: int) -> Iterator[list[Article]]:
    iterator = iter(articles)
    while batch := list(islice(iterator, size)):
        yield batch


def _tagged_batches(articles: Sequence[Article], config_dir: Path,
                    workers: int) -> Iterator[tuple[list[Article], int]]:
    if workers <= 1:
        _init_tagger(str(config_dir))
        yield from map(_tag_batch, _batches(articles, BATCH_SIZE))
        return
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    context = multiprocessing.get_context(method)
    with context.Pool(workers, initializer=_init_tagger, initargs=(str(config_dir),)) as pool:
        yield from pool.imap(_tag_batch, _batches(articles, BATCH_SIZE))


# -- the build --------------------------------------------------------------------------------

def build_demo(
    store: Any,
    config_dir: Path,
    seed: int = 2020,
    scale: int = 100,
    workers: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoRun:
    """Generate, tag, store and detect; ``store`` should be fresh (see ``open_fresh_store``)."""
    from alerts.run_detection import update_alerts
    from ingest.demo_corpus import generate

    say = progress or (lambda _message: None)
    workers = workers or min(2, os.cpu_count() or 1)
    run = DemoRun()
    store.put_meta(DEMO_META_KEY, json.dumps({"seed": seed, "scale": scale, "synthetic": True}))

    started = time.perf_counter()
    articles = list(generate(seed=seed, scale=scale, start=DEMO_START, end=DEMO_END,
                             config_dir=config_dir))
    run.articles = len(articles)
    run.seconds["generate"] = time.perf_counter() - started
    say(f"generate: {run.articles} synthetic articles in {run.seconds['generate']:.1f} s")

    started = time.perf_counter()
    store_seconds = 0.0
    for tagged, failures in _tagged_batches(articles, config_dir, workers):
        run.tagged += len(tagged)
        run.tag_failures += failures
        upsert_started = time.perf_counter()
        result = store.upsert_articles(tagged)
        store_seconds += time.perf_counter() - upsert_started
        run.stored += result.inserted + result.updated
        run.store_failures += len(result.failed)
        for article_id, reason in result.failed[:5]:
            log.error("demo: article %s not stored: %s", article_id, reason)
        done = run.tagged + run.tag_failures
        rate = done / max(time.perf_counter() - started, 1e-9)
        say(f"tag+store: {done}/{run.articles} articles ({rate:.0f}/s, {workers} workers)")
    run.seconds["tag"] = time.perf_counter() - started - store_seconds
    run.seconds["store"] = store_seconds
    say(f"tag: {run.seconds['tag']:.1f} s; store: {store_seconds:.1f} s "
        f"({run.stored} stored, {run.tag_failures + run.store_failures} failed)")

    started = time.perf_counter()
    now = datetime.combine(DEMO_END, day_time(23, 59), UTC)
    update_alerts(store, config_dir, since=None, now=now)
    run.alerts = store.list_alerts(limit=10_000)
    run.seconds["detect"] = time.perf_counter() - started
    say(f"detect: {len(run.alerts)} alert episodes in {run.seconds['detect']:.1f} s")
    return run


# -- the store ------------------------------------------------------------------------------

def _sqlite_path(url: str) -> Path | None:
    if url.startswith(("http://", "https://")):
        return None
    return Path(url.removeprefix("sqlite:///"))


def _is_demo_store(url: str) -> tuple[bool, str]:
    """(is it a demo store, a description for the refusal message)."""
    from search import open_store

    try:  # read-only where the backend allows it: looking must not change a foreign file
        store = open_store(url, readonly=True) if _sqlite_path(url) else open_store(url)
    except Exception as exc:
        return False, f"something that is not a CityRadar store ({exc})"
    try:
        if store.get_meta(DEMO_META_KEY):
            return True, "a demo store"
        count = store.count()
        return count == 0, f"a store with {count} articles that is not a demo store"
    except Exception as exc:
        return False, f"something that is not a CityRadar demo store ({exc})"
    finally:
        store.close()


def open_fresh_store(url: str, force: bool = False) -> Any:
    """Open ``url`` empty: an earlier demo store is replaced; anything else needs ``force``."""
    from search import open_store

    path = _sqlite_path(url)
    if path is None:
        return _fresh_elasticsearch_store(url, force)
    if path.exists():
        is_demo, what = _is_demo_store(url)
        if not is_demo and not force:
            raise click.ClickException(
                f"{path} holds {what}; refusing to overwrite it (give another --db, or --force)"
            )
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    return open_store(url)


def demo_elasticsearch_url(url: str) -> str:
    """The demo's own index prefix (``cityradar-demo``) unless the URL or env names one."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if query.get("prefix") or os.environ.get("CITYRADAR_ES_INDEX_PREFIX"):
        return url
    query["prefix"] = DEMO_ES_PREFIX
    return urlunsplit(parts._replace(query=urlencode(query)))


def _fresh_elasticsearch_store(url: str, force: bool) -> Any:
    """Drop this prefix's indices if they hold a demo (or nothing); else only with ``force``."""
    from search import open_store

    store = open_store(url)
    try:
        health = store.health()
        if not health.get("ok"):
            raise click.ClickException(f"cannot use {url}: {health.get('detail')}")
        prefix = store.index_prefix
        count = store.count()
        is_demo = bool(store.get_meta(DEMO_META_KEY)) or (
            count == 0 and not store.list_alerts(limit=1))
        if not is_demo and not force:
            raise click.ClickException(
                f"{url} holds {count} articles in the non-demo indices {prefix}-*; refusing to "
                "replace them (name another index prefix with ?prefix=NAME, or --force)")
        if count or not is_demo:
            log.warning("demo: deleting the indices %s-* at %s (%d articles)", prefix,
                        store.url, count)
        store.drop_indices()
    except click.ClickException:
        store.close()
        raise
    except Exception as exc:
        store.close()
        raise click.ClickException(f"cannot prepare the demo indices at {url}: {exc}") from exc
    store.close()
    return open_store(url)


def _demo_store_url(ctx: click.Context, db: str | None) -> str:
    """The demo's own --db, else the global --db/--store (or env), else ./cityradar-demo.db."""
    if db:
        return f"sqlite:///{db}"
    root = ctx.find_root()
    explicit = root.params.get("db") or root.params.get("store") or any(
        os.environ.get(name) for name in ("CITYRADAR_STORE", "CITYRADAR_DB")
    )
    url = ctx.obj.store_url if explicit else f"sqlite:///{DEMO_DB}"
    return url if _sqlite_path(url) else demo_elasticsearch_url(url)


# -- output ---------------------------------------------------------------------------------

ALERT_COLUMNS = ("city", "kind", "group", "start", "peak", "end", "observed", "expected",
                 "severity")


def alert_table(alerts: Sequence[Alert]) -> str:
    rows = [
        (a.city, a.kind, a.language_group, a.start.isoformat(), a.peak.isoformat(),
         a.end.isoformat(), f"{a.observed:.0f}", f"{a.expected:.1f}", f"{a.severity:.2f}")
        for a in sorted(alerts, key=lambda a: (a.city, a.start, a.kind, a.language_group))
    ]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(ALERT_COLUMNS)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(ALERT_COLUMNS, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def _serve_ui(store_url: str, config_dir: Path, port: int | None) -> None:
    from ui.launch import launch

    started = time.perf_counter()
    try:
        process, url = launch(store_url, config_dir, port=port, open_browser=False)
    except Exception as exc:
        raise click.ClickException(f"cannot start the UI: {str(exc).splitlines()[0]}") from exc
    click.echo(f"ui: started in {time.perf_counter() - started:.1f} s")
    click.echo(f"CityRadar demo UI: {url}   (Ctrl-C to stop)")
    # SIGTERM (kill, service managers) must stop the server too, not orphan it.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while process.poll() is None:
            time.sleep(0.5)
        raise click.ClickException(f"the UI stopped unexpectedly (exit {process.returncode})")
    except KeyboardInterrupt:
        click.echo("stopping the UI…", err=True)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except Exception:
                process.kill()
                process.wait()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


@click.command("demo")
@click.option("--db", metavar="PATH",
              help=f"SQLite file for the demo store (default: ./{DEMO_DB}, or the global "
                   "--db/--store).")
@click.option("--no-ui", is_flag=True, help="Print the alert episodes and exit.")
@click.option("--scale", type=click.IntRange(min=1), default=100, show_default=True,
              help="1:N of the study's report volumes (100 = about 20,000 articles).")
@click.option("--seed", type=int, default=2020, show_default=True,
              help="Random seed of the synthetic corpus (same seed, same articles).")
@click.option("--port", type=click.IntRange(1, 65535), help="UI port (default: a free one).")
@click.option("--workers", type=click.IntRange(min=1),
              help="Tagging processes (default: up to 2).")
@click.option("--force", is_flag=True, help="Overwrite a store that is not a demo store.")
@click.pass_context
def demo(ctx: click.Context, db: str | None, no_ui: bool, scale: int, seed: int,
         port: int | None, workers: int | None, force: bool) -> None:
    """Build the calibrated SYNTHETIC demo corpus (the Wuhan/Beijing 2020 pattern), tag it,
    store it, detect alerts, then open the UI (or print the alerts with --no-ui)."""
    settings = ctx.obj
    store_url = _demo_store_url(ctx, db)
    started = time.perf_counter()
    store = open_fresh_store(store_url, force=force)
    click.echo(f"demo store: {store_url}", err=True)
    try:
        run = build_demo(store, settings.config_dir, seed=seed, scale=scale,
                         workers=workers, progress=lambda m: click.echo(m, err=True))
    except click.ClickException:
        raise
    except ImportError as exc:
        raise click.ClickException(
            f"the demo needs the module {exc.name}, which is not available: {exc}"
        ) from exc
    except Exception as exc:
        log.exception("demo build failed")
        raise click.ClickException(f"demo build failed: {exc}") from exc
    finally:
        store.close()
    steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in run.seconds.items())
    click.echo(f"timings: {steps}; total {time.perf_counter() - started:.1f} s", err=True)
    if run.tag_failures or run.store_failures:
        click.echo(f"warning: {run.tag_failures} articles not tagged, "
                   f"{run.store_failures} not stored (see the log)", err=True)
    if no_ui:
        click.echo(alert_table(run.alerts))
        return
    _serve_ui(store_url, settings.config_dir, port)


def register(cli: click.Group) -> None:
    cli.add_command(demo)
