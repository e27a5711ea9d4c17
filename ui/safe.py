"""Showing text from outside (titles, summaries, outlets, notes, URLs, error details) safely.

THE RULE for every page: stored or user-supplied text is never handed to Streamlit's
markdown raw (``st.markdown``, ``st.write``, ``st.caption``, ``st.title``, ``st.info``/
``warning``/``error``/``success``, column ``.write`` and widget labels all render markdown).
Use one of these instead:

====================================  ===========================================================
you want                              use
====================================  ===========================================================
a line of plain text                  ``safe.text(value)`` (or ``st.dataframe`` for tables)
a term or id as inline code           ``st.markdown("Terms: " + ", ".join(safe.code(t) ...))``
stored text inside your own markdown  ``st.markdown(f"**{safe.md(title)}** · {safe.md(outlet)}")``
a link to an article                  ``st.markdown(safe.link(article.title, article.url))``
a URL on its own                      ``safe.http_url(url)`` → the validated URL or None
a store URL or error detail           ``safe.md(safe.redacted(url))`` (credentials masked)
an alert box with stored text         ``st.warning(safe.md(detail))``
====================================  ===========================================================

``md`` backslash-escapes the ASCII punctuation that markdown is built from (CommonMark lets any
of them be escaped, so no markdown, HTML, image, link, autolink, colour directive or LaTeX can
form from the text; an emoji shortcode like ``:smile:`` may still show its emoji), folds
newlines into spaces and puts an invisible word joiner (U+2060) into bare URLs and e-mail
addresses, which GFM would otherwise turn into live links. ``link`` only makes a link of an
``http(s)`` URL with a host,
percent-encoding anything that could end the link target (spaces, parentheses, angle
brackets, quotes, backslashes); any other URL is shown as text.
Markdown images are never produced: a stored ``![x](http://tracker/)`` is shown as those
characters and the browser requests nothing (tests/test_ui_security.py checks this in a real
browser with a loopback listener). Charts (Altair/Vega) and dataframes render text as text.
"""

from __future__ import annotations

import re
import string

import streamlit as st

from search.urls import http_url, redact_text, redact_url

# Every ASCII punctuation character that can start or end a markdown construct (emphasis,
# code, links, images, HTML, entities, headings, lists, tables, strikethrough, LaTeX, GFM
# autolinks via "/" and "."). Left as they are, because no construct forms from them once the
# brackets are escaped: , ; : ? ' " @ % (": " keeps "Coronavirus : Wuhan" readable in tests).
_PUNCTUATION = frozenset(string.punctuation) - frozenset(",;:?'\"@%#+-")
# Only markdown at the start of a line: a heading, list or quote marker. Text from ``md`` is one
# line, so these are escaped where they begin it ("1." cannot start a list: "." is escaped).
_LINE_START = frozenset("#+-")
MAX_TEXT = 2_000
# GFM turns bare "http://x", "www.x" and "a@b.c" into live links even when their punctuation
# is escaped; an invisible WORD JOINER (U+2060) before the ":" / "." / "@" stops that.
WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)(?<=https)(?=://)|(?<=http)(?=://)|(?<=ftp)(?=://)|(?<=www)(?=\.)"
                       r"|(?=@)")


def md(value: object, limit: int = MAX_TEXT) -> str:
    """``value`` as inert markdown text: shows exactly its characters, renders nothing."""
    text = " ".join(str("" if value is None else value).split())
    if len(text) > limit:
        text = text[:limit] + "…"
    text = _AUTOLINK.sub(WORD_JOINER, text)
    escaped = "".join(
        "\\" + ch if ch in _PUNCTUATION or (ch == ":" and text[i + 1:i + 2].strip())
        else ch for i, ch in enumerate(text))  # ":" before a word: a ":red[...]" directive
    if escaped[:1] in _LINE_START:
        escaped = "\\" + escaped
    return escaped


def code(value: object, limit: int = 200) -> str:
    """``value`` as an inline code span (literal inside; backticks, which would end it,
    become the look-alike ʹ)."""
    text = " ".join(str("" if value is None else value).split())[:limit].replace("`", "ʹ")
    return f"`{text}`" if text else ""


def link(label: object, url: object) -> str:
    """A markdown link ``[label](url)`` with the label inert and the URL validated; just the
    label (as text) when the URL is not http(s)."""
    shown = md(label) or md(url)
    target = http_url(url)
    if target is None:
        return shown
    return f"[{shown}]({target})"


def text(value: object, container=st) -> None:  # container: st or a column / sidebar
    """Show ``value`` as one plain-text line (no markdown at all)."""
    container.text(" ".join(str("" if value is None else value).split()))


def redacted(url: str, detail: str | None = None) -> str:
    """A store URL (or an error ``detail`` that may quote it) with credentials masked."""
    return redact_url(url) if detail is None else redact_text(detail, url)
