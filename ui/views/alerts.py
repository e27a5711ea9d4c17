"""Alerts page: the inbox of alert episodes, one episode's evidence, and triage."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from alerts.episodes import triage_choices
from cityradar.records import ALERT_KINDS, ALERT_STATUSES, Alert, Article
from ui import auth, charts, data, safe
from ui.downloads import alerts_frame, articles_frame, csv_download
from ui.translations import show_translation

PAGE_SIZE = 20
BASELINE_DAYS = 28
KIND_LABELS = {"volume_surge": "Volume surge", "negative_spike": "Negative spike"}
STATUS_ICONS = {"new": ":red[**new**]", "acknowledged": ":orange[acknowledged]",
                "resolved": ":green[resolved]"}

url = data.store_url()
config = str(data.config_dir())
names = data.city_names(config)


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def alert_title(alert: Alert) -> str:
    """Markdown-safe: the city and kind come from the store."""
    return (f"{safe.md(data.city_label(alert.city, names))} — {safe.md(kind_label(alert.kind))}, "
            f"{alert.start.isoformat()} → {alert.end.isoformat()}")


def open_alert(alert_id: str | None) -> None:
    if alert_id:
        st.query_params["alert"] = alert_id
    else:
        st.query_params.pop("alert", None)


def overlaps_window(alert: Alert, first: date | None, last: date | None) -> bool:
    return (first is None or alert.end >= first) and (last is None or alert.start <= last)


def render_inbox() -> None:
    st.title("Alert inbox")
    everything = data.list_alerts(url)
    city_options = data.unique(sorted({a.city for a in everything}))
    left, middle, right = st.columns(3)
    cities = left.multiselect("City", city_options, key="alert_cities",
                              format_func=lambda c: data.city_label(c, names))
    kinds = middle.multiselect("Kind", list(ALERT_KINDS), key="alert_kinds",
                               format_func=kind_label)
    statuses = right.multiselect("Status", list(ALERT_STATUSES), key="alert_statuses")
    first, last = data.sidebar_window()
    alerts = [a for a in data.list_alerts(url, tuple(cities), tuple(kinds), tuple(statuses))
              if overlaps_window(a, first, last)]
    open_count = sum(a.status == "new" for a in alerts)
    st.caption(f"{len(alerts)} episode(s), {open_count} new — newest first")
    if not alerts:
        st.info("No alert episodes match these filters.")
        return

    pages = max(1, -(-len(alerts) // PAGE_SIZE))
    page = st.number_input("Page", 1, pages, 1, key="alert_page") if pages > 1 else 1
    widths = [2, 2, 3, 1.4, 2, 1.3, 1.2, 1.3]
    header = st.columns(widths)
    for column, label in zip(header, ["City", "Kind", "Window", "Peak", "Observed vs expected",
                                      "Severity", "Status", ""], strict=True):
        column.markdown(f"**{label}**")
    for alert in alerts[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]:
        row = st.columns(widths, vertical_alignment="center")
        row[0].markdown(safe.md(data.city_label(alert.city, names)))
        row[1].markdown(safe.md(kind_label(alert.kind) + (
            "" if alert.language_group == "all" else f" ({alert.language_group})")))
        row[2].write(f"{alert.start.isoformat()} → {alert.end.isoformat()}")
        row[3].write(alert.peak.isoformat())
        ratio = alert.observed / alert.expected if alert.expected else float("inf")
        row[4].write(f"{alert.observed:,.0f} vs {alert.expected:,.1f} (×{ratio:,.1f})")
        row[5].write(f"{alert.severity:.1f}")
        row[6].markdown(STATUS_ICONS.get(alert.status, safe.md(alert.status)))
        row[7].button("Open", key=f"open_{alert.id}", on_click=open_alert, args=(alert.id,))
    csv_download(alerts_frame(alerts), "alerts", "alerts_inbox", "Download alerts (CSV)")


def daily_series(alert: Alert) -> pd.DataFrame:
    first = alert.start - timedelta(days=BASELINE_DAYS)
    last = alert.end + timedelta(days=7)
    key = data.filter_key(cities=(alert.city,), date_from=first, date_to=last)
    frame = data.aggregate(url, key, "day")
    days = pd.DataFrame({"bucket": pd.date_range(first, last, freq="D")})
    merged = days.merge(frame[["bucket", "count", "negative"]], on="bucket", how="left")
    return merged.fillna({"count": 0, "negative": 0})


def episode_stories(alert: Alert) -> list[Article]:
    ids = data.evidence_story_ids(alert.evidence)
    if ids:
        found = {a.id: a for a in data.get_articles(url, tuple(ids))}
        stories = [found[i] for i in ids if i in found]
        if stories:
            return stories
    window = data.filter_key(cities=(alert.city,), date_from=alert.start, date_to=alert.end)
    return data.search(url, "", window, "newest", 15, 0).articles


PHASE_LABELS = {"onset": "first reports", "peak": "around the peak"}


def story_line(article: Article, city: str, phase: str | None = None) -> str:
    """Markdown for one story: every stored field through ui.safe."""
    day = article.published_at.date().isoformat() if article.published_at else "date unknown"
    tags = article.tags
    language = tags.language if tags else (article.language_hint or "und")
    tone = data.tone_word(tags.city_sentiment.get(city, tags.sentiment) if tags else None)
    where = f" · *{PHASE_LABELS[phase]}*" if phase in PHASE_LABELS else ""
    return (f"**{safe.link(article.title or article.url, article.url)}**  \n"
            f"{safe.md(article.outlet or article.domain)} · {safe.md(language)} · "
            f"{day} · tone {tone}{where}")


def render_mix(alert: Alert, key: str, group: str, title: str, target) -> None:
    frame = data.evidence_mix(alert.evidence, key)
    if frame.empty:
        window = data.filter_key(cities=(alert.city,), date_from=alert.start,
                                 date_to=alert.end)
        agg = data.aggregate(url, window, None, (group,), 12)
        frame = agg.rename(columns={group: "name"})[["name", "count"]]
    if group == "topic" and not frame.empty:
        info = data.topic_info(config)
        frame = frame.assign(name=frame["name"].map(lambda t: data.topic_label(str(t), info)))
    if frame.empty:
        target.caption(f"{title}: no data")
    else:
        target.altair_chart(charts.mix_bars(frame, title), width="stretch")


def render_terms(alert: Alert) -> None:
    frame = data.evidence_mix(alert.evidence, "terms")
    if frame.empty:
        foreground = data.filter_key(cities=(alert.city,), date_from=alert.start,
                                     date_to=alert.end)
        background = data.filter_key(cities=(alert.city,),
                                     date_from=alert.start - timedelta(days=BASELINE_DAYS),
                                     date_to=alert.start - timedelta(days=1))
        stats = data.term_stats(url, foreground, background, 15)
        frame = stats.rename(columns={"term": "name", "score": "count"})[["name", "count"]]
    if frame.empty:
        st.caption("No distinctive terms.")
        return
    st.markdown("**Distinctive terms:** " + ", ".join(safe.code(t) for t in frame["name"][:15]))


def render_triage(alert: Alert) -> None:
    st.subheader("Triage")
    # only the moves the lifecycle allows (alerts.episodes, as `cityradar alerts ack/resolve`);
    # choosing the current status adds a note only
    choices = triage_choices(alert.status)
    left, right = st.columns([1, 3])
    status = left.selectbox("Set status", choices, key=f"triage_status_{alert.id}")
    note = right.text_area("Note", key=f"triage_note_{alert.id}", height=80,
                           placeholder="What was checked, who was told, what follows…")
    if st.button("Save triage", key=f"triage_save_{alert.id}", type="primary"):
        try:
            data.triage_alert(url, alert.id, status, note, by=auth.triage_user())
        except Exception as exc:
            st.error(f"Could not save the triage: {safe.md(exc)}")
        else:
            st.session_state["triage_saved"] = f"Alert marked {status}."
            st.rerun()
    if message := st.session_state.pop("triage_saved", None):
        st.success(message)
    if alert.history:
        with st.expander(f"History ({len(alert.history)})", expanded=bool(alert.notes)):
            for update in alert.history:
                note_text = f" — {safe.md(update.note)}" if update.note else ""
                who = f" ({safe.md(update.by)})" if update.by else ""
                st.markdown(f"- `{update.at:%Y-%m-%d %H:%M}` {safe.md(update.what)}{who}"
                            f"{note_text}")


def render_episode(alert_id: str) -> None:
    st.button("← Back to inbox", on_click=open_alert, args=(None,), key="back_to_inbox")
    alert = data.get_alert(url, alert_id)
    if alert is None:
        st.error(f"No alert with id {safe.md(repr(alert_id))}.")
        return
    st.title(alert_title(alert))
    ratio = alert.observed / alert.expected if alert.expected else float("inf")
    metrics = st.columns(5)
    metrics[0].metric("Peak day", alert.peak.isoformat())
    metrics[1].metric("Observed", f"{alert.observed:,.0f}")
    metrics[2].metric("Expected", f"{alert.expected:,.1f}", f"×{ratio:,.1f}",
                      delta_color="inverse")
    metrics[3].metric("Severity", f"{alert.severity:.1f}")
    metrics[4].metric("Status", safe.md(alert.status))

    series = daily_series(alert)
    st.altair_chart(charts.episode_series(series, alert.start, alert.end,
                                          alert.peak), width="stretch")
    csv_download(series, f"{alert.city}-daily-counts", "episode_series",
                 "Download daily counts (CSV)")
    render_terms(alert)

    st.subheader("Stories behind it")
    stories = episode_stories(alert)
    if not stories:
        st.info("No stored stories for this episode.")
    phases = {s["id"]: s.get("phase") for s in data.evidence_story_dicts(alert.evidence)}
    for article in stories:
        st.markdown(story_line(article, alert.city, phases.get(article.id)))
        show_translation(article)
    if stories:
        csv_download(articles_frame(stories), f"{alert.city}-episode-stories", "episode_stories",
                     "Download stories (CSV)")

    st.subheader("What drives it")
    columns = st.columns(3)
    render_mix(alert, "topics", "topic", "Topics", columns[0])
    render_mix(alert, "languages", "language", "Languages", columns[1])
    render_mix(alert, "outlets", "outlet", "Outlets", columns[2])
    render_triage(alert)


try:
    selected = st.query_params.get("alert")
    if selected:
        render_episode(selected)
    else:
        render_inbox()
except Exception as exc:  # a store failure mid-page: say so, keep the app alive
    data.show_failure("Loading alerts", exc)
