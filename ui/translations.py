"""Machine translations under original headlines (stored by ``nlp.translation``).

Every page that lists headlines calls ``show_translation(article)`` right after the headline:
nothing is shown for an article without a stored translation (translation off, or the
headline already in the analyst's language). The text is shown with ``st.text`` (never
rendered as markdown) and marked as machine translation with the model's name.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from cityradar.records import Article
from nlp.translation import translated_title


def translation_line(article: Article) -> str | None:
    translation = translated_title(article)
    if translation is None:
        return None
    model = translation.model.rstrip("/").rsplit("/", 1)[-1] or "model"
    return (f"↳ {translation.title}   (machine translation {translation.source_language}→"
            f"{translation.target}, {model})")


def show_translation(article: Article, target: Any = st) -> None:
    line = translation_line(article)
    if line:
        target.text(line)


def show_summary_translation(article: Article, target: Any = st, limit: int = 300) -> None:
    """The summary's translation, when one was stored (``cityradar translate --summaries``)."""
    translation = translated_title(article)
    if translation is not None and translation.summary:
        target.text(f"↳ {translation.summary[:limit]}   (machine translation)")
