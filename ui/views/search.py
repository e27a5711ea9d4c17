"""Search page: full text plus filters, total count and paged results."""

from __future__ import annotations

import streamlit as st

from cityradar.records import SENTIMENT_LABELS
from search import SearchQuery
from ui import data, safe
from ui.downloads import articles_frame, csv_download
from ui.translations import show_summary_translation, show_translation

PAGE_SIZE = 20
CSV_LIMIT = 10_000  # rows in the results download (the store's deepest page)
SORTS = {"Newest": "newest", "Oldest": "oldest", "Relevance": "relevance"}

url = data.store_url()
config = str(data.config_dir())
names = data.city_names(config)


def facet(group: str, size: int = 100) -> list[str]:
    frame = data.aggregate(url, data.filter_key(), None, (group,), size)
    return frame.sort_values("count", ascending=False)[group].tolist() if not frame.empty else []


try:
    st.title("Search")
    text = st.text_input("Search text", key="search_text",
                         placeholder='words are ANDed; "quoted phrases" are kept')
    row1 = st.columns(3)
    cities = row1[0].multiselect("City", data.unique([*facet("city"), *names]),
                                 key="search_cities",
                                 format_func=lambda c: data.city_label(c, names))
    languages = row1[1].multiselect("Language", facet("language"), key="search_languages")
    topics = row1[2].multiselect("Topic", facet("topic"), key="search_topics")
    row2 = st.columns(3)
    sentiments = row2[0].multiselect("Sentiment", list(SENTIMENT_LABELS), key="search_sentiment")
    outlets = row2[1].multiselect("Outlet", facet("outlet", 200), key="search_outlets")
    sort_label = row2[2].selectbox("Sort", list(SORTS), key="search_sort")
    first, last = data.sidebar_window()
    key = data.filter_key(cities=tuple(cities), languages=tuple(languages), topics=tuple(topics),
                          sentiment_labels=tuple(sentiments), outlets=tuple(outlets),
                          date_from=first, date_to=last)
    page = int(st.session_state.get("search_page", 1))
    result = data.search(url, text.strip(), key, SORTS[sort_label], PAGE_SIZE,
                         (page - 1) * PAGE_SIZE)
    pages = max(1, -(-result.total // PAGE_SIZE))
    if page > pages:  # filters narrowed the results below the current page
        page = 1
        st.session_state["search_page"] = 1
        result = data.search(url, text.strip(), key, SORTS[sort_label], PAGE_SIZE, 0)
    st.markdown(f"**{result.total:,} result(s)** · page {page} of {pages}")
    topic_info = data.topic_info(config)
    for article in result.articles:
        day = article.published_at.date().isoformat() if article.published_at else "undated"
        tags = article.tags
        details = [article.outlet or article.domain, tags.language if tags else "und", day]
        if tags:
            details.append(f"tone {data.tone_word(tags.sentiment)}")
            if tags.topics:
                labels = sorted(data.topic_label(t, topic_info) for t in tags.topics)
                details.append("topics: " + ", ".join(labels))
        st.markdown(f"**{safe.link(article.title, article.url)}**  \n"
                    + " · ".join(safe.md(d) for d in details))
        show_translation(article)
        if article.summary:
            st.caption(safe.md(article.summary, 300))
            show_summary_translation(article)
    if pages > 1:
        st.number_input("Page", min_value=1, max_value=pages, step=1, key="search_page")
    if result.total:
        query_text, sort = text.strip(), SORTS[sort_label]
        everything = SearchQuery(text=query_text, filters=data.to_filter(key), sort=sort,
                                 limit=CSV_LIMIT)
        csv_download(lambda: articles_frame(data.get_store(url).search(everything).articles),
                     "search-results", "search_results",
                     f"Download results (CSV, {min(result.total, CSV_LIMIT):,} "
                     f"result{'s' if result.total > 1 else ''})")
except Exception as exc:  # a store failure (or a bad query) must not crash the app
    data.show_failure("Search", exc)
