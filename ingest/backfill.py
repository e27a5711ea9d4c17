"""GDELT backfill: walk the master file list, download Events/GKG files, import our cities.

``backfill_gdelt(store, cities, date_from, date_to, config)``:

1. streams ``masterfilelist.txt`` (lines ``size md5 url``) and keeps the ``export`` / ``gkg``
   files whose 15-minute timestamp falls in [date_from, date_to] (inclusive days, UTC);
2. skips files already imported (store meta ``gdelt_backfill:done:<file name>`` = md5);
3. downloads the rest with a bounded thread pool to temporary files, streaming and checking
   size and md5 on the fly (a mismatch is a failed file, retried on the next run);
4. imports each file in the calling thread, streamed (``ingest.gdelt_files``), deduplicated
   against the store (ids are hashes of canonical URLs, so a file imported again after an
   interruption adds nothing twice), tagged when a tagger is given, and only then marks the
   file done.

A failing file is logged and reported, never stops the others; rerunning retries it.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
from pydantic import Field

from cityradar.config import build, load_yaml, schema_for, validate
from cityradar.records import Article
from cityradar.retry import RetryPolicy, transient_status
from ingest.gdelt_doc import GdeltFile
from ingest.gdelt_files import (
    CityLike,
    CityMatcher,
    ParseStats,
    apply_gdelt_cities,
    iter_events,
    iter_gkg,
    merge_duplicates,
)
from ingest.normalize import drop_repeated_urls
from search.store import Store

log = logging.getLogger(__name__)

CONFIG_FILE = "gdelt.yaml"
DEFAULT_MASTER_URL = "http://data.gdeltproject.org/gdeltv2/masterfilelist.txt"
DONE_KEY = "gdelt_backfill:done:{name}"
KINDS = ("export", "gkg")
_FILE_NAME = re.compile(
    r"/(?P<stamp>\d{14})\.(?:translation\.)?(?P<kind>export|gkg|mentions)\.csv\.zip$",
    re.IGNORECASE,
)
BATCH_SIZE = 1000
CHUNK_BYTES = 1 << 16

Tagger = Callable[[list[Article]], list[Article]]


class BackfillError(RuntimeError):
    pass


@dataclass(slots=True)
class BackfillConfig:
    master_url: str = DEFAULT_MASTER_URL
    kinds: list[str] = field(default_factory=lambda: list(KINDS))
    workers: int = 4
    retries: int = 3
    backoff_s: float = 1.0  # retry waits: exponential with jitter (cityradar.retry)
    timeout_s: float = 120.0
    feature_ids: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, config_dir: Path | str) -> BackfillConfig:
        """The ``files:`` section of config/gdelt.yaml (defaults when absent)."""
        path = Path(config_dir) / CONFIG_FILE
        if not path.exists():
            return cls()
        # the whole file first, so a misspelt section is an error here too
        section = validate(GdeltFile, load_yaml(path), path).files
        return build(cls, validate(FilesSchema, section, f"{path}: files"))


FilesSchema = schema_for(BackfillConfig, kinds=list[Literal[KINDS]],  # type: ignore[valid-type]
                         workers=Annotated[int, Field(ge=1)])


@dataclass(frozen=True, slots=True)
class MasterEntry:
    size: int
    md5: str
    url: str
    stamp: datetime
    kind: str  # "export" | "gkg" | "mentions"

    @property
    def name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


@dataclass(slots=True)
class FileReport:
    name: str
    rows: int = 0
    matched: int = 0
    new: int = 0
    broken: int = 0
    error: str | None = None


@dataclass(slots=True)
class BackfillReport:
    selected: int = 0  # files in the date range
    already_done: int = 0  # skipped: imported by an earlier run
    files: list[FileReport] = field(default_factory=list)

    @property
    def failed(self) -> list[FileReport]:
        return [f for f in self.files if f.error]

    @property
    def new(self) -> int:
        return sum(f.new for f in self.files)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)


def parse_master_line(line: str) -> MasterEntry | None:
    """One ``size md5 url`` line; None for lines that are not GDELT data files."""
    parts = line.split()
    if len(parts) != 3:
        return None
    size, md5, url = parts
    match = _FILE_NAME.search(url)
    if match is None or not size.isdigit():
        return None
    stamp = datetime.strptime(match["stamp"], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return MasterEntry(int(size), md5.lower(), url, stamp, match["kind"].lower())


def select_entries(lines: Iterable[str], date_from: date, date_to: date,
                   kinds: Sequence[str] = KINDS) -> Iterator[MasterEntry]:
    """Entries of the wanted kinds whose timestamp day is in [date_from, date_to]."""
    for line in lines:
        entry = parse_master_line(line)
        if entry is None:
            if line.strip():
                log.debug("master list: ignoring %r", line[:120])
            continue
        if entry.kind in kinds and date_from <= entry.stamp.date() <= date_to:
            yield entry


def read_master_list(client: httpx.Client, url: str, date_from: date, date_to: date,
                     kinds: Sequence[str]) -> list[MasterEntry]:
    """The selected entries, streamed from the (large) master list."""
    try:
        with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise BackfillError(f"master file list {url}: HTTP {response.status_code}")
            return list(select_entries(response.iter_lines(), date_from, date_to, kinds))
    except httpx.HTTPError as exc:
        raise BackfillError(f"master file list {url}: {type(exc).__name__}: {exc}") from exc


def download(client: httpx.Client, entry: MasterEntry, directory: Path, retries: int = 3,
             backoff_s: float = 1.0, sleep: Callable[[float], None] = time.sleep) -> Path:
    """``entry`` saved under ``directory``; size and md5 checked while streaming. Connection
    errors, 429 and 5xx are retried with the shared backoff (``cityradar.retry``)."""
    target = directory / entry.name

    def attempt() -> Path:
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        with client.stream("GET", entry.url) as response, open(target, "wb") as out:
            if response.status_code != 200:
                raise _HTTPStatus(response.status_code)
            for chunk in response.iter_bytes(CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        if digest.hexdigest() != entry.md5 or size != entry.size:
            # Corrupt bytes are not retried here: the next run fetches the file again.
            target.unlink(missing_ok=True)
            raise BackfillError(
                f"md5/size mismatch (got {digest.hexdigest()} {size} bytes, "
                f"expected {entry.md5} {entry.size})")
        return target

    def transient(exc: BaseException) -> bool:
        return isinstance(exc, httpx.HTTPError) or (
            isinstance(exc, _HTTPStatus) and transient_status(exc.status))

    try:
        return RetryPolicy(retries=retries, backoff_s=backoff_s).call(
            attempt, retry_exception=transient, sleep=sleep, what=entry.name)
    except (httpx.HTTPError, _HTTPStatus) as exc:
        target.unlink(missing_ok=True)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BackfillError(f"download failed: {reason}") from exc


class _HTTPStatus(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def import_file(path: Path, kind: str, store: Store, matcher: CityMatcher,
                tagger: Tagger | None = None, report: FileReport | None = None) -> FileReport:
    """Stream one Events (``export``) or GKG file into the store; returns what happened."""
    report = report or FileReport(path.name)
    stats = ParseStats()
    parse = iter_events if kind == "export" else iter_gkg
    matches = merge_duplicates(parse(path, matcher, stats=stats))
    for start in range(0, len(matches), BATCH_SIZE):
        fresh = drop_repeated_urls(matches[start:start + BATCH_SIZE], store)
        if not fresh:
            continue
        if tagger is not None:
            fresh = tagger(fresh)
        stored = store.upsert_articles(apply_gdelt_cities(fresh))
        report.new += stored.inserted + stored.spooled
        if stored.failed:
            raise BackfillError(f"store rejected {len(stored.failed)}: {stored.failed[0][1]}")
    report.rows, report.matched, report.broken = stats.rows, stats.matched, stats.broken
    return report


def backfill_gdelt(
    store: Store,
    cities: Iterable[CityLike],
    date_from: date,
    date_to: date,
    config: BackfillConfig | None = None,
    *,
    tagger: Tagger | None = None,
    progress: Callable[[int, int], Any] | None = None,
    client: httpx.Client | None = None,
) -> BackfillReport:
    """Import GDELT files of [date_from, date_to] about ``cities``; resumable (see module doc).

    ``progress(done, total)`` is called after each file (the CLI draws a bar with it).
    """
    if date_from > date_to:
        raise BackfillError(f"--from {date_from} is after --to {date_to}")
    config = config or BackfillConfig()
    matcher = CityMatcher(cities, config.feature_ids)
    own_client = client is None
    client = client or httpx.Client(
        timeout=httpx.Timeout(config.timeout_s), follow_redirects=True,
        headers={"User-Agent": "CityRadar/0.1 (GDELT backfill)"},
        limits=httpx.Limits(max_connections=config.workers + 1),
    )
    report = BackfillReport()
    try:
        entries = read_master_list(client, config.master_url, date_from, date_to, config.kinds)
        report.selected = len(entries)
        pending = []
        for entry in entries:
            if store.get_meta(DONE_KEY.format(name=entry.name)) == entry.md5:
                report.already_done += 1
            else:
                pending.append(entry)
        total = len(pending)
        if progress:
            progress(0, total)
        with tempfile.TemporaryDirectory(prefix="cityradar-gdelt-") as tmp, \
                ThreadPoolExecutor(max_workers=config.workers,
                                   thread_name_prefix="gdelt-dl") as pool:
            directory = Path(tmp)
            cancel = threading.Event()

            def fetch(entry: MasterEntry) -> Path:
                if cancel.is_set():
                    raise BackfillError("cancelled")
                return download(client, entry, directory, config.retries, config.backoff_s)

            # A sliding window of downloads: at most 2 x workers files wait on disk at once.
            window = 2 * config.workers
            futures: list[tuple[MasterEntry, Future[Path]]] = [
                (e, pool.submit(fetch, e)) for e in pending[:window]
            ]
            next_index = len(futures)
            try:
                for done_count in range(1, total + 1):
                    entry, future = futures.pop(0)
                    if next_index < total:
                        futures.append((pending[next_index], pool.submit(fetch,
                                                                         pending[next_index])))
                        next_index += 1
                    report.files.append(_import_one(entry, future, store, matcher, tagger))
                    if progress:
                        progress(done_count, total)
            finally:
                cancel.set()
                for _entry, future in futures:
                    future.cancel()
    finally:
        if own_client:
            client.close()
    return report


def _import_one(entry: MasterEntry, future: Future[Path], store: Store, matcher: CityMatcher,
                tagger: Tagger | None) -> FileReport:
    file_report = FileReport(entry.name)
    try:
        path = future.result()
        try:
            import_file(path, entry.kind, store, matcher, tagger, file_report)
        finally:
            path.unlink(missing_ok=True)
        store.put_meta(DONE_KEY.format(name=entry.name), entry.md5)
        log.info("gdelt %s: %d rows, %d about our cities, %d new", entry.name,
                 file_report.rows, file_report.matched, file_report.new)
    except (BackfillError, OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        file_report.error = str(exc).splitlines()[0]
        log.warning("gdelt backfill: %s failed: %s (retried on the next run)", entry.name,
                    file_report.error)
    return file_report
