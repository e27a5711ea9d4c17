"""Push alert episodes to analysts: a webhook (JSON POST) and e-mail, configured in
``config/alerts.yaml`` under ``notify:``.

An alert is sent to each channel once per event: when the episode opens, and again when it has
grown significantly (severity at least ``growth_factor`` times the severity last sent). What
was sent is remembered per channel and alert in store meta (``notify:<channel>:<alert id>``)
and shown in the alert's history ("notified webhook: opened"), so re-running detection does
not resend. A failing channel is logged, recorded in the alert's history ("notify webhook
failed: <reason>") and retried on the next run; it never stops detection or other channels.
Secrets (HMAC key, SMTP credentials) come from environment variables named in the config.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import logging
import os
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Annotated, Any, Protocol
from urllib.parse import quote, urlsplit

import httpx
from pydantic import AfterValidator, BeforeValidator, Field

from alerts.detectors import AlertsFile
from cityradar.config import ConfigError, build, load_yaml, schema_for, validate
from cityradar.records import Alert, AlertUpdate
from cityradar.retry import RetryPolicy, transient_status
from search.store import Store
from search.urls import redact_url

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-CityRadar-Signature"
TIMESTAMP_HEADER = "X-CityRadar-Timestamp"
TIMESTAMPED_SIGNATURE_HEADER = "X-CityRadar-Signature-V2"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
META_PREFIX = "notify"
TOP_STORIES = 5
TOP_TERMS = 10


class NotifyError(RuntimeError):
    """A channel could not deliver; the message is the one-line reason."""


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    url: str = ""  # empty: webhook off
    timeout_s: float = 10.0
    retries: int = 3  # further attempts after the first, on connection errors, 429 and 5xx
    backoff_s: float = 1.0  # wait before retry n: backoff_s * 2**(n-1) + jitter (cityradar.retry)
    secret_env: str = "CITYRADAR_WEBHOOK_SECRET"  # HMAC-SHA256 key; unset: no signature


@dataclass(frozen=True, slots=True)
class EmailConfig:
    host: str = ""  # empty: e-mail off
    port: int = 587
    starttls: bool = True
    sender: str = "cityradar@localhost"
    to: tuple[str, ...] = ()
    username_env: str = "CITYRADAR_SMTP_USER"  # unset: no login
    password_env: str = "CITYRADAR_SMTP_PASSWORD"
    timeout_s: float = 10.0


@dataclass(frozen=True, slots=True)
class NotifyConfig:
    ui_url: str = "http://localhost:8501"
    growth_factor: float = 2.0
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
    email: EmailConfig = field(default_factory=EmailConfig)

    @classmethod
    def load(cls, config_dir: Path | None) -> NotifyConfig:
        """The ``notify:`` section of ``<config_dir>/alerts.yaml`` (defaults: nothing on)."""
        path = None if config_dir is None else Path(config_dir) / "alerts.yaml"
        if path is None or not path.exists():
            return cls()
        # the whole file first, so a misspelt section is an error here too
        section = validate(AlertsFile, load_yaml(path), path).notify
        return cls.from_mapping(section, f"{path}: notify")

    @classmethod
    def from_mapping(cls, data: Any, where: str = "notify") -> NotifyConfig:
        config = build(cls, validate(NotifySchema, data, where))
        if config.email.host and not config.email.to:
            raise ConfigError(f"{where}.email.to: at least one recipient is needed")
        return config


# The schema of alerts.yaml's ``notify`` section: the dataclasses' fields and defaults.
NotifySchema = schema_for(
    NotifyConfig,
    growth_factor=Annotated[float, Field(gt=1)],
    webhook=schema_for(WebhookConfig, retries=Annotated[int, Field(ge=0)],
                       timeout_s=Annotated[float, Field(gt=0)]),
    email=schema_for(EmailConfig, to=Annotated[
        list[str], BeforeValidator(lambda v: [v] if isinstance(v, str) else v),
        AfterValidator(tuple)]),
)


# -- payload ---------------------------------------------------------------------------------

def alert_link(alert_id: str, ui_url: str) -> str:
    # the alert inbox is the UI's /alerts page (the root is the Overview)
    return f"{ui_url.rstrip('/')}/alerts?alert={quote(alert_id, safe='')}"


def alert_payload(alert: Alert, event: str, ui_url: str) -> dict[str, Any]:
    """What every channel sends (JSON-ready)."""
    evidence = alert.evidence or {}
    return {
        "event": event,
        "alert_id": alert.id,
        "city": alert.city,
        "kind": alert.kind,
        "language_group": alert.language_group,
        "status": alert.status,
        "window": {"start": alert.start.isoformat(), "peak": alert.peak.isoformat(),
                   "end": alert.end.isoformat(), "open": bool(evidence.get("open"))},
        "observed": alert.observed,
        "expected": alert.expected,
        "severity": alert.severity,
        "top_stories": [
            {k: story.get(k) for k in ("title", "url", "outlet", "published_at", "language")}
            for story in (evidence.get("stories") or [])[:TOP_STORIES]
        ],
        "top_terms": [t.get("term") for t in (evidence.get("terms") or [])[:TOP_TERMS]],
        "url": alert_link(alert.id, ui_url),
    }


def _headline(payload: Mapping[str, Any]) -> str:
    kind = str(payload["kind"]).replace("_", " ")
    group = "" if payload["language_group"] == "all" else f" ({payload['language_group']})"
    return (f"CityRadar: {payload['city']} {kind}{group} {payload['event']} - "
            f"{payload['observed']:g} vs {payload['expected']:.1f} expected")


# -- channels ---------------------------------------------------------------------------------

class Notifier(Protocol):
    name: str

    def send(self, payload: Mapping[str, Any]) -> None:
        """Deliver or raise NotifyError."""
        ...


def sign(body: bytes, secret: str) -> str:
    """The signature header value: ``sha256=<hex HMAC-SHA256 of the body>``.

    Kept for receivers written against it; it does not bind a time, so a captured request
    can be replayed. Verify ``TIMESTAMPED_SIGNATURE_HEADER`` instead (``verify_timestamped``).
    """
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sign_timestamped(body: bytes, secret: str, timestamp: int) -> str:
    """``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>``: the signature binds the
    send time, so a receiver that refuses old timestamps refuses replays."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_timestamped(body: bytes, header: str, secret: str, tolerance_s: float = 300.0,
                       now: float | None = None) -> bool:
    """What a receiver does: the signature matches and its timestamp is within
    ``tolerance_s`` of ``now``."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = sign_timestamped(body, secret, timestamp)
    return hmac.compare_digest(expected, header.strip())


def webhook_warnings(config: WebhookConfig) -> list[str]:
    """What is weak about a webhook's set-up (warned about at every send)."""
    warnings: list[str] = []
    if not (config.secret_env and os.environ.get(config.secret_env)):
        name = config.secret_env or "secret_env"
        warnings.append(f"webhook {redact_url(config.url)}: sent UNSIGNED ({name} is not "
                        "set): receivers cannot tell forged alerts")
    parts = urlsplit(config.url)
    if parts.scheme.lower() == "http" and (parts.hostname or "") not in LOOPBACK_HOSTS:
        warnings.append(f"webhook {redact_url(config.url)}: plain http:// — alerts travel "
                        "unencrypted; use https://")
    return warnings


@dataclass(slots=True)
class WebhookNotifier:
    config: WebhookConfig
    name: str = "webhook"
    sleep: Callable[[float], None] = time.sleep  # the retry waits (tests record them)

    def send(self, payload: Mapping[str, Any]) -> None:
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "CityRadar"}
        secret = os.environ.get(self.config.secret_env, "") if self.config.secret_env else ""
        for warning in webhook_warnings(self.config):
            log.warning("%s", warning)
        if secret:
            headers[SIGNATURE_HEADER] = sign(body, secret)
            timestamp = int(time.time())
            headers[TIMESTAMP_HEADER] = str(timestamp)
            headers[TIMESTAMPED_SIGNATURE_HEADER] = sign_timestamped(body, secret, timestamp)
        policy = RetryPolicy(retries=self.config.retries, backoff_s=self.config.backoff_s)
        with httpx.Client(timeout=self.config.timeout_s) as client:
            try:
                response = policy.call(
                    lambda: client.post(self.config.url, content=body, headers=headers),
                    retry_result=lambda r: transient_status(r.status_code),
                    retry_exception=lambda exc: isinstance(exc, httpx.HTTPError),
                    sleep=self.sleep, what=f"webhook {redact_url(self.config.url)}",
                    reason=lambda r: f"HTTP {r.status_code}")
            except httpx.HTTPError as exc:
                reason = f"{type(exc).__name__}: {exc}"
            else:
                if response.is_success:
                    return
                # a refusal (never retried) or the last of the transient answers
                reason = f"HTTP {response.status_code} from {self.config.url}"
        attempts = self.config.retries + 1
        raise NotifyError(f"{reason} (after {attempts} attempt{'s' if attempts > 1 else ''})")


@dataclass(slots=True)
class EmailNotifier:
    config: EmailConfig
    name: str = "email"

    def message(self, payload: Mapping[str, Any]) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = _headline(payload)
        message["From"] = self.config.sender
        message["To"] = ", ".join(self.config.to)
        window = payload["window"]
        lines = [
            _headline(payload),
            "",
            f"Window: {window['start']} .. {window['end']} (peak {window['peak']})",
            f"Severity: {payload['severity']:.1f}",
            f"Terms: {', '.join(str(t) for t in payload['top_terms']) or '-'}",
            "",
            "Top stories:",
            *[f"- {s['title']} ({s['outlet']}) {s['url']}" for s in payload["top_stories"]],
            "",
            f"Open in CityRadar: {payload['url']}",
        ]
        message.set_content("\n".join(lines))
        stories = "".join(
            f'<li><a href="{html.escape(str(s["url"]))}">{html.escape(str(s["title"]))}</a> '
            f"({html.escape(str(s['outlet']))})</li>" for s in payload["top_stories"]
        )
        message.add_alternative(
            f"<html><body><h2>{html.escape(_headline(payload))}</h2>"
            f"<p>Window: {window['start']} .. {window['end']} (peak {window['peak']}), "
            f"severity {payload['severity']:.1f}</p>"
            f"<p>Terms: {html.escape(', '.join(str(t) for t in payload['top_terms']))}</p>"
            f"<ul>{stories}</ul>"
            f'<p><a href="{html.escape(str(payload["url"]))}">Open in CityRadar</a></p>'
            f"</body></html>",
            subtype="html",
        )
        return message

    def send(self, payload: Mapping[str, Any]) -> None:
        self.deliver(self.message(payload))

    def deliver(self, message: EmailMessage) -> None:
        """Send any message (an alert, a monthly report) through the configured server."""
        cfg = self.config
        try:
            with smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s) as smtp:
                if cfg.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                user = os.environ.get(cfg.username_env, "") if cfg.username_env else ""
                if user:
                    smtp.login(user, os.environ.get(cfg.password_env, ""))
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise NotifyError(f"{type(exc).__name__}: {exc} ({cfg.host}:{cfg.port})") from exc


def configured_notifiers(config: NotifyConfig) -> list[Notifier]:
    notifiers: list[Notifier] = []
    if config.webhook.url:
        notifiers.append(WebhookNotifier(config.webhook))
    if config.email.host:
        notifiers.append(EmailNotifier(config.email))
    return notifiers


# -- what is due, and sending it ----------------------------------------------------------------

@dataclass(slots=True)
class Notification:
    """One delivery attempt: ``error`` is empty when it was delivered."""

    alert_id: str
    channel: str
    event: str
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error

    def line(self) -> str:
        outcome = "sent" if self.ok else f"FAILED: {self.error}"
        return f"{self.channel:<8} {self.event:<7} {self.alert_id}  {outcome}"


def _meta_key(channel: str, alert_id: str) -> str:
    return f"{META_PREFIX}:{channel}:{alert_id}"


def due_event(alert: Alert, sent: Mapping[str, Any] | None, growth_factor: float) -> str | None:
    """"opened" if never sent, "grew" if severity grew by ``growth_factor``, else None."""
    if sent is None:
        return "opened"
    if alert.severity >= growth_factor * float(sent.get("severity", 0.0)) > 0:
        return "grew"
    return None


def _pending_failure(alert: Alert, channels: set[str]) -> bool:
    """The alert's last notify entry for some channel is a failure (to be retried)."""
    last: dict[str, bool] = {}
    for update in alert.history:
        for channel in channels:
            if update.what.startswith(f"notified {channel}"):
                last[channel] = False
            elif update.what.startswith(f"notify {channel} failed"):
                last[channel] = True
    return any(last.values())


def notify_alerts(
    store: Store,
    config_dir: Path | None,
    alerts: Sequence[Alert] = (),
    notifiers: Sequence[Notifier] | None = None,
) -> list[Notification]:
    """Send what is due for ``alerts`` (e.g. those detection just wrote) and retry earlier
    failures of unresolved alerts. Returns every attempt; never raises for a channel."""
    config = NotifyConfig.load(config_dir)
    notifiers = list(configured_notifiers(config) if notifiers is None else notifiers)
    if not notifiers:
        return []
    channels = {n.name for n in notifiers}
    candidates = {a.id: a for a in alerts if a.status != "resolved"}
    for alert in store.list_alerts(statuses=("new", "acknowledged"), limit=100_000):
        if alert.id not in candidates and _pending_failure(alert, channels):
            candidates[alert.id] = alert
    results: list[Notification] = []
    for alert_id in sorted(candidates):
        alert = store.get_alert(alert_id) or candidates[alert_id]
        updates: list[AlertUpdate] = []
        for notifier in notifiers:
            key = _meta_key(notifier.name, alert.id)
            raw = store.get_meta(key)
            event = due_event(alert, json.loads(raw) if raw else None, config.growth_factor)
            if event is None:
                continue
            at = datetime.now(UTC)
            try:
                notifier.send(alert_payload(alert, event, config.ui_url))
            except Exception as exc:  # one channel's failure must not stop the others
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                log.warning("notify %s failed for %s (%s): %s", notifier.name, alert.id, event,
                            reason)
                updates.append(AlertUpdate(at=at, what=f"notify {notifier.name} failed: {reason}",
                                           note=event, by="notifier"))
                results.append(Notification(alert.id, notifier.name, event, reason))
                continue
            store.put_meta(key, json.dumps({"event": event, "severity": alert.severity,
                                            "at": at.isoformat()}))
            updates.append(AlertUpdate(at=at, what=f"notified {notifier.name}: {event}",
                                       note=f"severity {alert.severity:g}", by="notifier"))
            results.append(Notification(alert.id, notifier.name, event))
            log.info("notified %s: %s %s", notifier.name, event, alert.id)
        if updates:
            try:
                store.upsert_alert(replace(alert, history=[*alert.history, *updates]))
            except Exception:
                log.exception("alert %s: notification history not stored", alert.id)
    return results
