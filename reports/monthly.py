"""The monthly coverage report for leadership: build the model from the store, render it.

``build_report(store, config_dir, month, ...)`` reads the month's figures (``reports.ranking``),
writes the summary sentences from them, attaches the CICII index where indicator files for a
period containing the month have been imported, and returns a ``Report``.
``render_html`` (one self-contained file: inline SVG charts, inline CSS, no network),
``render_markdown`` (for e-mail and wikis) and ``reports.pdf.render_pdf`` turn it into files
(``reports.output.write_report`` picks one by format).

Text from outside (titles, outlets) is escaped: HTML by Jinja2's autoescape, Markdown by
``md_escape``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from reports.ranking import (
    TREND_MONTHS,
    MonthFigures,
    add_months,
    alert_story,
    gdelt_timelines,
    month_end,
    month_figures,
)
from search.store import Store

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"
TOP_TREND_CITIES = 5
MIN_TONE_REPORTS = 20  # a tone turn needs at least this many reports in both months
TONE_TURN = 0.15  # mean tone moved by at least this much, or share negative by 15 points
ALERT_KIND_LABELS = {"volume_surge": "volume surge", "negative_spike": "negative spike"}
LANGUAGE_GROUP_LABELS = {"all": "all languages", "en": "English", "other": "other languages"}
VOICE_LABELS = {"foreign": "foreign media (the cities' own channels left out)",
                "own": "the cities' own foreign-language channels only",
                "all": "foreign media and the cities' own channels"}


@dataclass(slots=True)
class Report:
    figures: MonthFigures
    summary: list[str]
    generated_at: datetime
    store_url: str
    city_scope: str
    index: Any | None = None  # reports.cicii.IndexResult for a stored period with the month
    index_names: dict[str, str] = field(default_factory=dict)
    charts: dict[str, str] = field(default_factory=dict)  # name -> inline SVG
    gdelt_cities: list[str] = field(default_factory=list)

    @property
    def month(self) -> date:
        return self.figures.month

    @property
    def heading(self) -> str:
        return {"foreign": "Foreign media coverage of the watched cities",
                "own": "The watched cities' own foreign-language channels",
                "all": "Foreign-language coverage of the watched cities"}[self.figures.voice]

    @property
    def title(self) -> str:
        return f"{self.heading} — {self.month:%B %Y}"

    def filename(self, fmt: str) -> str:
        return f"cityradar-report-{self.month:%Y-%m}.{fmt}"


# -- building ------------------------------------------------------------------------------------


def build_report(store: Store, config_dir: Path | str, month: date,
                 city_ids: Sequence[str] = (), voice: str = "foreign",
                 charts: bool = True) -> Report:
    """The report model for ``month`` (first day). ``city_ids`` limits the cities (default:
    every watched city of config/cities.yaml). Unknown city ids raise ValueError."""
    from nlp.gazetteer import load_cities
    from nlp.topics import load_topics

    config_dir = Path(config_dir)
    cities = load_cities(config_dir)
    if city_ids:
        known = {c.id: c for c in cities}
        unknown = [c for c in city_ids if c not in known]
        if unknown:
            raise ValueError(f"unknown city id(s): {', '.join(unknown)} "
                             f"(known: {', '.join(known)})")
        cities = [known[c] for c in dict.fromkeys(city_ids)]
    try:
        labels = {t.id: t.label for t in load_topics(config_dir)}
    except Exception as exc:  # the report still works with topic ids
        log.warning("topic labels unavailable: %s", exc)
        labels = {}
    timelines = gdelt_timelines(store, [c.id for c in cities])
    figures = month_figures(store, month, cities, voice=voice, topic_labels=labels,
                            timelines=timelines)
    report = Report(
        figures=figures, summary=[], generated_at=datetime.now(UTC).replace(microsecond=0),
        store_url=_safe_url(getattr(store, "url", "")),
        city_scope=("all watched cities" if not city_ids
                    else ", ".join(c.name for c in cities)),
        gdelt_cities=sorted(timelines),
    )
    report.index, report.index_names = _index(store, config_dir, month, [c.id for c in cities],
                                              {c.id: c.name for c in cities})
    report.summary = summary(report)
    if charts:
        report.charts = build_charts(figures)
    return report


def _safe_url(url: str) -> str:
    """The store URL without credentials or query (never print secrets into a report)."""
    url = re.sub(r"//[^/@]+@", "//", url)
    return url.split("?", 1)[0]


def _index(store: Store, config_dir: Path, month: date, ids: list[str],
           names: dict[str, str]) -> tuple[Any | None, dict[str, str]]:
    from reports.cicii import index_for_period, period_covering

    try:
        period = period_covering(store, month)
        if period is None:
            return None, names
        return index_for_period(store, config_dir, period[0], period[1], ids), names
    except Exception as exc:  # the index is an extra: never lose the report over it
        log.warning("CICII index for %s not shown: %s", month, exc)
        return None, names


def build_charts(figures: MonthFigures) -> dict[str, str]:
    from reports import charts

    months = figures.months
    out: dict[str, str] = {}
    top = [c for c in figures.cities if c.reports][:TOP_TREND_CITIES]
    if top:
        out["trend"] = charts.trend_lines(
            {c.name: [t["reports"] for t in c.trend] for c in top}, months,
            f"Reports per month, the {len(top)} most-covered cities of {figures.month:%B %Y}")
    rows = figures.cities
    out["heat"] = charts.heat_map(
        [c.label for c in rows], months,
        [[t["reports"] for t in c.trend] for c in rows],
        "Reports per city and month")
    out["tone_heat"] = charts.heat_map(
        [c.label for c in rows], months, [[t["tone"] for t in c.trend] for c in rows],
        "Mean tone per city and month (−1 negative … +1 positive)", kind="tone")
    for city in rows:
        if city.reports or any(t["reports"] for t in city.trend):
            out[f"city:{city.city}"] = charts.city_panels(city.trend, city.topics)
    return out


# -- the summary ---------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * 100:+,.0f}%".replace("-", "−")


def _signed(value: float, fmt: str = "+,.0f") -> str:
    return format(value, fmt).replace("-", "−")


def _names(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def summary(report: Report) -> list[str]:
    """Three to five sentences about the month, written from the figures."""
    f = report.figures
    month, prev = f"{f.month:%B %Y}", f"{add_months(f.month, -1):%B}"
    cities = f.cities
    n = len(cities)
    who = {"foreign": "Foreign media", "own": "The cities' own channels",
           "all": "Foreign media and the cities' own channels"}[f.voice]
    sentences: list[str] = []
    if not f.total:
        sentences.append(f"{who} published no reports on the {n} watched cities in {month} "
                         f"that the store holds.")
        return sentences
    trend = ""
    if f.prev_total:
        direction = "up" if f.total >= f.prev_total else "down"
        trend = f", {direction} {abs((f.total - f.prev_total) / f.prev_total) * 100:,.0f}% " \
                f"on {prev} ({f.prev_total:,})"
    sentences.append(
        f"In {month}, {who.lower() if f.voice != 'foreign' else 'foreign media'} published "
        f"{f.total:,} reports on the {n} watched cities ({f.unique_total:,} unique stories)"
        f"{trend}.")
    leader = cities[0]
    lead = (f"{leader.name} led the ranking with {leader.reports:,} reports "
            f"({leader.reports / f.total * 100:.0f}% of the total)")
    if leader.prev_rank and leader.prev_rank != 1:
        former = next((c for c in cities if c.prev_rank == 1), None)
        lead += f", taking first place from {former.name}" if former else ", up from " \
            f"rank {leader.prev_rank}"
    elif leader.prev_rank == 1:
        lead += ", as in " + prev
    sentences.append(lead + ".")
    movers = [c for c in cities if c.prev_reports or c.reports]
    if f.prev_total and movers:
        up = max(movers, key=lambda c: (c.reports - c.prev_reports, c.reports))
        down = min(movers, key=lambda c: (c.reports - c.prev_reports, -c.reports))
        parts = []
        if up.reports > up.prev_reports:
            parts.append(f"the biggest rise was {up.name}'s "
                         f"({_signed(up.reports - up.prev_reports)} reports, {_pct(up.mom)}, "
                         f"to rank {up.rank})")
        if down.reports < down.prev_reports:
            parts.append(f"the biggest fall {down.name}'s "
                         f"({_signed(down.reports - down.prev_reports)}, {_pct(down.mom)})")
        if parts:
            text = "; ".join(parts)
            sentences.append(text[0].upper() + text[1:] + ".")
    alerted = [c for c in cities if c.alerts]
    if alerted:
        described = []
        for c in alerted:
            kinds = sorted({ALERT_KIND_LABELS.get(a.kind, a.kind) for a in c.alerts})
            first = min(a.start for a in c.alerts)
            since = (f"running since {first:%-d %b %Y}" if first < f.month
                     else f"from {first:%-d %b}")
            described.append(f"{c.name} ({' and '.join(kinds)}, {since})")
        sentences.append(f"Alert episodes ran for {_names(described)}.")
    else:
        sentences.append("No alert episode ran this month.")
    turns = []
    for c in cities:
        if c.reports < MIN_TONE_REPORTS or c.prev_reports < MIN_TONE_REPORTS:
            continue
        tone_moved = c.tone_change is not None and abs(c.tone_change) >= TONE_TURN
        share_moved = (c.negative_share_change is not None
                       and abs(c.negative_share_change) >= TONE_TURN)
        if not (tone_moved or share_moved):
            continue
        worse = (c.tone_change or 0) < 0 or (c.negative_share_change or 0) > 0
        turns.append((worse, c))
    if turns:
        parts = []
        for worse, c in turns[:3]:
            before, now = c.prev_tone or 0, c.tone or 0
            # "turned" only when the mean tone crossed zero; otherwise it got worse or better
            if worse:
                verb = "turned negative" if before >= 0 > now else "worsened"
            else:
                verb = "turned positive" if before <= 0 < now else "improved"
            parts.append(
                f"{verb} for {c.name} (mean tone "
                f"{_signed(c.prev_tone or 0, '+.2f')} → {_signed(c.tone or 0, '+.2f')}, "
                f"negative share {(c.prev_negative_share or 0) * 100:.0f}% → "
                f"{(c.negative_share or 0) * 100:.0f}%)")
        sentences.append("Tone " + "; ".join(parts) + ".")
    else:
        sentences.append(f"Tone held steady: no city's mean tone or negative share moved by "
                         f"{TONE_TURN:.2f} / {TONE_TURN * 100:.0f} points or more.")
    return sentences[:5] if len(sentences) > 5 else sentences


# -- rendering -----------------------------------------------------------------------------------


def md_escape(text: Any) -> str:
    """Outside text made inert in Markdown (tables, links, emphasis, HTML)."""
    value = " ".join(str(text).split())
    value = value.replace("\\", "\\\\")
    value = re.sub(r"([`*_{}\[\]<>()#+!|~])", r"\\\1", value)
    return value


def arrow(change: int | None) -> str:
    if change is None:
        return ""
    if change > 0:
        return f"▲{change}"
    if change < 0:
        return f"▼{-change}"
    return "="


def fmt_pct(value: float | None) -> str:
    return _pct(value)


def fmt_tone(value: float | None) -> str:
    return "n/a" if value is None else _signed(value, "+.2f")


def fmt_points(value: float | None) -> str:
    return "" if value is None else _signed(value * 100, "+.0f") + " pts"


def fmt_share(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f}%"


def tone_class(value: float | None) -> str:
    if value is None:
        return ""
    return "neg" if value <= -0.05 else "pos" if value >= 0.05 else ""


def change_class(value: float | None) -> str:
    if value is None or value == 0:
        return ""
    return "up" if value > 0 else "down"


def _environment(autoescape: bool) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), trim_blocks=True, lstrip_blocks=True,
                      autoescape=select_autoescape(["html"]) if autoescape else False)
    env.filters.update(pct=fmt_pct, tone=fmt_tone, points=fmt_points, share=fmt_share,
                       arrow=arrow, tone_class=tone_class, change_class=change_class,
                       md=md_escape)
    env.globals.update(alert_story=alert_story, kind_label=ALERT_KIND_LABELS,
                       group_label=LANGUAGE_GROUP_LABELS, voice_label=VOICE_LABELS,
                       month_end=month_end, trend_months=TREND_MONTHS)
    return env


def _context(report: Report) -> dict[str, Any]:
    f = report.figures
    return {
        "r": report, "f": f, "cities": f.cities,
        "alert_count": sum(len(c.alerts) for c in f.cities),
        "has_share": any(c.share_of_all is not None for c in f.cities),
        # no year-over-year column when the store holds nothing from a year before
        "has_yoy": any(c.year_ago_reports is not None for c in f.cities),
        "mom_total": (f.total - f.prev_total) / f.prev_total if f.prev_total else None,
        "prev_month": add_months(f.month, -1),
        "year_ago": add_months(f.month, -12),
        "css": (TEMPLATES / "report.css").read_text(encoding="utf-8"),
    }


def render_html(report: Report, for_pdf: bool = False) -> str:
    """One self-contained HTML file (inline CSS and SVG, no external fetch)."""
    template = _environment(True).get_template("monthly.html")
    return template.render(**_context(report), for_pdf=for_pdf)


def render_markdown(report: Report) -> str:
    template = _environment(False).get_template("monthly.md")
    return template.render(**_context(report)).strip() + "\n"
