"""Report charts as inline SVG (matplotlib, no pyplot): sharp in print and PDF, no network.

Text stays text in the SVG (``svg.fonttype: none``) and names a font stack with a CJK font, so
Chinese city names render wherever the report is opened (browser or WeasyPrint).
"""

from __future__ import annotations

import io
import math
import re
import textwrap
import warnings
from collections.abc import Sequence
from datetime import date
from typing import Any

import matplotlib

matplotlib.use("Agg")  # never a GUI backend (the report is built on servers)

from matplotlib import rcParams
from matplotlib.colors import LinearSegmentedColormap, LogNorm, TwoSlopeNorm
from matplotlib.figure import Figure

FONTS = ["DejaVu Sans", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "sans-serif"]
ENGLISH = "#1f77b4"
OTHER = "#9ecae1"
NEGATIVE = "#d62728"
POSITIVE = "#2ca02c"
GREY = "#777777"
LINES = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"]

rcParams.update({
    "svg.fonttype": "none",  # text as text: sharp, selectable, CJK via the page's fonts
    "svg.hashsalt": "cityradar",  # stable ids: the same data gives the same file
    "font.family": "sans-serif",
    "font.sans-serif": FONTS,
    "font.size": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 9,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "legend.frameon": False,
})


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    with warnings.catch_warnings():
        # text stays text: the viewer's fonts (with the CJK fallback) draw it, so a glyph
        # matplotlib's first font lacks is not an error here
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
        fig.savefig(buffer, format="svg")  # fixed margins (subplots_adjust): one draw
    text = buffer.getvalue()
    text = text[text.index("<svg"):]  # drop the XML prolog and doctype: inlined in HTML
    # scale with the page: width 100 %, height from the viewBox
    return re.sub(r'<svg([^>]*?) width="[^"]+" height="[^"]+"', r'<svg\1 width="100%"', text,
                  count=1)


def _sparse_labels(months: Sequence[date]) -> list[str]:
    """Every other month (counting back from the last), with the year under January."""
    last = len(months) - 1
    labels = []
    for i, m in enumerate(months):
        if (last - i) % 2:
            labels.append("")
        else:
            labels.append(m.strftime("%b\n%Y") if m.month in (1, 2) or i in (0, 1)
                          else m.strftime("%b"))
    return labels


def _month_labels(months: Sequence[date]) -> list[str]:
    labels = []
    for i, m in enumerate(months):
        labels.append(m.strftime("%b\n%Y") if i == 0 or m.month == 1 else m.strftime("%b"))
    return labels


def city_panels(trend: Sequence[dict[str, Any]], topics: Sequence[dict[str, Any]]) -> str:
    """Three panels for one city: monthly reports (English vs other languages), monthly tone
    and share negative, and the month's topic mix coloured by tone."""
    fig = Figure(figsize=(7.4, 2.0))
    grid = fig.subplots(1, 4, gridspec_kw={"width_ratios": [1.2, 1.05, 0.5, 0.8],
                                           "wspace": 0.2})
    grid[2].set_axis_off()  # room for the topic names of the third panel
    axes = [grid[0], grid[1], grid[3]]
    fig.subplots_adjust(left=0.055, right=0.99, top=0.88, bottom=0.2)
    months = [t["month"] for t in trend]
    x = list(range(len(months)))
    labels = _sparse_labels(months)
    english = [t["english"] or 0 for t in trend]
    other = [t["other"] or 0 for t in trend]

    ax = axes[0]
    ax.bar(x, english, color=ENGLISH, label="English", width=0.75)
    ax.bar(x, other, bottom=english, color=OTHER, label="other languages", width=0.75)
    ax.set_title("Reports per month")
    ax.set_xticks(x, labels, fontsize=6)
    ax.tick_params(axis="y", labelsize=6.5)
    ax.legend(fontsize=6, loc="upper left", handlelength=1)
    ax.bar(x[-1:], [english[-1] + other[-1]], fill=False, edgecolor="#333", linewidth=0.8,
           width=0.85)

    ax = axes[1]
    tone = [t["tone"] if t["tone"] is not None else math.nan for t in trend]
    share = [t["negative_share"] if t["negative_share"] is not None else math.nan
             for t in trend]
    ax.bar(x, share, color=NEGATIVE, alpha=0.35, width=0.75, label="share negative")
    ax.plot(x, tone, color="#222", marker="o", markersize=2.5, linewidth=1.2, label="mean tone")
    ax.axhline(0, color=GREY, linewidth=0.6)
    ax.set_ylim(-1, 1)
    ax.set_title("Tone per month")
    ax.set_xticks(x, labels, fontsize=6)
    ax.tick_params(axis="y", labelsize=6.5)
    ax.legend(fontsize=6, loc="lower left", handlelength=1, ncol=2)

    ax = axes[2]
    shown = list(topics)[:5][::-1]
    if shown:
        names = [_two_lines(t["label"], 15) for t in shown]
        counts = [t["count"] for t in shown]
        colors = [_tone_color(t.get("tone")) for t in shown]
        ax.barh(range(len(shown)), counts, color=colors, height=0.7)
        ax.set_yticks(range(len(shown)), names, fontsize=6, linespacing=0.95)
        ax.tick_params(axis="x", labelsize=6.5)
    else:
        ax.text(0.5, 0.5, "no topics", ha="center", va="center", transform=ax.transAxes,
                color=GREY)
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set_title("Topics this month")
    return _svg(fig)


def _tone_color(tone: float | None) -> str:
    if tone is None:
        return GREY
    if tone <= -0.05:
        return NEGATIVE
    if tone >= 0.05:
        return POSITIVE
    return "#9e9e9e"


def _two_lines(text: str, width: int) -> str:
    """A topic label on at most two lines of ``width`` characters (the whole label where it
    fits: "Politics &\ndiplomacy", not "Politics & diplom…")."""
    lines = textwrap.wrap(text, width) or [""]
    if len(lines) > 2:
        lines = [lines[0], _short(" ".join(lines[1:]), width)]
    return "\n".join(lines)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def trend_lines(series: dict[str, Sequence[int | None]], months: Sequence[date], title: str
                ) -> str:
    """Monthly reports for a few cities, one line each (labels at the line ends)."""
    fig = Figure(figsize=(7.4, 2.4))
    ax = fig.subplots()
    fig.subplots_adjust(left=0.08, right=0.99, top=0.9, bottom=0.16)
    x = list(range(len(months)))
    for i, (name, values) in enumerate(series.items()):
        color = LINES[i % len(LINES)]
        ys = [math.nan if v is None else v for v in values]
        ax.plot(x, ys, color=color, marker="o", markersize=2.5, linewidth=1.5, label=name)
    ax.set_xticks(x, _month_labels(months), fontsize=6.5)
    ax.set_ylabel("reports", fontsize=7)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left", ncol=min(len(series), 5))
    ax.set_ylim(bottom=0)
    return _svg(fig)


def heat_map(rows: Sequence[str], months: Sequence[date],
             values: Sequence[Sequence[float | None]],
             title: str, kind: str = "volume") -> str:
    """Cities x months; volume on a log colour scale, or mean tone on a diverging scale."""
    height = 0.22 * len(rows) + 0.9
    fig = Figure(figsize=(7.4, height))
    ax = fig.subplots()
    fig.subplots_adjust(left=0.17, right=0.88, top=1 - 0.3 / height, bottom=0.5 / height)
    data = [[math.nan if v is None else v for v in row] for row in values]
    if kind == "volume":
        top = max([v for row in data for v in row if not math.isnan(v)] + [1])
        masked = [[v if v and v > 0 else math.nan for v in row] for row in data]
        cmap = LinearSegmentedColormap.from_list("vol", ["#f7fbff", "#6baed6", "#08306b"])
        image = ax.imshow(masked, aspect="auto", cmap=cmap,
                          norm=LogNorm(vmin=1, vmax=max(top, 10)))
        label = "reports (log scale)"
    else:
        cmap = LinearSegmentedColormap.from_list("tone", [NEGATIVE, "#f7f7f7", POSITIVE])
        image = ax.imshow(data, aspect="auto", cmap=cmap,
                          norm=TwoSlopeNorm(vmin=-0.6, vcenter=0, vmax=0.6))
        label = "mean tone"
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    ax.set_xticks(range(len(months)), _month_labels(months), fontsize=6.5)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    for i, row in enumerate(data):
        for j, v in enumerate(row):
            if math.isnan(v):
                continue
            text = f"{v:,.0f}" if kind == "volume" else f"{v:+.2f}"
            dark = (kind == "volume" and v > (max(top, 10) ** 0.6)) or \
                (kind != "volume" and abs(v) > 0.4)
            ax.text(j, i, text, ha="center", va="center", fontsize=5.5,
                    color="white" if dark else "#222")
    ax.set_title(title)
    bar = fig.colorbar(image, ax=ax, fraction=0.025, pad=0.01)
    bar.ax.tick_params(labelsize=6)
    bar.set_label(label, fontsize=6.5)
    return _svg(fig)
