"""`watch` writes the previous month's report once per new month into the configured
directory and e-mails it once (a real scheduler run over a real SQLite store, a real aiosmtpd
server on loopback, the real `cityradar watch` command over a loopback feed)."""

from __future__ import annotations

import shutil
from datetime import date
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from click.testing import CliRunner

from cityradar.config import ConfigError
from ingest.scheduler import run_every
from reports.scheduled import MonthlyReportConfig, due_month, write_due_report
from search.sqlite_store import SQLiteStore
from tests.conftest import CONFIG_DIR
from tests.contract.factories import make_article
from tests.feedserver import FeedServer, feed_server_fixture, rss  # noqa: F401
from tests.test_notifiers import _free_port, smtp_fixture  # noqa: F401


def config_dir(tmp_path: Path, reports_dir: Path, smtp_port: int, formats: str = "[html, pdf]",
               email: bool = True) -> Path:
    directory = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, directory)
    (directory / "reports.yaml").write_text(
        f"monthly:\n  dir: {reports_dir}\n  formats: {formats}\n  voice: foreign\n"
        f"  email: {'true' if email else 'false'}\n", encoding="utf-8")
    (directory / "alerts.yaml").write_text(
        (CONFIG_DIR / "alerts.yaml").read_text(encoding="utf-8").split("\nnotify:")[0]
        + "\nnotify:\n  email:\n    host: 127.0.0.1\n"
        f"    port: {smtp_port}\n    starttls: false\n    sender: radar@example.org\n"
        "    to: [director@example.org]\n", encoding="utf-8")
    return directory


def test_due_month_and_config_checks(tmp_path: Path) -> None:
    assert due_month(date(2020, 3, 1)) == date(2020, 2, 1)
    assert due_month(date(2020, 1, 31)) == date(2019, 12, 1)
    assert MonthlyReportConfig.load(CONFIG_DIR).dir == ""  # shipped: off
    (tmp_path / "reports.yaml").write_text("monthly:\n  formats: [docx]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"reports.yaml: monthly.formats"):
        MonthlyReportConfig.load(tmp_path)


def test_scheduler_writes_and_mails_each_month_once(smtp, tmp_path: Path) -> None:
    controller, mailbox = smtp
    reports_dir = tmp_path / "reports"
    config = config_dir(tmp_path, reports_dir, controller.port)
    with SQLiteStore(tmp_path / "store.db") as store:
        store.upsert_articles([
            make_article(cities=["wuhan"], title="Wuhan February story",
                         published_at="2020-02-10"),
            make_article(cities=["beijing"], title="Beijing March story",
                         published_at="2020-03-05"),
        ])
        days = [date(2020, 3, 1), date(2020, 3, 2), date(2020, 4, 1), date(2020, 4, 20)]
        done: list[list[str]] = []
        cycles = run_every(lambda n: done.append(write_due_report(store, config, days[n - 1])),
                           0.0, max_cycles=len(days))
        assert cycles == 4
        assert [len(lines) for lines in done] == [2, 0, 2, 0]
        assert "monthly report 2020-02 written" in done[0][0]
        assert "e-mailed to director@example.org" in done[0][1]
    assert sorted(p.name for p in reports_dir.iterdir()) == [
        "cityradar-report-2020-02.html", "cityradar-report-2020-02.pdf",
        "cityradar-report-2020-03.html", "cityradar-report-2020-03.pdf"]
    assert (reports_dir / "cityradar-report-2020-03.pdf").read_bytes().startswith(b"%PDF-")
    assert len(mailbox.messages) == 2
    recipients, message = mailbox.messages[0]
    assert recipients == ["director@example.org"]
    subject = str(make_header(decode_header(message["Subject"])))
    assert subject == "CityRadar monthly report — February 2020"
    attached = [part.get_filename() for part in message.walk() if part.get_filename()]
    assert attached == ["cityradar-report-2020-02.html", "cityradar-report-2020-02.pdf"]
    body = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    assert "Wuhan led the ranking" in body.get_payload(decode=True).decode("utf-8")


def test_failed_mail_is_retried_next_cycle_and_files_are_not_rewritten(smtp, tmp_path: Path
                                                                       ) -> None:
    controller, mailbox = smtp
    reports_dir = tmp_path / "reports"
    down_port = _free_port()
    config = config_dir(tmp_path, reports_dir, down_port, formats="[md]")
    with SQLiteStore(tmp_path / "store.db") as store:
        store.upsert_articles([make_article(cities=["wuhan"], published_at="2020-02-10")])
        first = write_due_report(store, config, date(2020, 3, 1))
        assert "written" in first[0] and "e-mail FAILED" in first[1]
        written = (reports_dir / "cityradar-report-2020-02.md").stat().st_mtime_ns
        config = config_dir(tmp_path / "again", reports_dir, controller.port, formats="[md]")
        second = write_due_report(store, config, date(2020, 3, 1))
        assert second == ["monthly report 2020-02 e-mailed to director@example.org"]
        assert (reports_dir / "cityradar-report-2020-02.md").stat().st_mtime_ns == written
        assert write_due_report(store, config, date(2020, 3, 5)) == []
    assert len(mailbox.messages) == 1


def test_watch_command_writes_the_report(feed_server: FeedServer, tmp_path: Path) -> None:
    from cityradar.cli import cli
    from tests.test_ingest_pipeline import feed_entry, items, write_config

    url = feed_server.add("/w.xml", rss(items("w", 2)))
    config = write_config(tmp_path / "cfg", [feed_entry("w", url)])
    reports_dir = tmp_path / "out"
    (config / "reports.yaml").write_text(
        f"monthly:\n  dir: {reports_dir}\n  formats: [md]\n", encoding="utf-8")
    base = ["--db", str(tmp_path / "w.db"), "--config", str(config)]
    watched = CliRunner().invoke(cli, [*base, "watch", "--interval", "1s", "--max-cycles", "2",
                                       "--no-tag"])
    assert watched.exit_code == 0, watched.output
    assert watched.output.count("monthly report") == 1  # the second cycle writes nothing
    assert len(list(reports_dir.glob("cityradar-report-*.md"))) == 1
