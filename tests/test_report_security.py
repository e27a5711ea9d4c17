"""The monthly report with hostile stored text: shown as text, links only to http(s) pages,
and nothing fetched while the HTML and the PDF are made (docs/security.md)."""

from __future__ import annotations

import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from reports.monthly import build_report, render_html, render_markdown
from search.sqlite_store import SQLiteStore
from tests.conftest import CONFIG_DIR
from tests.contract.factories import make_article


def test_hostile_stored_text_fetches_nothing_in_html_or_pdf(tmp_path: Path) -> None:
    """Titles and outlets with an <img>, a stylesheet link and a CSS import pointing at a
    loopback listener, and a ``javascript:`` article URL: the HTML report shows them as text,
    and laying out the PDF (WeasyPrint fetches what the HTML names) requests nothing."""
    from weasyprint import HTML

    from reports.pdf import render_pdf

    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            pass

        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    title = (f'Wuhan <img src="{base}/img-title"> <link rel="stylesheet" href="{base}/css">'
             f'<style>@import url("{base}/import");</style> ![b]({base}/md-title)')
    outlet = f'<img src="{base}/img-outlet"> Times'
    try:
        # the listener can fail the test: WeasyPrint does fetch an <img> that is real markup
        HTML(string=f'<p><img src="{base}/control"></p>').write_pdf()
        assert hits == ["/control"]
        hits.clear()
        with SQLiteStore(tmp_path / "store.db") as store:
            store.upsert_articles([
                make_article(title=title, outlet=outlet, cities=["wuhan"],
                             url="javascript:alert(document.cookie)", published_at="2020-02-10"),
                make_article(title="Wuhan plain story", cities=["wuhan"],
                             url="https://news.example/a b)", published_at="2020-02-11"),
            ])
            report = build_report(store, CONFIG_DIR, date(2020, 2, 1), city_ids=["wuhan"],
                                  charts=False)
        html, markdown = render_html(report), render_markdown(report)
        pdf = render_pdf(report)
        assert hits == []
        # the PDF's fetcher refuses URLs even if markup got into the HTML (defence in depth)
        from reports import pdf as pdf_module

        page = "<p>x</p>" + "".join(f'<img src="{base}/{n}">' for n in ("a", "b"))
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(pdf_module, "render_html", lambda _report, for_pdf=True: page)
            assert pdf_module.render_pdf(report).startswith(b"%PDF")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert hits == []
    assert pdf.startswith(b"%PDF")
    assert "<img" not in html and "<link rel=\"stylesheet\" href=\"http" not in html
    assert "&lt;img src=&#34;" + base in html or "&lt;img src=&quot;" + base in html
    assert "javascript:" not in html.lower() and "javascript:" not in markdown.lower()
    assert 'href="https://news.example/a%20b%29"' in html
    assert "<https://news.example/a%20b%29>" in markdown
