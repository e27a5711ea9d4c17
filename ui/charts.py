"""Altair charts for the UI pages; each takes a plain DataFrame and returns a chart."""

from __future__ import annotations

from datetime import date, timedelta

import altair as alt
import pandas as pd

NEGATIVE_COLOR = "#d62728"
VOLUME_COLOR = "#1f77b4"
WINDOW_COLOR = "#ff7f0e"
KIND_COLORS = alt.Scale(domain=["opportunity", "risk", "neutral"],
                        range=["#2ca02c", "#d62728", "#9e9e9e"])


def episode_series(daily: pd.DataFrame, start: date, end: date, peak: date) -> alt.Chart:
    """Daily articles and negative articles with the episode window shaded and the peak marked.

    ``daily`` has columns bucket (Timestamp), count, negative.
    """
    long = daily.melt(id_vars=["bucket"], value_vars=["count", "negative"],
                      var_name="series", value_name="articles")
    long["series"] = long["series"].map({"count": "all articles", "negative": "negative"})
    window = pd.DataFrame({"start": [pd.Timestamp(start)],
                           "end": [pd.Timestamp(end + timedelta(days=1))],
                           "label": ["episode window"]})
    shade = alt.Chart(window).mark_rect(opacity=0.15, color=WINDOW_COLOR).encode(
        x="start:T", x2="end:T", tooltip=["label"])
    peak_rule = alt.Chart(pd.DataFrame({"peak": [pd.Timestamp(peak)]})).mark_rule(
        color=WINDOW_COLOR, strokeDash=[4, 3]).encode(x="peak:T")
    lines = alt.Chart(long).mark_line(point=alt.OverlayMarkDef(size=18)).encode(
        x=alt.X("bucket:T", title="day"),
        y=alt.Y("articles:Q", title="articles per day"),
        color=alt.Color("series:N", scale=alt.Scale(domain=["all articles", "negative"],
                                                    range=[VOLUME_COLOR, NEGATIVE_COLOR]),
                        legend=alt.Legend(orient="top", title=None)),
        tooltip=[alt.Tooltip("bucket:T", title="day"), "series:N", "articles:Q"],
    )
    return (shade + peak_rule + lines).properties(height=280)


def mix_bars(frame: pd.DataFrame, title: str, name: str = "name", value: str = "count",
             color: str | None = None, limit: int = 12) -> alt.Chart:
    """Horizontal bars, largest first."""
    data = frame.nlargest(limit, value) if len(frame) > limit else frame
    encoding: dict = {
        "x": alt.X(f"{value}:Q", title=value),
        "y": alt.Y(f"{name}:N", sort="-x", title=None),
        "tooltip": list(data.columns),
    }
    if color:
        encoding["color"] = alt.Color(f"{color}:N", scale=KIND_COLORS,
                                      legend=alt.Legend(orient="top", title=None))
    chart = alt.Chart(data, title=title)
    chart = chart.mark_bar() if color else chart.mark_bar(color=VOLUME_COLOR)
    return chart.encode(**encoding).properties(height=alt.Step(22))


def stacked_volume(frame: pd.DataFrame, series: str, title: str, interval: str = "day"
                   ) -> alt.Chart:
    """Stacked bars of counts per time bucket, coloured by ``series``.

    Months are drawn as ordinal bands (a temporal axis makes a few monthly bars hair-thin).
    """
    x = (alt.X("yearmonth(bucket):O", title=None) if interval == "month"
         else alt.X("bucket:T", title=None))
    return alt.Chart(frame, title=title).mark_bar().encode(
        x=x,
        y=alt.Y("count:Q", title="articles", stack="zero"),
        color=alt.Color(f"{series}:N", legend=alt.Legend(orient="top", title=None)),
        tooltip=[alt.Tooltip("bucket:T", title="from"), f"{series}:N", "count:Q"],
    ).properties(height=260)


def tone_trend(weekly: pd.DataFrame) -> tuple[alt.LayerChart, alt.Chart]:
    """Mean tone per week (line) above the share of negative coverage (bars).

    ``weekly`` has columns bucket, mean_tone, negative_share, count.
    """
    base = alt.Chart(weekly).encode(x=alt.X("bucket:T", title="week"))
    tone = base.mark_line(point=True, color=VOLUME_COLOR).encode(
        y=alt.Y("mean_tone:Q", title="mean tone", scale=alt.Scale(domain=[-1, 1])),
        tooltip=[alt.Tooltip("bucket:T", title="week"), alt.Tooltip("mean_tone:Q", format="+.2f"),
                 "count:Q"],
    ).properties(height=240, title="Mean tone per week")
    zero = alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(color="#999").encode(y="y:Q")
    share = base.mark_area(color=NEGATIVE_COLOR, opacity=0.6, interpolate="step-after").encode(
        y=alt.Y("negative_share:Q", title="share negative", axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])),
        tooltip=[alt.Tooltip("bucket:T", title="week"),
                 alt.Tooltip("negative_share:Q", format=".0%"), "count:Q"],
    ).properties(height=220, title="Share of negative coverage")
    # two charts, not a vconcat: Streamlit stretches single charts to the container width
    return tone + zero, share
