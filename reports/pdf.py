"""The monthly report as PDF, laid out by WeasyPrint from the report's HTML (print CSS: A4,
a title page, page numbers; charts stay vectors)."""

from __future__ import annotations

import logging

from reports.monthly import Report, render_html

log = logging.getLogger(__name__)


def render_pdf(report: Report) -> bytes:
    from weasyprint import HTML, URLFetcher

    # silence WeasyPrint's per-property CSS warnings (its logger is chatty at WARNING)
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    html = render_html(report, for_pdf=True)
    # no base URL and no external resources: nothing is fetched while laying out (the charts
    # are inline SVG, the CSS inline); the fetcher allows data: URLs only, so even markup that
    # slipped into the HTML could not make WeasyPrint request a URL or read a local file. The
    # PDF's title metadata comes from the HTML <title>
    fetcher = URLFetcher(allowed_protocols=("data",))
    return HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf() or b""
