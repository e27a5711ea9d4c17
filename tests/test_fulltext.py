"""Full-text fetching end to end: real article pages over loopback -> polite fetcher ->
robots.txt -> trafilatura -> re-tagging -> real SQLite store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import pytest
from click.testing import CliRunner

from cityradar.cli import cli
from cityradar.records import Article
from ingest.fetch import Fetcher, non_public_target
from ingest.fulltext import (
    ALLOW_PRIVATE_ENV,
    excerpt_for_tagging,
    fetch_full_text,
    stored_candidates,
)
from ingest.gdelt_files import title_from_url
from ingest.sources import FetchOptions
from nlp.pipeline import Tagger
from search import open_store
from tests.conftest import CONFIG_DIR
from tests.feedserver import FeedServer, feed_server_fixture  # noqa: F401

FAST = FetchOptions(per_host_delay_s=0, per_host_concurrency=8, retries=0, backoff_s=0.01,
                    timeout_s=5, concurrency=8, max_bytes=2_000_000)
HTML = "text/html; charset=utf-8"

# A phrase of each real article's own text (read in the saved page), to show the main text is
# what was extracted; pages whose text is filled in by scripts are expected to fail.
REAL_PAGES = {
    "reuters.com.parasite.html": "South Korean thriller",
    "dw.com.colonial.html": "five-year project",
    "dw.com.uncork.html": "Ahr Valley",
    "spiegel.de.albtraum.html": "Relotius",
    "sueddeutsche.de.flixtrain.html": "Deutschlandtakt",
    "heise.de.lithium.html": "Duesenfeld",
    "franceculture.fr.idees.html": "Convention citoyenne",
    "mercurynews.com.2023.01.16.letters-1119.html": "coddling criminals",
    "nationalgeographic.co.uk.goats.html": "Redonda",
    "phys.org.tool.html": "birch tar",
    "salon.com.emissions.html": "planet-cooking pollution",
    "chineselyrics4u.com.zhineng.html": "只能想念你",
}
SCRIPT_PAGES = ("scmp.com.playbook.html", "lanouvellerepublique.fr.martin.html")

NAV = """<header><nav><ul><li><a href="/wuhan">Wuhan lockdown live</a></li>
<li><a href="/world">World news from every continent today</a></li></ul></nav></header>"""
BODY_CITY_PAGE = f"""<!doctype html><html lang="en"><head><title>Rivers rise across the region
 | Example Times</title><meta property="og:title" content="Rivers rise across the region"></head>
<body>{NAV}<main><article><h1>Rivers rise across the region</h1>
<p>Weeks of rain have swollen rivers across the south-west of the country, officials said on
Monday, and forecasters expect more of the same for the rest of the month.</p>
<p>Farmers have moved livestock to higher ground and schools in several counties closed early
for the summer holidays as a precaution.</p>
<p>The national weather service said the rainfall this season is the heaviest in thirty years
of records, and warned of landslides in the hills.</p>
<p>Insurers said claims had doubled compared with last year, with damage to roads, bridges and
crops still being counted across the affected provinces.</p>
<p>In Chengdu, deadly floods killed twelve people and the collapse of a bridge cut the city's
eastern districts off from the airport.</p>
</article></main>
<aside class="comments"><h3>Comments</h3><p class="comment">Shanghai had it worse in 1991,
believe me, I was there for all of it.</p></aside>
<footer><p>Copyright Example Times 2020, all rights reserved worldwide.</p></footer>
</body></html>"""
PAYWALL_PAGE = """<!doctype html><html lang="en"><head><title>Inside the chip war</title>
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle",
"headline": "Inside the chip war", "isAccessibleForFree": false, "hasPart": {"@type":
"WebPageElement", "isAccessibleForFree": false, "cssSelector": ".paywalled"}}</script></head>
<body><article><h1>Inside the chip war</h1><p>Shenzhen's chip makers are racing to replace
foreign suppliers, and the stakes for the city's economy could hardly be higher this year.</p>
<div class="paywalled"><p>Subscribe to continue reading this article.</p></div></article>
</body></html>"""
CONSENT_PAGE = """<!doctype html><html lang="en"><head><title>Before you continue</title></head>
<body><div class="cmp"><h1>We value your privacy</h1><p>We and our partners use cookies.</p>
<button>Accept all cookies</button><button>Manage consent</button></div></body></html>"""
ROBOTS = "User-agent: *\nDisallow: /private/\n"


@pytest.fixture(autouse=True)
def pages_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests serve article pages on 127.0.0.1, which full-text fetching refuses by
    default (SSRF): they opt in, as an operator could for an intranet site."""
    monkeypatch.setenv(ALLOW_PRIVATE_ENV, "1")


def page_ids(store) -> dict[str, Article]:
    return {a.url.rsplit("/", 1)[-1]: a for a in store.iter_articles()}


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.from_config(CONFIG_DIR)


@pytest.fixture
def store(tmp_path: Path):
    db = open_store(str(tmp_path / "radar.db"))
    yield db
    db.close()


def stub_article(url: str, title: str, source_id: str = "test-feed", **extra) -> Article:
    from ingest.normalize import article_id, canonical_url

    canonical = canonical_url(url)
    return Article(id=article_id(canonical), url=canonical, title=title,
                   published_at=datetime(2020, 1, 20, tzinfo=UTC), outlet="Example Times",
                   domain="127.0.0.1", source_id=source_id, **extra)


def serve_site(server: FeedServer, realdata: Path) -> dict[str, str]:
    """Every page of the site, name -> URL."""
    urls = {}
    for name in [*REAL_PAGES, *SCRIPT_PAGES]:
        body = (realdata / "articles" / name).read_bytes()
        urls[name] = server.add(f"/articles/{name}", body, content_type=HTML)
    urls["floods.html"] = server.add("/news/floods.html", BODY_CITY_PAGE.encode(),
                                     content_type=HTML)
    urls["chip-war.html"] = server.add("/premium/chip-war.html", PAYWALL_PAGE.encode(),
                                       content_type=HTML)
    urls["consent.html"] = server.add("/news/consent.html", CONSENT_PAGE.encode(),
                                      content_type=HTML)
    urls["secret.html"] = server.add("/private/secret.html", BODY_CITY_PAGE.encode(),
                                     content_type=HTML)
    urls["broken.html"] = server.add("/news/broken.html", b"", status=500)
    # A GDELT-style record: the URL slug stands in for the title.
    urls["parasite-scores-upset-at-sag-awards.html"] = server.add(
        "/2020/01/20/parasite-scores-upset-at-sag-awards.html",
        (realdata / "articles" / "reuters.com.parasite.html").read_bytes(), content_type=HTML)
    server.add("/robots.txt", ROBOTS.encode(), content_type="text/plain")
    return urls


def test_full_text_of_real_and_hard_pages(feed_server: FeedServer, realdata: Path, store,
                                          tagger: Tagger) -> None:
    urls = serve_site(feed_server, realdata)
    gdelt_url = urls["parasite-scores-upset-at-sag-awards.html"]
    articles = [stub_article(url, f"Headline of {name}") for name, url in urls.items()
                if name != "parasite-scores-upset-at-sag-awards.html"]
    articles.append(stub_article(gdelt_url, title_from_url(gdelt_url),
                                 extras={"gdelt": {"cities": [], "tone": -1.0}}))
    # Tagged from title + summary first, as ingest does: the flood story names no city there.
    store.upsert_articles(tagger.tag(articles))
    assert page_ids(store)["floods.html"].tags.cities == {}

    with Fetcher(FAST) as fetcher:
        report = fetch_full_text(store, stored_candidates(store), fetcher, tagger)
    stored = page_ids(store)
    status = {name: (a.extras.get("fulltext") or {}).get("status") for name, a in stored.items()}

    # Real pages: the article's text, none of the navigation, footers, asides or comments.
    for name, phrase in REAL_PAGES.items():
        article = stored[name]
        assert status[name] == "ok", (name, article.extras["fulltext"])
        assert phrase in article.body, name
        tree = lxml.html.fromstring((realdata / "articles" / name).read_bytes())
        chrome = tree.xpath("//nav|//footer|//aside|//*[contains(@class,'comment')]"
                            "|//*[contains(@id,'comment')]|//script|//style")
        leaked = [t for el in chrome for t in (" ".join(s.split()) for s in el.itertext())
                  if len(t) >= 25 and t in article.body]
        assert leaked == [], (name, leaked[:3])
    # A page whose text a browser script fills in: recorded as such, not fatal.
    assert status["lanouvellerepublique.fr.martin.html"] == "no_text"
    assert stored["lanouvellerepublique.fr.martin.html"].body is None
    # The real SCMP page declares itself subscriber-only (schema.org isAccessibleForFree):
    # a paywall, its teaser (a photo caption) kept; the city names of its navigation
    # (Beijing, Shenzhen) are not linked to the story.
    scmp = stored["scmp.com.playbook.html"]
    assert status["scmp.com.playbook.html"] == "paywall"
    assert scmp.body.startswith("Taiwanese President Tsai Ing-wen")
    assert not {"beijing", "shenzhen"} & set(scmp.tags.cities)

    # A city named only in the fifth paragraph is linked; tone is read from its sentence;
    # the navigation's Wuhan and the comments' Shanghai are not.
    floods = stored["floods.html"]
    assert status["floods.html"] == "ok"
    assert "chengdu" in floods.tags.cities
    assert floods.tags.city_sentiment["chengdu"] < 0
    assert not {"wuhan", "shanghai"} & set(floods.tags.cities)
    assert "Comments" not in floods.body and "Copyright" not in floods.body
    info = floods.extras["fulltext"]
    assert "In Chengdu, deadly floods" in info["excerpt"]
    assert info["tagged_chars"] == len(info["excerpt"]) <= len(floods.body)

    assert status["chip-war.html"] == "paywall"
    assert "Shenzhen's chip makers" in stored["chip-war.html"].body
    assert "shenzhen" in stored["chip-war.html"].tags.cities
    assert status["consent.html"] == "consent_wall"
    assert stored["consent.html"].body is None
    assert status["broken.html"] == "http_error"

    # robots.txt: the disallowed page was never requested; robots.txt read once for the host.
    assert status["secret.html"] == "robots_disallowed"
    assert feed_server.requests_for("/private/secret.html") == []
    assert len(feed_server.requests_for("/robots.txt")) == 1

    # The GDELT-style record gets the page's real title.
    parasite = stored["parasite-scores-upset-at-sag-awards.html"]
    assert parasite.title.startswith("'Parasite' scores historic upset at SAG awards")
    assert parasite.extras["fulltext"]["provisional_title"] == "parasite scores upset at sag awards"
    assert report.titles_replaced == 1
    assert report.considered == len(articles)
    assert report.fetched == len(articles) - 1  # the disallowed page is not fetched

    # The body is searchable.
    from search import ArticleFilter, SearchQuery
    found = store.search(SearchQuery(text="Duesenfeld", filters=ArticleFilter()))
    assert [a.url for a in found.articles] == [urls["heise.de.lithium.html"]]


def test_second_run_and_refresh_use_conditional_requests(feed_server: FeedServer,
                                                         realdata: Path, store,
                                                         tagger: Tagger) -> None:
    url = feed_server.add("/articles/heise.html",
                          (realdata / "articles" / "heise.de.lithium.html").read_bytes(),
                          content_type=HTML)
    broken = feed_server.add("/news/down.html", b"", status=503)
    feed_server.add("/robots.txt", b"", status=404)  # no robots.txt: everything allowed
    store.upsert_articles([stub_article(url, "Lithium"), stub_article(broken, "Down")])
    with Fetcher(FAST) as fetcher:
        fetch_full_text(store, stored_candidates(store), fetcher, tagger)
        second = fetch_full_text(store, stored_candidates(store), fetcher, tagger)
        # Only the failed page is tried again; the one already read is not fetched twice.
        assert second.considered == 1 and second.statuses == {"http_error": 1}
        assert len(feed_server.requests_for("/articles/heise.html")) == 1
        refreshed = fetch_full_text(store, stored_candidates(store), fetcher, tagger,
                                    refresh=True)
    assert refreshed.statuses.get("not_modified") == 1
    last = feed_server.requests_for("/articles/heise.html")[-1]
    assert last.status == 304 and last.headers.get("if-none-match")
    article = store.get_article(stub_article(url, "").id)
    assert article.extras["fulltext"]["status"] == "ok" and "Duesenfeld" in article.body


def test_robots_unreachable_skips_the_host(feed_server: FeedServer, store, tagger) -> None:
    url = feed_server.add("/news/floods.html", BODY_CITY_PAGE.encode(), content_type=HTML)
    feed_server.add("/robots.txt", b"", status=503)
    store.upsert_articles([stub_article(url, "Rivers")])
    with Fetcher(FAST) as fetcher:
        report = fetch_full_text(store, stored_candidates(store), fetcher, tagger)
    assert report.statuses == {"robots_disallowed": 1}
    assert feed_server.requests_for("/news/floods.html") == []


def test_excerpt_is_lead_plus_city_sentences(tagger: Tagger) -> None:
    body = ("First sentence of the lead. " * 30) + "\n" + "\n".join(
        f"Paragraph {i} talks about the economy in general terms only." for i in range(40)
    ) + "\nThen Wuhan reported new cases. More filler follows here."
    excerpt = excerpt_for_tagging(body, lambda text: tagger.linker.link(text, "en"))
    assert excerpt.startswith("First sentence of the lead.")
    assert excerpt.endswith("Then Wuhan reported new cases.")
    assert "Paragraph 3" not in excerpt
    assert len(excerpt) < 700


def test_fetch_text_command(feed_server: FeedServer, tmp_path: Path) -> None:
    url = feed_server.add("/news/floods.html", BODY_CITY_PAGE.encode(), content_type=HTML)
    other = feed_server.add("/news/other.html", BODY_CITY_PAGE.encode(), content_type=HTML)
    feed_server.add("/robots.txt", ROBOTS.encode(), content_type="text/plain")
    db = tmp_path / "cli.db"
    with open_store(str(db)) as store:
        store.upsert_articles([stub_article(url, "Rivers rise"),
                               stub_article(other, "Other", source_id="elsewhere")])
    fast = tmp_path / "config"
    fast.mkdir()
    for path in CONFIG_DIR.iterdir():
        target = fast / path.name
        if path.name == "sources.yaml":
            target.write_text("fetch: {per_host_delay_s: 0, retries: 0, timeout_s: 5}\nfeeds: []\n")
        else:
            target.symlink_to(path)
    result = CliRunner().invoke(cli, ["--db", str(db), "--config", str(fast), "fetch-text",
                                      "--since", "2020-01-01", "--source", "test-feed"])
    assert result.exit_code == 0, result.output
    assert "1 article(s) considered" in result.output and "ok 1" in result.output
    with open_store(str(db)) as store:
        assert "chengdu" in store.get_article(stub_article(url, "").id).tags.cities
        assert store.get_article(stub_article(other, "").id).body is None
    bad = CliRunner().invoke(cli, ["--db", str(db), "fetch-text", "--since", "yesterday"])
    assert bad.exit_code == 2 and "yesterday" in bad.output


def test_ingest_fetches_full_text_for_sources_that_ask(feed_server: FeedServer, store,
                                                       tagger: Tagger) -> None:
    from ingest.pipeline import ingest_once
    from ingest.sources import Source, SourcesConfig
    from tests.feedserver import rss

    page = feed_server.add("/news/floods.html", BODY_CITY_PAGE.encode(), content_type=HTML)
    feed_server.add("/robots.txt", ROBOTS.encode(), content_type="text/plain")
    feed = rss([("Rivers rise across the region", page, "Mon, 20 Jan 2020 10:00:00 +0000")])
    sources = [
        Source(id="with-text", kind="feed", url=feed_server.add("/a.xml", feed),
               outlet="A", domain="a.example", full_text=True),
        Source(id="titles-only", kind="feed", url=feed_server.add("/b.xml", feed.replace(
            b"/news/floods.html", b"/news/floods.html?edition=b")), outlet="B",
            domain="b.example"),
    ]
    ingest_once(CONFIG_DIR, store, tagger=tagger.tag,
                config=SourcesConfig(sources=sources, fetch=FAST))
    by_source = {a.source_id: a for a in store.iter_articles()}
    assert by_source["with-text"].extras["fulltext"]["status"] == "ok"
    assert "chengdu" in by_source["with-text"].tags.cities
    assert "fulltext" not in by_source["titles-only"].extras  # off by default
    # Translation is off in the shipped config: nothing translated, nothing failed.
    assert not any("translation" in a.extras for a in by_source.values())
    assert by_source["titles-only"].body is None


def test_extract_recognises_subscribe_prompts_and_consent_redirects() -> None:
    from ingest.fulltext import extract

    teaser = ("<html lang='de'><body><article><h1>Der Preis des Wachstums</h1><p>Die Fabriken "
              "von Wuhan laufen wieder, doch die Lieferketten bleiben angespannt, sagen "
              "Ökonomen.</p><div class='paywall'><p>Jetzt abonnieren und weiterlesen.</p>"
              "</div></article></body></html>").encode()
    page = extract(teaser, "https://example.de/wirtschaft/wachstum")
    assert page.status == "paywall" and "Die Fabriken von Wuhan laufen wieder" in page.text
    assert "abonnieren" not in page.text  # the prompt is not the teaser
    assert page.language == "de" and "teaser" in page.detail
    redirected = extract(CONSENT_PAGE.encode(), "https://news.example/story",
                         "https://consent.example/?continue=https://news.example/story")
    assert redirected.status == "consent_wall" and "consent.example" in redirected.detail


def test_full_text_on_the_elasticsearch_backend(feed_server: FeedServer, tmp_path: Path,
                                               tagger: Tagger) -> None:
    """The same pass on the Elasticsearch store (osmem-server emulator): body stored and
    searchable, status recorded, city linked."""
    es_backend = pytest.importorskip("tests.contract.es_backend")
    from search import ArticleFilter, SearchQuery

    stores = es_backend.es_store(tmp_path, real=False)
    store = next(stores)
    try:
        page = feed_server.add("/news/floods.html", BODY_CITY_PAGE.encode(), content_type=HTML)
        feed_server.add("/robots.txt", ROBOTS.encode(), content_type="text/plain")
        article = stub_article(page, "Rivers rise across the region")
        store.upsert_articles(tagger.tag([article]))
        with Fetcher(FAST) as fetcher:
            report = fetch_full_text(store, stored_candidates(store), fetcher, tagger)
        assert report.statuses == {"ok": 1}
        stored = store.get_article(article.id)
        assert "chengdu" in stored.tags.cities and "In Chengdu" in stored.body
        found = store.search(SearchQuery(text="livestock", filters=ArticleFilter(
            cities=["chengdu"])))
        assert [a.id for a in found.articles] == [article.id]
    finally:
        stores.close()


def test_clean_title_drops_only_outlet_and_date_segments() -> None:
    from ingest.fulltext import clean_title

    dw = Article(id="x", url="https://www.dw.com/en/x", title="", outlet="Deutsche Welle",
                 domain="dw.com")
    assert clean_title("Berlin confronts Germany's colonial past with new initiative | DW | "
                       "19.01.2020", dw) == ("Berlin confronts Germany's colonial past with "
                                             "new initiative")
    assert clean_title("Wuhan – a city in lockdown – Deutsche Welle", dw) == (
        "Wuhan – a city in lockdown")
    letters = "Letters: Coddling criminals | Undermining road | Tax dollars"
    assert clean_title(letters, dw) == letters


def test_non_public_article_urls_are_never_requested(feed_server: FeedServer, store, tagger,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """By default (no opt-in) an article URL from a feed that points at loopback (an internal
    service, the Elasticsearch node, a metadata endpoint) is refused before any request: no
    page, no robots.txt; recorded per article, the run goes on."""
    monkeypatch.delenv(ALLOW_PRIVATE_ENV)
    url = feed_server.add("/news/floods.html", BODY_CITY_PAGE.encode(), content_type=HTML)
    feed_server.add("/robots.txt", ROBOTS.encode(), content_type="text/plain")
    store.upsert_articles([stub_article(url, "Rivers")])
    with Fetcher(FAST) as fetcher:
        report = fetch_full_text(store, stored_candidates(store), fetcher, tagger)
    assert report.statuses == {"blocked_address": 1} and report.fetched == 0
    assert feed_server.requests_for("/news/floods.html") == []
    assert feed_server.requests_for("/robots.txt") == []
    stored = store.get_article(stub_article(url, "").id)
    assert stored.body is None
    assert stored.extras["fulltext"]["status"] == "blocked_address"
    assert "127.0.0.1" in stored.extras["fulltext"]["detail"]
    with Fetcher(FAST) as fetcher:  # a later run does not retry it ...
        assert fetch_full_text(store, stored_candidates(store), fetcher, tagger).considered == 0
        # ... opting in (what the other tests here rely on) with --refresh fetches it
        report = fetch_full_text(store, stored_candidates(store), fetcher, tagger,
                                 allow_private=True, refresh=True)
    assert report.statuses == {"ok": 1}


def test_a_refused_redirect_target_is_never_requested(feed_server: FeedServer) -> None:
    """Redirects are checked hop by hop: a page that redirects to a refused address (here a
    path the guard refuses, standing in for a private host) gets no request there."""
    inner = feed_server.add("/internal/secret", b"secret", content_type="text/plain")
    start = feed_server.add("/news/moved", b"", status=302, headers={"Location": inner})
    hop = feed_server.add("/news/hop", b"", status=301, headers={"Location": start})

    def guard(url: str) -> str | None:
        return "internal" if "/internal/" in url else None

    with Fetcher(FAST) as fetcher:
        refused = fetcher.fetch(hop, url_guard=guard)
        followed = fetcher.fetch(hop)  # no guard: httpx follows the redirects itself
    assert refused.content is None and refused.status == 403
    assert refused.error == "refused: internal" and refused.final_url == inner
    assert len(feed_server.requests_for("/news/moved")) == 2
    assert len(feed_server.requests_for("/internal/secret")) == 1  # only the unguarded fetch
    assert followed.content == b"secret"


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9200/_cat/indices", "http://localhost/", "http://10.1.2.3/",
    "http://192.168.0.1/", "http://172.16.5.4/", "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/", "http://0.0.0.0/", "http://[::1]/", "http://[::ffff:127.0.0.1]/",
    "http://[fd00::1]/", "http://224.0.0.1/", "file:///etc/passwd", "gopher://x.example/",
])
def test_non_public_targets(url: str) -> None:
    assert non_public_target(url)


@pytest.mark.parametrize("url", ["https://8.8.8.8/news", "http://93.184.216.34:8080/a",
                                 "https://[2001:4860:4860::8888]/"])
def test_public_address_literals_pass(url: str) -> None:
    assert non_public_target(url) is None
