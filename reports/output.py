"""A monthly report written to a file in one of its formats (html, md, pdf)."""

from __future__ import annotations

from pathlib import Path

from reports.monthly import Report, render_html, render_markdown


def write_report(report: Report, fmt: str, path: Path) -> Path:
    """Render ``report`` as html, md or pdf into ``path`` (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "html":
        path.write_text(render_html(report), encoding="utf-8")
    elif fmt == "md":
        path.write_text(render_markdown(report), encoding="utf-8")
    elif fmt == "pdf":
        from reports.pdf import render_pdf  # WeasyPrint loads only for a PDF

        path.write_bytes(render_pdf(report))
    else:
        raise ValueError(f"unknown format {fmt!r}: html, pdf or md")
    return path
