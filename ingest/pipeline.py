"""One ingest cycle: fetch -> parse -> normalize -> dedupe -> tag -> store, per source.

Ordering matters for crash safety: a source's articles are stored before its FetchState
(validators) is, so a run killed in between re-fetches the feed rather than losing items;
upserts are idempotent by article id, so the re-fetch duplicates nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cityradar.records import Article, FetchState, SourceHealth
from cityradar.settings import Settings
from ingest.feeds import parse_feed
from ingest.fetch import Fetcher, FetchResult
from ingest.normalize import date_warning, drop_repeated_urls, normalize_item, rejected_dates
from ingest.sources import FetchOptions, Source, SourcesConfig, load_sources
from ingest.syndication import IngestPreparer
from search.store import Store

log = logging.getLogger(__name__)

Tagger = Callable[[list[Article]], list[Article]]


@dataclass(slots=True)
class SourceReport:
    source_id: str
    seen: int = 0  # entries in the feed
    new: int = 0  # articles stored that were not stored before
    not_modified: bool = False
    error: str | None = None
    warning: str | None = None
    new_ids: list[str] = field(default_factory=list)  # for the full-text pass

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(slots=True)
class IngestReport:
    sources: list[SourceReport] = field(default_factory=list)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    elapsed_s: float = 0.0

    @property
    def seen(self) -> int:
        return sum(s.seen for s in self.sources)

    @property
    def new(self) -> int:
        return sum(s.new for s in self.sources)

    @property
    def failed(self) -> list[SourceReport]:
        return [s for s in self.sources if not s.ok]

    @property
    def all_failed(self) -> bool:
        return bool(self.sources) and len(self.failed) == len(self.sources)


def ingest_once(
    target: Settings | Path | str,
    store: Store | None = None,
    source_ids: Sequence[str] | None = None,
    tagger: Tagger | None = None,
    *,
    config: SourcesConfig | None = None,
    fetch_options: FetchOptions | None = None,
) -> IngestReport:
    """Pull every enabled source (or ``source_ids``) once into the store.

    ``target`` is a Settings (its store is opened and closed here unless ``store`` is given) or
    a config directory (then ``store`` is required). A failing source never stops the others:
    its error goes to the log, the report and its SourceHealth.
    """
    own_store = False
    if isinstance(target, Settings):
        config_dir = target.config_dir
        if store is None:
            store, own_store = target.open_store(), True
    else:
        config_dir = Path(target)
        if store is None:
            raise ValueError("ingest_once(config_dir, store): a store is required")
    try:
        config = config or load_sources(config_dir)
        sources = config.select(source_ids)
        # Outlet registry (outlet, country, voice) + syndication clustering, then the tagger.
        body_tagger = tagger
        tagger = IngestPreparer.from_config(config_dir, store).then(tagger)
        with Fetcher(fetch_options or config.fetch) as fetcher:
            report = _run(sources, store, fetcher, tagger)
            _full_text_pass(sources, report, store, fetcher, body_tagger)
        _translation_pass(config_dir, report, store)
        return report
    finally:
        if own_store:
            store.close()


def _run(sources: list[Source], store: Store, fetcher: Fetcher, tagger: Tagger | None
         ) -> IngestReport:
    report = IngestReport()
    by_url: dict[str, list[Source]] = {}
    for source in sources:
        by_url.setdefault(source.url, []).append(source)
    states = {url: store.get_fetch_state(url) for url in by_url}
    for result in fetcher.fetch_many((url, states[url]) for url in by_url):
        for source in by_url[result.url]:
            report.sources.append(_process(source, result, states[result.url], store, tagger))
    order = {s.id: i for i, s in enumerate(sources)}
    report.sources.sort(key=lambda r: order[r.source_id])
    report.elapsed_s = (datetime.now(UTC) - report.started_at).total_seconds()
    log.info("ingest: %d sources, %d seen, %d new, %d failed in %.1fs", len(report.sources),
             report.seen, report.new, len(report.failed), report.elapsed_s)
    return report


def _process(source: Source, result: FetchResult, previous: FetchState | None, store: Store,
             tagger: Tagger | None) -> SourceReport:
    outcome = SourceReport(source.id)
    try:
        content_hash = None
        if result.error:
            outcome.error = result.error
        elif result.not_modified:
            outcome.not_modified = True
        else:
            assert result.content is not None
            content_hash = hashlib.sha256(result.content).hexdigest()
            if previous is not None and previous.content_hash == content_hash:
                outcome.not_modified = True  # a server without validators sent the same bytes
            else:
                _store_feed(source, result, store, tagger, outcome)
        if outcome.error is None:
            store.put_fetch_state(result.next_state(previous, content_hash))
    except Exception as exc:  # one broken source must never stop the others
        log.exception("source %s failed", source.id)
        outcome.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
    if outcome.error:
        log.warning("source %s: %s", source.id, outcome.error)
    elif outcome.warning:
        log.warning("source %s: %s", source.id, outcome.warning)
    _record_health(store, source.id, outcome)
    return outcome


def _store_feed(source: Source, result: FetchResult, store: Store, tagger: Tagger | None,
                outcome: SourceReport) -> None:
    assert result.content is not None
    parsed = parse_feed(result.content, source, result.content_type)
    outcome.seen = len(parsed.items) + parsed.skipped
    outcome.warning = parsed.warning
    if parsed.error:
        outcome.error = parsed.error
        return
    fetched_at = datetime.now(UTC)
    articles = [
        article
        for item in parsed.items
        if (article := normalize_item(item, fetched_at, source.voice)) is not None
    ]
    if dates := date_warning(rejected_dates(articles)):
        outcome.warning = f"{outcome.warning}; {dates}" if outcome.warning else dates
    fresh = drop_repeated_urls(articles, store)
    if fresh and tagger is not None:
        fresh = tagger(fresh)
    if fresh:
        stored = store.upsert_articles(fresh)
        if stored.failed:
            first_id, reason = stored.failed[0]
            outcome.warning = f"{len(stored.failed)} not stored (e.g. {first_id}: {reason})"
        outcome.new = stored.inserted + stored.spooled
        outcome.new_ids = [a.id for a in fresh]
        if stored.failed and not (stored.inserted or stored.updated or stored.spooled):
            outcome.error = f"store rejected all {len(stored.failed)}: {stored.failed[0][1]}"


def _full_text_pass(sources: list[Source], report: IngestReport, store: Store,
                    fetcher: Fetcher, tagger: Tagger | None) -> None:
    """Full text of the new articles of sources with ``full_text: true`` (never fatal)."""
    wanted = {s.id for s in sources if s.full_text}
    ids = [i for r in report.sources if r.source_id in wanted for i in r.new_ids]
    if not ids:
        return
    from ingest.fulltext import fetch_full_text, summary_line

    try:
        log.info(summary_line(fetch_full_text(store, store.get_articles(ids), fetcher, tagger)))
    except Exception:
        log.exception("full-text pass failed; the feed items are stored")


def _translation_pass(config_dir: Path, report: IngestReport, store: Store) -> None:
    """Headline translations of the new articles when nlp.yaml turns translation on."""
    ids = [i for r in report.sources for i in r.new_ids]
    if not ids:
        return
    from nlp.translation import translate_articles, translator_from_config

    try:
        translator = translator_from_config(config_dir)
        if translator is not None:
            store.upsert_articles(translate_articles(store.get_articles(ids), translator))
    except Exception:
        log.exception("translation pass failed; the articles are stored untranslated")


def _record_health(store: Store, source_id: str, outcome: SourceReport) -> None:
    now = datetime.now(UTC)
    try:
        health = store.get_source_health(source_id) or SourceHealth(source_id)
        health.last_attempt = now
        if outcome.error:
            health.last_error = outcome.error
            health.last_error_at = now
            health.consecutive_failures += 1
        else:
            health.last_success = now
            health.consecutive_failures = 0
            health.last_warning = outcome.warning
            if not outcome.not_modified:  # a 304 keeps the counts of the last real fetch
                health.items_seen = outcome.seen
            health.items_new = outcome.new
            health.total_items += outcome.new
        store.put_source_health(health)
    except Exception:
        log.exception("could not record health of source %s", source_id)
