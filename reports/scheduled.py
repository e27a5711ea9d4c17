"""The monthly report written by `cityradar watch`: on the first cycle of a new month, the
previous month's report goes into the configured directory (config/reports.yaml, ``monthly``)
and, if asked, out through the configured e-mail notifier (alerts.yaml ``notify.email``) with
the files attached. Each is done once per month: what was done is remembered in the store's
metadata under ``report:monthly:YYYY-MM``; a failed e-mail is retried on the next cycle.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator

from cityradar.config import ConfigModel, build, check, load_yaml, schema_for, validate
from reports.ranking import VOICES, add_months

log = logging.getLogger(__name__)

META_KEY = "report:monthly:{month}"
FORMATS = ("html", "pdf", "md")
MIME = {"html": ("text", "html"), "pdf": ("application", "pdf"), "md": ("text", "markdown")}


@dataclass(frozen=True, slots=True)
class MonthlyReportConfig:
    dir: str = ""  # empty: off
    formats: tuple[str, ...] = ("html", "pdf")
    voice: str = "foreign"
    email: bool = False

    @classmethod
    def load(cls, config_dir: Path | str) -> MonthlyReportConfig:
        path = Path(config_dir) / "reports.yaml"
        if not path.exists():
            return cls()
        section = validate(ReportsFile, load_yaml(path), path).monthly
        return cls() if section is None else build(cls, section)


# The schema of reports.yaml: MonthlyReportConfig's fields and defaults; ``formats`` may be
# one format or a list (duplicates dropped).
_Formats = Annotated[
    list[Literal[FORMATS]],  # type: ignore[valid-type]
    BeforeValidator(lambda v: [v] if isinstance(v, str) else v),
    check(bool, f"expected a list of {', '.join(FORMATS)}"),
    AfterValidator(lambda formats: tuple(dict.fromkeys(formats)))]
MonthlySchema = schema_for(MonthlyReportConfig, formats=_Formats,
                           voice=Literal[VOICES])  # type: ignore[valid-type]


class ReportsFile(ConfigModel):
    monthly: MonthlySchema | None = None  # type: ignore[valid-type]


def due_month(today: date) -> date:
    """The month whose report is due on ``today``: the previous calendar month."""
    return add_months(today.replace(day=1), -1)


def _state(store: Any, month: date) -> dict[str, Any]:
    raw = store.get_meta(META_KEY.format(month=f"{month:%Y-%m}"))
    return json.loads(raw) if raw else {}


def _save(store: Any, month: date, state: dict[str, Any]) -> None:
    store.put_meta(META_KEY.format(month=f"{month:%Y-%m}"),
                   json.dumps(state, ensure_ascii=False, sort_keys=True))


def report_message(report: Any, files: list[Path], sender: str, to: tuple[str, ...]
                   ) -> EmailMessage:
    from reports.monthly import render_markdown

    message = EmailMessage()
    message["Subject"] = f"CityRadar monthly report — {report.month:%B %Y}"
    message["From"] = sender
    message["To"] = ", ".join(to)
    message.set_content(render_markdown(report))
    for path in files:
        maintype, subtype = MIME[path.suffix.lstrip(".")]
        message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype,
                               filename=path.name)
    return message


def write_due_report(store: Any, config_dir: Path | str, today: date | None = None,
                     config: MonthlyReportConfig | None = None) -> list[str]:
    """Write (and e-mail) the previous month's report if not done yet. Returns one line per
    thing done or failed (empty when nothing was due or the feature is off)."""
    config = config or MonthlyReportConfig.load(config_dir)
    if not config.dir:
        return []
    today = today or datetime.now(UTC).date()
    month = due_month(today)
    state = _state(store, month)
    lines: list[str] = []
    report = None
    directory = Path(config.dir).expanduser()
    files = [directory / f"cityradar-report-{month:%Y-%m}.{fmt}" for fmt in config.formats]
    if not state.get("written"):
        from reports.monthly import build_report
        from reports.output import write_report

        report = build_report(store, config_dir, month, voice=config.voice,
                              charts=any(fmt != "md" for fmt in config.formats))
        for fmt, path in zip(config.formats, files, strict=True):
            write_report(report, fmt, path)
        state.update(written=[str(p) for p in files],
                     written_at=datetime.now(UTC).isoformat(timespec="seconds"))
        _save(store, month, state)
        lines.append(f"monthly report {month:%Y-%m} written: {', '.join(map(str, files))}")
    if config.email and not state.get("emailed"):
        from alerts.notifiers import EmailNotifier, NotifyConfig, NotifyError

        notify = NotifyConfig.load(Path(config_dir))
        if not notify.email.host:
            line = (f"monthly report {month:%Y-%m} not e-mailed: no notify.email.host in "
                    f"alerts.yaml")
            if state.get("email_error") != line:
                log.warning(line)
                state["email_error"] = line
                _save(store, month, state)
                lines.append(line)
            return lines
        if report is None:
            from reports.monthly import build_report

            report = build_report(store, config_dir, month, voice=config.voice, charts=False)
        existing = [Path(p) for p in state.get("written", []) if Path(p).exists()]
        try:
            EmailNotifier(notify.email).deliver(
                report_message(report, existing, notify.email.sender, notify.email.to))
        except NotifyError as exc:
            log.warning("monthly report %s e-mail failed (retried next cycle): %s", month, exc)
            state["email_error"] = str(exc)
            _save(store, month, state)
            lines.append(f"monthly report {month:%Y-%m} e-mail FAILED: {exc}")
            return lines
        state.pop("email_error", None)
        state["emailed"] = datetime.now(UTC).isoformat(timespec="seconds")
        _save(store, month, state)
        lines.append(f"monthly report {month:%Y-%m} e-mailed to {', '.join(notify.email.to)}")
    return lines
