"""Overview (leadership): the city ranking for a month with change arrows, monthly trend lines,
a cities x months heat map, the month's alert episodes per city, the CICII index when
indicators have been imported, and downloads of the monthly report (HTML, PDF) and the ranking
(CSV). Everything comes from the store's query API through ``reports.ranking``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from reports.ranking import MonthFigures, add_months, month_figures
from ui import data
from ui.downloads import csv_download

VOICES = {"Foreign media": "foreign", "Own voice": "own", "Both": "all"}
TOP_TREND = 5

url = data.store_url()
config = str(data.config_dir())


@st.cache_data(ttl=data.CACHE_TTL, show_spinner=False)
def figures(store_url: str, config_path: str, month: date, voice: str) -> MonthFigures:
    from nlp.gazetteer import load_cities

    cities = load_cities(Path(config_path))
    labels = {k: v[0] for k, v in data.topic_info(config_path).items()}
    return month_figures(data.get_store(store_url), month, cities, voice=voice,
                         topic_labels=labels, with_details=False)


@st.cache_data(ttl=data.CACHE_TTL, show_spinner=False)
def alert_counts(store_url: str, month: date) -> dict[str, int]:
    last = add_months(month, 1)
    counts: dict[str, int] = {}
    for alert in data.get_store(store_url).list_alerts(since=month, limit=5000):
        if alert.start < last and alert.end >= month:
            counts[alert.city] = counts.get(alert.city, 0) + 1
    return counts


@st.cache_data(ttl=300, show_spinner=False)
def report_file(store_url: str, config_path: str, month: date, voice: str, fmt: str) -> bytes:
    from reports.monthly import build_report, render_html

    report = build_report(data.get_store(store_url), config_path, month, voice=voice)
    if fmt == "pdf":
        from reports.pdf import render_pdf

        return render_pdf(report)
    return render_html(report).encode("utf-8")


@st.cache_data(ttl=data.CACHE_TTL, show_spinner=False)
def index_table(store_url: str, config_path: str, month: date) -> pd.DataFrame | None:
    from reports.cicii import index_for_period, period_covering

    store = data.get_store(store_url)
    period = period_covering(store, month)
    if period is None:
        return None
    result = index_for_period(store, config_path, period[0], period[1])
    names = data.city_names(config_path)
    rows = [{"Rank": c.rank, "City": data.city_label(c.city, names),
             **{k.title(): v for k, v in c.dimensions.items()}, "Total": c.total,
             "Tier": c.tier} for c in result.cities]
    frame = pd.DataFrame(rows)
    frame.attrs["period"] = f"{period[0].isoformat()} to {period[1].isoformat()}"
    return frame


def months_available() -> list[date]:
    span = data.date_range(url, data.filter_key())
    if span is None:
        return []
    first, last = span[0].replace(day=1), span[1].replace(day=1)
    months, current = [], last
    while current >= first:
        months.append(current)
        current = add_months(current, -1)
    return months


def arrow(change: int | None) -> str:
    if change is None:
        return ""
    return f"▲ {change}" if change > 0 else f"▼ {-change}" if change < 0 else "="


def ranking_frame(f: MonthFigures, alerts: dict[str, int]) -> pd.DataFrame:
    prev, year_ago = add_months(f.month, -1), add_months(f.month, -12)
    rows = []
    for c in f.cities:
        rows.append({
            "Rank": c.rank, "Move": arrow(c.rank_change), "City": c.label,
            "Reports": c.reports, "English": c.english, "Other": c.other, "Unique": c.unique,
            f"vs {prev:%b}": None if c.mom is None else c.mom * 100,
            f"vs {year_ago:%b %Y}": None if c.yoy is None else c.yoy * 100,
            "Tone": c.tone, "Tone Δ": c.tone_change,
            "Negative": None if c.negative_share is None else c.negative_share * 100,
            "Alerts": alerts.get(c.city, 0),
        })
    frame = pd.DataFrame(rows)
    # a column with nothing to show (no data a year back yet) is left out, not shown as None
    return frame.drop(columns=[c for c in frame.columns if frame[c].isna().all()])


def trend_frame(f: MonthFigures, cities: list[str]) -> pd.DataFrame:
    rows = []
    for c in f.cities:
        if c.label not in cities:
            continue
        for t in c.trend:
            if t["reports"] is not None:
                rows.append({"month": pd.Timestamp(t["month"]), "city": c.label,
                             "reports": t["reports"], "tone": t["tone"]})
    return pd.DataFrame(rows, columns=["month", "city", "reports", "tone"])


def heat_chart(f: MonthFigures, measure: str) -> alt.Chart:
    rows = []
    for c in f.cities:
        for t in c.trend:
            if t["reports"] is None:
                continue
            rows.append({"city": c.label, "rank": c.rank, "month": t["month"].strftime("%Y-%m"),
                         "reports": t["reports"],
                         "tone": None if t["tone"] is None else round(t["tone"], 2)})
    frame = pd.DataFrame(rows)
    order = [c.label for c in f.cities]
    if measure == "tone":
        color = alt.Color("tone:Q", title="mean tone",
                          scale=alt.Scale(scheme="redyellowgreen", domain=[-0.6, 0.6]))
    else:
        color = alt.Color("reports:Q", title="reports",
                          scale=alt.Scale(type="symlog", scheme="blues"))
    base = alt.Chart(frame).encode(
        x=alt.X("month:O", title=None), y=alt.Y("city:N", sort=order, title=None))
    cells = base.mark_rect().encode(color=color, tooltip=["city", "month", "reports", "tone"])
    if measure == "tone":
        dark = (alt.datum.tone > 0.4) | (alt.datum.tone < -0.4)
    else:  # dark cells from about a third of the way up the log scale
        dark = alt.datum.reports > max(int(frame["reports"].max() ** 0.6), 10)
    text = base.mark_text(fontSize=10).encode(
        text=alt.Text("reports:Q" if measure != "tone" else "tone:Q",
                      format=",d" if measure != "tone" else "+.2f"),
        color=alt.condition(dark, alt.value("white"), alt.value("#222")))
    title = "Reports per city and month" if measure != "tone" else "Mean tone per city and month"
    return (cells + text).properties(height=alt.Step(24), title=title)


try:
    st.title("Overview")
    st.caption("Monthly coverage per city for leadership: ranking, trends, tone, alerts.")
    months = months_available()
    if not months:
        st.info("The store holds no dated articles yet: no month to report on.")
        st.stop()
    left, middle, right = st.columns([2, 3, 2])
    month = left.selectbox("Month", months, key="overview_month",
                           format_func=lambda m: m.strftime("%B %Y"))
    voice_label = middle.radio("Coverage", list(VOICES), horizontal=True, key="overview_voice",
                               help="Foreign media vs the cities' own foreign-language "
                                    "channels.")
    voice = VOICES[voice_label]
    measure = right.radio("Heat map", ["volume", "tone"], horizontal=True, key="overview_heat")
    f = figures(url, config, month, voice)
    alerts = alert_counts(url, month)

    prev = add_months(month, -1)
    metrics = st.columns(4)
    metrics[0].metric("Reports", f"{f.total:,}",
                      delta=f"{f.total - f.prev_total:+,} on {prev:%b}" if f.prev_total
                      else None)
    metrics[1].metric("Unique stories", f"{f.unique_total:,}")
    metrics[2].metric("Top city", f.cities[0].name if f.total else "—")
    metrics[3].metric("Alert episodes", f"{sum(alerts.values())}")

    st.subheader(f"City ranking, {month:%B %Y}")
    table = ranking_frame(f, alerts)
    # pixel widths: the whole ranking fits the page without scrolling sideways
    percent = st.column_config.NumberColumn(format="%+.0f%%", width=72)
    count = st.column_config.NumberColumn(format="localized", width=62)
    st.dataframe(
        table, hide_index=True, width="stretch", height=35 * (len(table) + 1) + 3,
        column_config={
            "Rank": st.column_config.NumberColumn(width=46),
            "Move": st.column_config.TextColumn(help=f"Rank change on {prev:%B}", width=52),
            "City": st.column_config.TextColumn(width=120),
            "Reports": st.column_config.NumberColumn(format="localized", width=66,
                                                     help="Every copy of a story (reach)"),
            "English": count, "Other": count,
            "Unique": st.column_config.NumberColumn(format="localized", width=62,
                                                    help="Unique stories (first copies)"),
            f"vs {prev:%b}": percent, f"vs {add_months(month, -12):%b %Y}": percent,
            "Tone": st.column_config.NumberColumn(format="%+.2f", width=60,
                                                  help="Mean tone: -1 negative … +1 positive"),
            "Tone Δ": st.column_config.NumberColumn(format="%+.2f", width=62,
                                                    help=f"Change on {prev:%B}"),
            "Negative": st.column_config.NumberColumn(format="%.0f%%", width=70,
                                                      help="Share of negative reports"),
            "Alerts": st.column_config.NumberColumn(width=56,
                                                    help="Alert episodes in the month"),
        })
    if f"vs {add_months(month, -12):%b %Y}" not in table.columns:
        st.caption("Year-over-year change appears once the store holds coverage from a year "
                   "earlier.")

    buttons = st.columns(3)
    stamp = f"{month:%Y-%m}"
    csv_download(table, f"cityradar-ranking-{stamp}", "overview_ranking",
                 label="Ranking (CSV)", target=buttons[0])
    buttons[1].download_button(
        "Monthly report (HTML)", lambda: report_file(url, config, month, voice, "html"),
        file_name=f"cityradar-report-{stamp}.html", mime="text/html", key="download_html",
        icon=":material/description:")
    buttons[2].download_button(
        "Monthly report (PDF)", lambda: report_file(url, config, month, voice, "pdf"),
        file_name=f"cityradar-report-{stamp}.pdf", mime="application/pdf",
        key="download_pdf", icon=":material/picture_as_pdf:")

    st.subheader("Monthly trend")
    by_volume = [c.label for c in f.cities if c.reports]
    chosen = st.multiselect("Cities", [c.label for c in f.cities],
                            default=by_volume[:TOP_TREND], key="overview_cities")
    trend = trend_frame(f, chosen)
    if trend.empty:
        st.caption("Choose cities to draw their monthly coverage.")
    else:
        st.altair_chart(alt.Chart(trend, title="Reports per month").mark_line(point=True).encode(
            x=alt.X("yearmonth(month):O", title=None),
            y=alt.Y("reports:Q", title="reports"),
            color=alt.Color("city:N", sort=chosen, legend=alt.Legend(orient="top", title=None)),
            tooltip=["city", alt.Tooltip("yearmonth(month):O", title="month"), "reports",
                     alt.Tooltip("tone:Q", format="+.2f")],
        ).properties(height=300), width="stretch")

    st.altair_chart(heat_chart(f, measure), width="stretch")

    index = index_table(url, config, month)
    if index is not None:
        st.subheader(f"CICII influence index, {index.attrs['period']}")
        st.dataframe(index, hide_index=True, width="stretch", key="overview_index",
                     column_config={k: st.column_config.NumberColumn(format="%.2f")
                                    for k in ("Media", "Social", "Innovation", "Cognition",
                                              "Total")})
        csv_download(index, "cityradar-cicii-" + index.attrs["period"].replace(" to ", "_"),
                     "overview_index", label="CICII index (CSV)")
except Exception as exc:  # a store failure mid-page: say so, keep the app alive
    data.show_failure("Loading the overview", exc)
