"""Full text of stored articles: fetch the page politely, extract the main text, re-tag.

Used by ``cityradar fetch-text`` (stored articles) and by ingest for sources with
``full_text: true`` in config/sources.yaml (off by default).

- **Fetching** goes through ``ingest.fetch.Fetcher``, the same polite fetcher as feeds (per-host
  delay and concurrency, size cap, retries, the overall deadline, conditional requests with the
  validators remembered per page URL in the store's fetch state).
- **Only public addresses** are fetched: an article URL (or a redirect, or its robots.txt)
  whose host is or resolves to a loopback, private, link-local or other non-public address is
  never requested (``ingest.fetch.non_public_target``) and recorded as ``blocked_address``: a
  hostile feed cannot make CityRadar read internal services (the Elasticsearch node, a cloud
  metadata endpoint) and store the answer as an article body. Tests that serve pages on
  127.0.0.1 opt in with ``CITYRADAR_FULLTEXT_ALLOW_PRIVATE=1`` (or ``allow_private=True``).
- **robots.txt** is read once per host (``urllib.robotparser``, cached per host for the run)
  and a disallowed page is never requested. As RFC 9309 says: a robots.txt answered 4xx means
  no rules (everything allowed); a 5xx or no answer means everything disallowed for now.
- **Extraction** is trafilatura (main text without navigation, ads or comments, plus the page's
  title and date); the language is the page's declared ``<html lang>`` (the tagger's language
  identifier decides on the text itself).
- **Outcomes** are recorded per article in ``extras["fulltext"]``: ``status`` is one of
  ``ok``, ``paywall`` (teaser kept as body), ``consent_wall``, ``robots_disallowed``,
  ``http_error``, ``not_html``, ``too_large``, ``no_text`` (extraction found no article text),
  ``blocked_address``, ``error``; never fatal for the run or the other articles.
- **Re-tagging** reads the title, the summary, the lead (first paragraphs of the body, up to
  ``LEAD_CHARS``) and every body sentence that names a watched city (up to ``CITY_SENTENCES``
  sentences of at most ``SENTENCE_CHARS`` each), not the whole body: a long report that names
  Shenzhen once in its fifth paragraph gets Shenzhen linked and its tone read from the lead and
  that sentence, not diluted by paragraphs about something else; and tagging cost stays bounded
  (at most ~``MAX_EXCERPT_CHARS`` more characters per article, whatever the page's length).
  The text read is kept in ``extras["fulltext"]["excerpt"]``; mention offsets refer to
  ``Tags.text_of(title, summary + "\\n\\n" + excerpt)``.
- **GDELT-backfilled records**, whose title is a URL slug, get the page's real title.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib import robotparser
from urllib.parse import urlsplit, urlunsplit

from cityradar.records import Article
from ingest.fetch import Fetcher, FetchResult, UrlGuard, non_public_target
from search.store import ArticleFilter, Store

log = logging.getLogger(__name__)

ROBOTS_AGENT = "CityRadar"
MIN_TEXT_CHARS = 200  # less main text than this is "no_text" (a caption, a script template)
LEAD_CHARS = 600
CITY_SENTENCES = 8
SENTENCE_CHARS = 400
MAX_EXCERPT_CHARS = LEAD_CHARS + CITY_SENTENCES * SENTENCE_CHARS
BATCH_SIZE = 64
RETRY_STATUSES = frozenset({"http_error", "error", "too_large"})
ALLOW_PRIVATE_ENV = "CITYRADAR_FULLTEXT_ALLOW_PRIVATE"


def address_guard(allow_private: bool | None = None) -> UrlGuard | None:
    """The check every full-text request goes through: None (no check) when non-public
    addresses are allowed (``allow_private``, default the ``CITYRADAR_FULLTEXT_ALLOW_PRIVATE``
    setting, for tests serving pages on loopback), else ``non_public_target``."""
    if allow_private is None:
        allow_private = os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in (
            "1", "true", "yes")
    return None if allow_private else non_public_target

# schema.org markup publishers use for paywalled content (Google's structured-data guidance).
_NOT_FREE = re.compile(rb'"isAccessibleForFree"\s*:\s*"?(false|False|FALSE)"?')
_PAYWALL_WORDS = re.compile(
    r"subscribe to (continue|read)|subscribers only|for subscribers|already a subscriber"
    r"|continue reading with a subscription|jetzt abonnieren|nur für abonnenten"
    r"|abonnez-vous|réservé aux abonnés|suscríbete para seguir|solo para suscriptores"
    r"|подпишитесь|只有订阅|購読者限定",
    re.IGNORECASE,
)
_CONSENT_WORDS = re.compile(
    r"we value your privacy|accept all cookies|accept cookies|cookie (settings|preferences)"
    r"|consent to (the use of )?cookies|manage (your )?consent|alle akzeptieren"
    r"|zustimmen und weiter|tout accepter|j'accepte|aceptar todas|accetta tutti",
    re.IGNORECASE,
)
_CONSENT_HOSTS = ("consent.", "privacy.", "cmp.")
_HTML_LANG = re.compile(rb"<html[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3})", re.IGNORECASE)
_TEMPLATE = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_SENTENCE = re.compile(r"[^.!?。！？\n]+(?:[.!?。！？]+[\"'”»)]*|\n|$)")
_TITLE_SEPARATOR = re.compile(r"\s+[|–—-]\s+")
_DATE_SEGMENT = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")


@dataclass(slots=True)
class Extracted:
    status: str
    text: str = ""
    title: str = ""
    date: date | None = None
    language: str | None = None
    detail: str = ""


@dataclass(slots=True)
class FullTextReport:
    considered: int = 0
    fetched: int = 0  # pages requested (robots-disallowed ones are not)
    statuses: dict[str, int] = field(default_factory=dict)
    titles_replaced: int = 0
    stored: int = 0
    elapsed_s: float = 0.0

    def count(self, status: str) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1


# -- robots.txt ------------------------------------------------------------------------------------


class RobotsCache:
    """One parsed robots.txt per scheme://host, fetched through the polite fetcher."""

    def __init__(self, fetcher: Fetcher, agent: str = ROBOTS_AGENT,
                 url_guard: UrlGuard | None = None) -> None:
        self._fetcher = fetcher
        self._agent = agent
        self._guard = url_guard
        self._parsers: dict[str, robotparser.RobotFileParser] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _root(url: str) -> str:
        parts = urlsplit(url)
        return urlunsplit((parts.scheme, parts.netloc, "", "", ""))

    def prefetch(self, urls: Iterable[str]) -> None:
        """Read the robots.txt of every host not seen yet, concurrently."""
        with self._lock:
            roots = {self._root(u) for u in urls} - set(self._parsers)
        if not roots:
            return
        for result in self._fetcher.fetch_many(((f"{root}/robots.txt", None) for root in roots),
                                               url_guard=self._guard):
            parser = _robots_parser(result)
            with self._lock:
                self._parsers[self._root(result.url)] = parser

    def allowed(self, url: str) -> bool:
        root = self._root(url)
        if root not in self._parsers:
            self.prefetch([url])
        return self._parsers[root].can_fetch(self._agent, url)


def _robots_parser(result: FetchResult) -> robotparser.RobotFileParser:
    parser = robotparser.RobotFileParser(result.url)
    if result.content is not None:
        parser.parse(result.content.decode("utf-8", "replace").splitlines())
    elif result.status is not None and 400 <= result.status < 500:
        parser.allow_all = True  # RFC 9309 2.3.1.3: unavailable -> no restrictions
    else:
        parser.disallow_all = True  # 5xx / unreachable: assume complete disallow (2.3.1.4)
        log.info("robots.txt %s unreachable (%s): host skipped this run", result.url,
                 result.error)
    return parser


# -- extraction ------------------------------------------------------------------------------------


def extract(content: bytes, url: str = "", final_url: str | None = None) -> Extracted:
    """Main text, title, date and declared language of an HTML page, or why there is none."""
    import trafilatura

    host = (urlsplit(final_url or url).hostname or "").lower()
    if final_url and final_url != url and host.startswith(_CONSENT_HOSTS):
        return Extracted("consent_wall", detail=f"redirected to {host}")
    language = None
    if match := _HTML_LANG.search(content[:4096]):
        language = match.group(1).decode("ascii").lower()
    try:
        doc = trafilatura.bare_extraction(content, url=url or None, with_metadata=True,
                                          include_comments=False, include_tables=False)
    except Exception as exc:  # a page the extractor chokes on is one failed article
        return Extracted("no_text", language=language,
                         detail=f"extraction failed: {type(exc).__name__}: {exc}"[:200])
    text = (getattr(doc, "text", None) or "").strip() if doc else ""
    title = " ".join((getattr(doc, "title", None) or "").split()) if doc else ""
    day = _parse_day(getattr(doc, "date", None) if doc else None)
    if _NOT_FREE.search(content):
        return Extracted("paywall", text=text, title=title, date=day, language=language,
                         detail="marked subscriber-only (schema.org isAccessibleForFree: "
                                "false); the text as served is kept")
    if len(text) < 4 * MIN_TEXT_CHARS and _PAYWALL_WORDS.search(_visible_tail(content)):
        text = "\n".join(line for line in text.splitlines() if not _PAYWALL_WORDS.search(line))
        return Extracted("paywall", text=text, title=title, date=day, language=language,
                         detail="subscribe prompt after a short teaser; the teaser is kept")
    templated = sum(len(m) for m in _TEMPLATE.findall(text))
    if templated > 0.2 * max(1, len(text)):
        return Extracted("no_text", title=title, date=day, language=language,
                         detail="page is a script template filled in by the browser")
    if len(text) < MIN_TEXT_CHARS:
        if _CONSENT_WORDS.search(_visible_tail(content)):
            return Extracted("consent_wall", title=title, language=language,
                             detail="cookie/consent page instead of the article")
        return Extracted("no_text", text=text, title=title, date=day, language=language,
                         detail=f"only {len(text)} characters of main text")
    return Extracted("ok", text=text, title=title, date=day, language=language)


def _visible_tail(content: bytes) -> str:
    """The page's text without tags (roughly), for marker phrases; bounded in size."""
    html = content[:400_000].decode("utf-8", "replace")
    html = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    return re.sub(r"<[^>]+>", " ", html)


def _parse_day(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def clean_title(title: str, article: Article) -> str:
    """The page title without trailing " | Outlet | 19.01.2020" segments (separators kept)."""
    names = {n.lower() for n in (article.outlet, article.domain,
                                 article.domain.split(".")[0]) if n}
    cut = title
    while True:
        separators = list(_TITLE_SEPARATOR.finditer(cut))
        if not separators:
            break
        last = separators[-1]
        tail = cut[last.end():].strip().lower()
        if tail in names or any(n in tail for n in names) or _DATE_SEGMENT.match(tail) \
                or len(tail) <= 3:
            cut = cut[:last.start()]
        else:
            break
    return cut.strip() or title


def is_provisional_title(article: Article) -> bool:
    """A title standing in for a missing one: empty, or the URL slug (GDELT raw files)."""
    from ingest.gdelt_files import title_from_url

    title = (article.title or "").strip()
    return not title or title == title_from_url(article.url)


# -- what the tagger reads -----------------------------------------------------------------------


def sentences(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each sentence or line of ``text``."""
    for match in _SENTENCE.finditer(text):
        start, end = match.start(), match.end()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            yield start, end


def excerpt_for_tagging(body: str, link: Callable[[str], Sequence[Any]]) -> str:
    """The lead of ``body`` plus the sentences after it that name a watched city (see module
    docstring for the limits and why); ``link`` returns mentions with ``start``/``end``."""
    body = body.strip()
    if not body:
        return ""
    lead_end = 0
    for _start, end in sentences(body):
        if end > LEAD_CHARS and lead_end:
            break
        lead_end = end
    lead_end = min(lead_end or LEAD_CHARS, LEAD_CHARS)
    parts = [body[:lead_end].strip()]
    starts = sorted(m.start for m in link(body) if m.start >= lead_end)
    taken = 0
    for start, end in sentences(body):
        if taken >= CITY_SENTENCES or not starts:
            break
        if end <= lead_end:
            continue
        if any(start <= s < end for s in starts):
            parts.append(body[start:min(end, start + SENTENCE_CHARS)])
            taken += 1
            starts = [s for s in starts if s >= end]
    return "\n".join(p for p in parts if p)


def retag(articles: Sequence[Article], tagger: Any) -> list[Article]:
    """Tag ``articles`` over title, summary and the body excerpt; articles keep their own
    summary. ``tagger`` is an ``nlp.pipeline.Tagger`` (or its bound ``tag`` method)."""
    from ingest.gdelt_files import apply_gdelt_cities

    tagger_obj = getattr(tagger, "__self__", tagger)
    linker = getattr(tagger_obj, "linker", None)
    views = []
    for article in articles:
        info = dict(article.extras.get("fulltext") or {})
        excerpt = ""
        if article.body and linker is not None:
            language = article.tags.language if article.tags else article.language_hint
            excerpt = excerpt_for_tagging(
                article.body, lambda text, lang=language: linker.link(text, lang))
        info["excerpt"] = excerpt
        info["tagged_chars"] = len(excerpt)
        article.extras = {**article.extras, "fulltext": info}
        summary = f"{article.summary}\n\n{excerpt}".strip() if excerpt else article.summary
        views.append(dataclasses.replace(article, summary=summary))
    tag = tagger_obj.tag if hasattr(tagger_obj, "tag") else tagger
    tagged = tag(views)
    result = []
    for original, view in zip(articles, tagged, strict=True):
        result.append(dataclasses.replace(original, tags=view.tags,
                                          extras={**original.extras, **view.extras}))
    gdelt = [a for a in result if a.extras.get("gdelt")]
    if gdelt:
        apply_gdelt_cities(gdelt)
    return result


# -- the run ---------------------------------------------------------------------------------------


def needs_text(article: Article, refresh: bool = False) -> bool:
    status = (article.extras.get("fulltext") or {}).get("status")
    return refresh or status is None or status in RETRY_STATUSES


def apply_page(article: Article, result: FetchResult, page: Extracted | None,
               now: datetime) -> tuple[Article, bool]:
    """The article with the fetch outcome recorded (and body/title/date when extracted);
    returns (article, title_replaced)."""
    info: dict[str, Any] = {"fetched_at": now.isoformat(), "http_status": result.status}
    replaced = False
    updated = dataclasses.replace(article)
    if page is None:
        if result.status == 413:
            info["status"] = "too_large"
        elif (result.error or "").startswith("refused: "):  # a redirect to a non-public address
            info["status"] = "blocked_address"
        else:
            info["status"] = "http_error" if result.status else "error"
        info["detail"] = result.error or ""
    else:
        info.update(status=page.status, chars=len(page.text), detail=page.detail)
        if page.language:
            info["language"] = page.language
            if not updated.language_hint:
                updated.language_hint = page.language
        if page.text and page.status in ("ok", "paywall"):
            updated.body = page.text
        if page.title and page.status in ("ok", "paywall") and is_provisional_title(article):
            updated.title = clean_title(page.title, article)
            info["title_from_page"] = True
            info["provisional_title"] = article.title
            replaced = True
        if page.date and updated.published_at is None:
            updated.published_at = datetime(page.date.year, page.date.month, page.date.day,
                                            tzinfo=UTC)
    updated.extras = {**article.extras, "fulltext": info}
    return updated, replaced


def fetch_full_text(
    store: Store,
    articles: Iterable[Article],
    fetcher: Fetcher,
    tagger: Any = None,
    *,
    refresh: bool = False,
    batch_size: int = BATCH_SIZE,
    robots: RobotsCache | None = None,
    report: FullTextReport | None = None,
    allow_private: bool | None = None,
) -> FullTextReport:
    """Fetch, extract, (re-)tag and store the full text of ``articles`` (those still needing
    it, or all with ``refresh``), in batches; returns counts per outcome. Pages on non-public
    addresses are refused unless ``allow_private`` (see ``address_guard``)."""
    report = report or FullTextReport()
    started = time.monotonic()
    guard = address_guard(allow_private)
    robots = robots or RobotsCache(fetcher, url_guard=guard)
    batch: list[Article] = []
    for article in articles:
        if not needs_text(article, refresh):
            continue
        report.considered += 1
        batch.append(article)
        if len(batch) >= batch_size:
            _run_batch(store, batch, fetcher, tagger, robots, refresh, report, guard)
            batch = []
    if batch:
        _run_batch(store, batch, fetcher, tagger, robots, refresh, report, guard)
    report.elapsed_s = time.monotonic() - started
    log.info("full text: %d considered, %d fetched, %s, %d titles replaced in %.1fs",
             report.considered, report.fetched, report.statuses, report.titles_replaced,
             report.elapsed_s)
    return report


def _run_batch(store: Store, batch: list[Article], fetcher: Fetcher, tagger: Any,
               robots: RobotsCache, refresh: bool, report: FullTextReport,
               guard: UrlGuard | None = None) -> None:
    now = datetime.now(UTC)
    done: list[Article] = []
    fresh: set[str] = set()  # ids whose page was read this time (not a 304)
    wanted: dict[str, list[Article]] = {}
    refusals = {a.url: guard(a.url) for a in batch} if guard is not None else {}
    robots.prefetch(a.url for a in batch if not refusals.get(a.url))
    for article in batch:
        if refusals.get(article.url):  # never requested, nor its robots.txt
            info = {"status": "blocked_address", "fetched_at": now.isoformat(),
                    "detail": str(refusals[article.url])[:200]}
            done.append(dataclasses.replace(article,
                                            extras={**article.extras, "fulltext": info}))
            report.count("blocked_address")
        elif robots.allowed(article.url):
            wanted.setdefault(article.url, []).append(article)
        else:
            info = {"status": "robots_disallowed", "fetched_at": now.isoformat(),
                    "detail": "robots.txt disallows this path"}
            done.append(dataclasses.replace(article,
                                            extras={**article.extras, "fulltext": info}))
            report.count("robots_disallowed")
    states = {url: (store.get_fetch_state(url) if refresh else None) for url in wanted}
    for result in fetcher.fetch_many(((url, states[url]) for url in wanted), url_guard=guard):
        report.fetched += 1
        for article in wanted[result.url]:
            try:
                updated, replaced = _outcome(article, result, now)
                if not result.not_modified:
                    fresh.add(article.id)
            except Exception as exc:  # one broken page must never stop the others
                log.exception("full text of %s failed", article.url)
                info = {"status": "error", "fetched_at": now.isoformat(),
                        "detail": f"{type(exc).__name__}: {exc}".splitlines()[0][:200]}
                updated, replaced = dataclasses.replace(
                    article, extras={**article.extras, "fulltext": info}), False
            report.count("not_modified" if result.not_modified
                         else updated.extras["fulltext"]["status"])
            report.titles_replaced += replaced
            done.append(updated)
        if result.ok and not result.not_modified and result.content is not None:
            digest = hashlib.sha256(result.content).hexdigest()
            store.put_fetch_state(result.next_state(states[result.url], digest))
    if tagger is not None:
        readable = [a for a in done if a.id in fresh and a.body]
        by_id = {a.id: a for a in retag(readable, tagger)}
        done = [by_id.get(a.id, a) for a in done]
    stored = store.upsert_articles(done)
    report.stored += stored.inserted + stored.updated + stored.spooled
    for article_id, reason in stored.failed:
        log.warning("full text of %s not stored: %s", article_id, reason)


def _outcome(article: Article, result: FetchResult, now: datetime) -> tuple[Article, bool]:
    if result.not_modified:
        info = {**(article.extras.get("fulltext") or {}), "checked_at": now.isoformat()}
        return dataclasses.replace(article, extras={**article.extras, "fulltext": info}), False
    if not result.ok or result.content is None:
        return apply_page(article, result, None, now)
    content_type = (result.content_type or "").lower()
    if content_type and "html" not in content_type and "xml" not in content_type:
        info = {"status": "not_html", "fetched_at": now.isoformat(),
                "http_status": result.status, "detail": content_type[:100]}
        return dataclasses.replace(article, extras={**article.extras, "fulltext": info}), False
    page = extract(result.content, article.url, result.final_url)
    return apply_page(article, result, page, now)


def stored_candidates(store: Store, since: date | None = None,
                      source_ids: Sequence[str] = ()) -> Iterator[Article]:
    """Stored articles (published on or after ``since``; of ``source_ids``), oldest first."""
    wanted = set(source_ids)
    for article in store.iter_articles(ArticleFilter(date_from=since)):
        if not wanted or article.source_id in wanted or article.source_id.split(":")[0] in wanted:
            yield article


def summary_line(report: FullTextReport) -> str:
    parts = ", ".join(f"{k} {v}" for k, v in sorted(report.statuses.items()))
    return (f"full text: {report.considered} article(s) considered, {report.fetched} page(s) "
            f"fetched ({parts or 'nothing to do'}), {report.titles_replaced} title(s) "
            f"replaced, {report.stored} stored, {report.elapsed_s:.1f}s")
