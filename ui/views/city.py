"""City page: volume by language, tone trend, topic mix, outlets and headlines for one city."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import charts, data, safe
from ui.downloads import articles_frame, csv_download
from ui.translations import show_translation

TOP_LANGUAGES = 5
VOICES = {"Foreign media": "foreign", "Own voice": "own", "Both": None}

url = data.store_url()
config = str(data.config_dir())
names = data.city_names(config)


def city_options() -> list[str]:
    stored = data.aggregate(url, data.filter_key(), None, ("city",), 200)
    by_volume = stored.sort_values("count", ascending=False)["city"].tolist()
    return data.unique([*by_volume, *names])


def language_series(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep the top languages, fold the rest into "other"; English is always shown by name."""
    totals = frame.groupby("language")["count"].sum().sort_values(ascending=False)
    keep = set(totals.index[:TOP_LANGUAGES]) | {"en"}
    folded = frame.assign(language=frame["language"].where(frame["language"].isin(keep),
                                                           "other"))
    return folded.groupby(["bucket", "language"], as_index=False)["count"].sum()


def render_volume(base: data.FilterKey) -> None:
    interval = st.radio("Volume per", ["day", "week", "month"], index=2, horizontal=True,
                        key="city_interval")
    frame = data.aggregate(url, base, interval, ("language",))
    if frame.empty:
        st.info("No dated coverage for this city in the chosen range.")
        return
    english = frame.loc[frame["language"] == "en", "count"].sum()
    total = frame["count"].sum()
    metrics = st.columns(3)
    metrics[0].metric("Articles", f"{total:,}")
    metrics[1].metric("English", f"{english:,}")
    metrics[2].metric("Other languages", f"{total - english:,}")
    st.altair_chart(charts.stacked_volume(language_series(frame), "language",
                                          f"Coverage per {interval} by language", interval),
                    width="stretch")
    csv_download(frame, f"coverage-per-{interval}-by-language", "city_volume",
                 "Download coverage (CSV)")


def render_tone(base: data.FilterKey, city: str) -> None:
    weekly = data.aggregate(url, base, "week", ("city",))
    weekly = weekly[weekly["city"] == city]
    if weekly.empty:
        return
    weekly = weekly.assign(negative_share=weekly["negative"] / weekly["count"].clip(lower=1))
    tone, share = charts.tone_trend(weekly)
    st.altair_chart(tone, width="stretch")
    st.altair_chart(share, width="stretch")
    csv_download(weekly, f"{city}-weekly-tone", "city_tone", "Download weekly tone (CSV)")


def render_topics_and_outlets(base: data.FilterKey) -> None:
    info = data.topic_info(config)
    left, right = st.columns(2)
    topics = data.aggregate(url, base, None, ("topic",), 20)
    if topics.empty:
        left.caption("No topics tagged.")
    else:
        topics = topics.rename(columns={"topic": "name"})
        topics["kind"] = topics["name"].map(lambda t: info.get(t, ("", "neutral"))[1])
        topics["name"] = topics["name"].map(lambda t: data.topic_label(t, info))
        left.altair_chart(charts.mix_bars(topics[["name", "count", "kind", "mean_tone"]],
                                          "Topic mix", color="kind" if info else None),
                          width="stretch")
        csv_download(topics, "topic-mix", "city_topics", "Download topic mix (CSV)", left)
    outlets = data.aggregate(url, base, None, ("outlet",), 15)
    if outlets.empty:
        right.caption("No outlets.")
    else:
        right.altair_chart(charts.mix_bars(outlets.rename(columns={"outlet": "name"})[
            ["name", "count"]], "Top outlets"), width="stretch")
        csv_download(outlets, "top-outlets", "city_outlets", "Download outlets (CSV)", right)


def render_headlines(base: data.FilterKey) -> None:
    st.subheader("Latest headlines")
    result = data.search(url, "", base, "newest", 12, 0)
    if not result.articles:
        st.caption("No headlines.")
    for article in result.articles:
        day = article.published_at.date().isoformat() if article.published_at else "undated"
        language = article.tags.language if article.tags else "und"
        st.markdown(f"- {safe.link(article.title, article.url)} — "
                    f"{safe.md(article.outlet or article.domain)} · {safe.md(language)} · {day}")
        show_translation(article)
    if result.articles:
        csv_download(articles_frame(result.articles), "latest-headlines", "city_headlines",
                     "Download headlines (CSV)")


try:
    st.title("City")
    options = city_options()
    if not options:
        st.info("No cities in the store or the configuration yet.")
        st.stop()
    left, right = st.columns([2, 2])
    city = left.selectbox("City", options, key="city_pick",
                          format_func=lambda c: data.city_label(c, names))
    voice_label = right.radio("Voice", list(VOICES), horizontal=True, key="city_voice",
                              help="Foreign media vs the city's or China's own "
                                   "foreign-language channels.")
    first, last = data.sidebar_window()
    base_key = data.filter_key(cities=(city,), voice=VOICES[voice_label], date_from=first,
                               date_to=last)
    st.header(safe.md(data.city_label(city, names)))
    render_volume(base_key)
    render_tone(base_key, city)
    render_topics_and_outlets(base_key)
    render_headlines(base_key)
except Exception as exc:  # a store failure mid-page: say so, keep the app alive
    data.show_failure("Loading the city page", exc)
