"""Fuzzing the parsers that read outside input (issue 14): the feed parser and the importers.

Hypothesis generates hostile-looking inputs (random bytes, feed XML and CSV/JSON-lines files
built from fragments attackers and broken exports produce: stray quotes, odd dates, huge
nesting, control characters, odd encodings); bounded in count (``FUZZ_EXAMPLES``, env
``CITYRADAR_FUZZ_EXAMPLES``) and with no per-example deadline, so it runs in CI in seconds.
The property: nothing raises; a bad input is a recorded error (``ParsedFeed.error``, a
``RowError`` per row, or ``FileImportError`` for a file that cannot be read at all).
Figures (inputs tried, seconds, crashes) are written to artifacts/fuzz.json.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.feeds import parse_feed
from ingest.file_import import FileImportError, import_file
from ingest.normalize import normalize_item
from ingest.sources import Source
from ingest.syndication import IngestPreparer
from search import open_store
from tests.conftest import CONFIG_DIR, REPO_ROOT

FUZZ_EXAMPLES = int(os.environ.get("CITYRADAR_FUZZ_EXAMPLES", "300"))
FIGURES = REPO_ROOT / "artifacts" / "fuzz.json"
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
SOURCE = Source(id="fuzz", kind="rss", url="http://127.0.0.1/feed.xml", outlet="Fuzz",
                domain="fuzz.example", language="en")

NASTY = ["", " ", "\x00", "\x1b[31m", "\ufeff", "\u202e", "é", "武汉", "𝔘", "&amp;", "&#0;",
         "&bogus;", "<![CDATA[x]]>", "]]>", "<", ">", '"', "'", "\\", "\r\n", "\n", "\t",
         "9999-12-31T10:00:00Z", "0001-01-01T00:00:00+05:00", "Fri, 31 Dec 9999 10:00:00 PDT",
         "2/11/20", "1-Apr-20", "3 months ago", "nan", "inf", "1e400", "-1", "10" * 30,
         "HTTPS://A.example/x y)", "javascript:alert(1)", "![x](http://127.0.0.1:9/b)",
         "[" * 200, "{" * 200, '"unterminated', 'a""b', "<script>", "%s%n", "A" * 3000]
text_piece = st.one_of(st.sampled_from(NASTY), st.text(max_size=40))


def record(name: str, tried: int, seconds: float) -> None:
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    figures = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    figures[name] = {"inputs": tried, "seconds": round(seconds, 2), "crashes": 0}
    FIGURES.write_text(json.dumps(figures, indent=2, sort_keys=True))


@st.composite
def feed_documents(draw) -> bytes:
    kind = draw(st.sampled_from(["rss", "atom", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=2000))
    pieces = st.lists(text_piece, max_size=4).map("".join)
    items = draw(st.lists(st.tuples(pieces, pieces, pieces, pieces), max_size=5))
    encoding = draw(st.sampled_from(["utf-8", "iso-8859-1", "windows-1251", "gb2312",
                                     "utf-16", "bogus"]))
    if kind == "rss":
        body = "".join(f"<item><title>{t}</title><link>{link}</link><pubDate>{d}</pubDate>"
                       f"<description>{s}</description></item>" for t, link, d, s in items)
        doc = (f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel>'
               f"<title>x</title>{body}</channel></rss>")
    else:
        body = "".join(f"<entry><title>{t}</title><link href=\"{link}\"/><updated>{d}</updated>"
                       f"<summary>{s}</summary></entry>" for t, link, d, s in items)
        doc = f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">{body}</feed>'
    cut = draw(st.integers(min_value=0, max_value=len(doc)))
    doc = doc[:cut] if draw(st.booleans()) else doc  # truncated documents too
    try:
        return doc.encode(encoding if encoding != "bogus" else "utf-8", errors="replace")
    except LookupError:
        return doc.encode("utf-8", errors="replace")


def test_feed_parser_never_raises() -> None:
    tried = 0
    started = time.perf_counter()
    fetched = datetime(2026, 11, 30, tzinfo=UTC)

    @FUZZ
    @given(feed_documents(), st.sampled_from([None, "application/rss+xml", "text/html",
                                              "text/xml; charset=bogus"]))
    def check(content: bytes, content_type: str | None) -> None:
        nonlocal tried
        tried += 1
        parsed = parse_feed(content, SOURCE, content_type)
        assert parsed.error is None or isinstance(parsed.error, str)
        for item in parsed.items:
            article = normalize_item(item, fetched)
            if article is not None and article.published_at is not None:
                assert datetime(1970, 1, 1, tzinfo=UTC) <= article.published_at
                assert article.published_at.year < 3000

    check()
    record("feed_parser", tried, time.perf_counter() - started)


@st.composite
def csv_files(draw) -> bytes:
    header = draw(st.sampled_from(["title,url,date,source", "headline;link;pub_date",
                                   "Title\tURL\tpublished", "x,y", ""]))
    delimiter = "\t" if "\t" in header else ";" if ";" in header else ","
    rows = draw(st.lists(st.lists(text_piece, min_size=0, max_size=5), max_size=8))
    lines = [header] + [delimiter.join(cells) for cells in rows]
    text = draw(st.sampled_from(["\n", "\r\n", "\r"])).join(lines)
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "cp1252", "gb18030"]))
    return text.encode(encoding, errors="replace")


@st.composite
def jsonl_files(draw) -> bytes:
    values = st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), text_piece),
        lambda inner: st.one_of(st.lists(inner, max_size=3),
                                st.dictionaries(st.sampled_from(
                                    ["title", "url", "published_at", "outlet", "tags",
                                     "country", "voice", "language", "summary", "x"]), inner,
                                    max_size=5)), max_leaves=12)
    lines = draw(st.lists(st.one_of(values.map(json.dumps), text_piece,
                                    st.integers(1, 5000).map(lambda n: "[" * n + "]" * n)),
                          max_size=6))
    return "\n".join(lines).encode("utf-8", errors="replace")


def test_importers_never_raise(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "fuzz.db"))
    preparer = IngestPreparer.from_config(CONFIG_DIR, store)
    tried = 0
    started = time.perf_counter()

    @FUZZ
    @given(st.one_of(csv_files().map(lambda b: ("csv", b)),
                     jsonl_files().map(lambda b: ("jsonl", b)),
                     st.binary(max_size=500).map(lambda b: ("csv", b))))
    def check(case: tuple[str, bytes]) -> None:
        nonlocal tried
        tried += 1
        fmt, data = case
        path = tmp_path / f"input.{fmt}"
        path.write_bytes(data)
        try:
            report = import_file(path, store, preparer=preparer, config_dir=CONFIG_DIR)
        except FileImportError:
            return  # the whole file is unreadable: one recorded, one-line error
        assert report.accepted + len(report.errors) == report.rows  # every row accounted for
        for error in report.errors:
            assert isinstance(error.reason, str) and "\n" not in error.reason

    try:
        check()
    finally:
        store.close()
    record("importers", tried, time.perf_counter() - started)
