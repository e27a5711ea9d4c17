"""Notifiers: a real loopback HTTP server receives the webhook, a real aiosmtpd server the
e-mail; failures leave a trace and are retried; nothing is sent twice."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from dataclasses import replace
from datetime import date
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from alerts.notifiers import SIGNATURE_HEADER, notify_alerts
from cityradar.cli import cli
from cityradar.records import Alert
from search.sqlite_store import SQLiteStore

SECRET = "s3cret-key"


class Webhook:
    """A loopback HTTP server recording POSTs; answers ``status`` (a list: one per request,
    the last one repeating)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.requests: list[tuple[dict[str, str], bytes]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.requests.append((dict(self.headers), body))
                status = hook.statuses[min(len(hook.requests) - 1, len(hook.statuses) - 1)]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []


@pytest.fixture(name="smtp")
def smtp_fixture():
    """A real SMTP server on loopback (aiosmtpd) and the mailbox it delivers to."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(directory: Path, webhook_url: str, smtp_port: int) -> Path:
    directory.mkdir(exist_ok=True)
    (directory / "alerts.yaml").write_text(
        "notify:\n"
        "  ui_url: http://radar.example.org:8501\n"
        "  growth_factor: 2.0\n"
        "  webhook:\n"
        f"    url: {webhook_url}\n"
        "    timeout_s: 2\n"
        "    retries: 2\n"
        "    backoff_s: 0.01\n"
        "    secret_env: TEST_CITYRADAR_HOOK_SECRET\n"
        "  email:\n"
        "    host: 127.0.0.1\n"
        f"    port: {smtp_port}\n"
        "    starttls: false\n"
        "    sender: radar@example.org\n"
        "    to: [analyst@example.org]\n"
        "    username_env: ''\n"
    )
    return directory


def make_alert(severity: float = 40.0) -> Alert:
    return Alert(
        id="wuhan:volume_surge:2020-01-20:all", city="wuhan", kind="volume_surge",
        start=date(2020, 1, 20), peak=date(2020, 1, 23), end=date(2020, 1, 30),
        observed=67.0, expected=1.5, severity=severity,
        evidence={
            "open": True,
            "stories": [{"title": f"Pneumonia outbreak in Wuhan {i}", "outlet": "World Wire",
                         "url": f"https://news.example.com/{i}", "published_at": None,
                         "language": "en", "tone": -0.7} for i in range(8)],
            "terms": [{"term": "pneumonia", "score": 9.0}, {"term": "outbreak", "score": 7.0}],
        },
    )


@pytest.fixture
def store(tmp_path):
    with SQLiteStore(tmp_path / "notify.db") as opened:
        yield opened


def history(store: SQLiteStore, alert_id: str) -> list[str]:
    return [h.what for h in store.get_alert(alert_id).history]


def test_opened_alert_reaches_webhook_and_mailbox_once(store, tmp_path, smtp, monkeypatch):
    monkeypatch.setenv("TEST_CITYRADAR_HOOK_SECRET", SECRET)
    controller, mailbox = smtp
    hook = Webhook([200])
    try:
        config = write_config(tmp_path / "config", hook.url, controller.port)
        alert = make_alert()
        store.upsert_alert(alert)

        results = notify_alerts(store, config, [alert])
        again = notify_alerts(store, config, [store.get_alert(alert.id)])
    finally:
        hook.close()

    assert [(r.channel, r.event, r.ok) for r in results] == [
        ("webhook", "opened", True), ("email", "opened", True)]
    assert again == []  # remembered: no duplicate on re-run
    [(headers, body)] = hook.requests
    payload = json.loads(body)
    assert payload["alert_id"] == alert.id and payload["event"] == "opened"
    assert (payload["city"], payload["kind"]) == ("wuhan", "volume_surge")
    assert payload["window"] == {"start": "2020-01-20", "peak": "2020-01-23",
                                 "end": "2020-01-30", "open": True}
    assert (payload["observed"], payload["expected"], payload["severity"]) == (67.0, 1.5, 40.0)
    assert len(payload["top_stories"]) == 5
    assert payload["top_terms"] == ["pneumonia", "outbreak"]
    assert payload["url"] == ("http://radar.example.org:8501/"
                              "alerts?alert=wuhan%3Avolume_surge%3A2020-01-20%3Aall")
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert {k.lower(): v for k, v in headers.items()}[SIGNATURE_HEADER.lower()] == \
        f"sha256={expected}"
    [(recipients, message)] = mailbox.messages
    assert recipients == ["analyst@example.org"]
    assert "wuhan volume surge opened" in message["Subject"]
    parts = {part.get_content_type(): part.get_payload(decode=True).decode()
             for part in message.walk() if not part.is_multipart()}
    assert "Pneumonia outbreak in Wuhan 0" in parts["text/plain"]
    assert payload["url"] in parts["text/plain"]
    assert '<a href="https://news.example.com/0">' in parts["text/html"]
    assert history(store, alert.id)[-2:] == ["notified webhook: opened", "notified email: opened"]


def test_failing_webhook_leaves_a_trace_does_not_block_email_and_is_retried(
        store, tmp_path, smtp):
    controller, mailbox = smtp
    hook = Webhook([500])
    try:
        config = write_config(tmp_path / "config", hook.url, controller.port)
        alert = make_alert()
        store.upsert_alert(alert)

        first = notify_alerts(store, config, [alert])
        assert len(hook.requests) == 3  # the first attempt and 2 retries
        hook.statuses = [204]
        retried = notify_alerts(store, config)  # next run: nothing new, the failure is due
    finally:
        hook.close()

    assert [(r.channel, r.ok) for r in first] == [("webhook", False), ("email", True)]
    assert "HTTP 500" in first[0].error
    assert len(mailbox.messages) == 1  # the e-mail went out once and is not resent
    assert [(r.channel, r.event, r.ok) for r in retried] == [("webhook", "opened", True)]
    whats = history(store, alert.id)
    assert whats[0].startswith("notify webhook failed: HTTP 500")
    assert whats[1:] == ["notified email: opened", "notified webhook: opened"]


def test_refused_connection_is_a_recorded_failure(store, tmp_path, smtp):
    controller, mailbox = smtp
    config = write_config(tmp_path / "config", f"http://127.0.0.1:{_free_port()}/hook",
                          controller.port)
    alert = make_alert()
    store.upsert_alert(alert)

    [webhook, email] = notify_alerts(store, config, [alert])

    assert not webhook.ok and "ConnectError" in webhook.error
    assert email.ok and len(mailbox.messages) == 1
    assert any(w.startswith("notify webhook failed: ConnectError")
               for w in history(store, alert.id))


def test_significant_growth_is_notified_again_small_growth_is_not(store, tmp_path, smtp):
    controller, mailbox = smtp
    hook = Webhook([200])
    try:
        config = write_config(tmp_path / "config", hook.url, controller.port)
        store.upsert_alert(make_alert(severity=10.0))
        notify_alerts(store, config, [store.get_alert(make_alert().id)])

        slightly = replace(store.get_alert(make_alert().id), severity=15.0)
        store.upsert_alert(slightly)
        assert notify_alerts(store, config, [slightly]) == []

        doubled = replace(store.get_alert(make_alert().id), severity=21.0)
        store.upsert_alert(doubled)
        grew = notify_alerts(store, config, [doubled])
    finally:
        hook.close()

    assert [(r.channel, r.event) for r in grew] == [("webhook", "grew"), ("email", "grew")]
    assert [json.loads(body)["event"] for _, body in hook.requests] == ["opened", "grew"]
    assert len(mailbox.messages) == 2


def test_detect_command_prints_what_was_notified(tmp_path, smtp):
    from tests.test_alert_lifecycle import db as build_db  # the Wuhan surge store

    controller, mailbox = smtp
    hook = Webhook([200])
    try:
        config = write_config(tmp_path / "config", hook.url, controller.port)
        (config / "alerts.yaml").write_text(
            "language_groups: [all]\n" + (config / "alerts.yaml").read_text())
        db = build_db.__wrapped__(tmp_path)
        runner = CliRunner()
        first = runner.invoke(cli, ["--db", str(db), "--config", str(config), "detect"])
        second = runner.invoke(cli, ["--db", str(db), "--config", str(config), "detect"])
    finally:
        hook.close()

    assert first.exit_code == 0, first.output
    assert "notify: 4 sent, 0 failed" in first.output
    assert "webhook  opened  wuhan:volume_surge:" in first.output
    assert "notify:" not in second.output
    assert len(hook.requests) == 2 and len(mailbox.messages) == 2


def test_bad_notify_config_is_a_one_line_error(tmp_path):
    (tmp_path / "alerts.yaml").write_text("notify:\n  webhook:\n    retries: many\n")
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "x.db"), "--config",
                                      str(tmp_path), "detect"])
    assert result.exit_code == 1
    assert "notify.webhook.retries: expected a number" in result.output


def test_webhook_retries_a_transient_answer_after_a_backoff_and_not_a_refusal() -> None:
    """429/5xx are retried with the shared policy (exponential wait with jitter); a 4xx
    refusal is not, and the reason names the last answer."""
    from alerts.notifiers import NotifyError, WebhookConfig, WebhookNotifier

    hook = Webhook([503, 429, 204])
    waits: list[float] = []
    try:
        notifier = WebhookNotifier(WebhookConfig(url=hook.url, retries=3, backoff_s=0.2,
                                                 secret_env=""), sleep=waits.append)
        notifier.send({"event": "opened"})
        assert len(hook.requests) == 3
        assert len(waits) == 2 and 0.2 <= waits[0] <= 0.4 and 0.4 <= waits[1] <= 0.6

        hook.requests.clear()
        hook.statuses = [400]
        waits.clear()
        with pytest.raises(NotifyError, match="HTTP 400"):
            notifier.send({"event": "opened"})
        assert len(hook.requests) == 1 and waits == []
    finally:
        hook.close()
