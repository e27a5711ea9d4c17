"""Alert episodes: alarm days merged into one episode with a cool-down, and the triage lifecycle.

One surge is one episode that grows, not thirty daily alerts. An episode opens on an alarm day
and stays open until ``cooldown_days`` quiet days in a row have passed; an alarm inside the
cool-down extends it. While an episode is open, every day from its start is kept out of the
detector's baseline (see ``EpisodeTracker.step``), so a months-long surge (Wuhan, Jan-May 2020)
is judged against the pre-surge normal and stays ONE episode instead of becoming the new normal.
When an episode closes, its trailing quiet (cool-down) days are released back to the baseline;
the alarm span itself stays excluded for good.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

from cityradar.records import ALERT_STATUSES, Alert, AlertUpdate


@dataclass(slots=True)
class Episode:
    """A run of alarm days of one detector over one series.

    ``peak`` is the alarm day with the largest excess (observed - expected); ``observed`` and
    ``expected`` are that day's. ``severity = log2(observed / expected) * min(-log10 p, cap)``
    at the peak: the log-ratio says how big the surge is, the capped significance how sure we
    are, so a 30x surge on a small baseline outranks a 2x wobble of a big city's coverage.
    ``is_open`` is true when the series ends before the cool-down has passed.
    """

    kind: str
    start: date
    peak: date
    end: date
    observed: float
    expected: float
    severity: float
    pvalue: float
    alarm_days: int = 1
    is_open: bool = False

    def as_row(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "start": self.start.isoformat(),
            "peak": self.peak.isoformat(),
            "end": self.end.isoformat(),
            "observed": round(float(self.observed), 3),
            "expected": round(float(self.expected), 3),
            "severity": round(float(self.severity), 3),
        }


def severity_of(observed: float, expected: float, pvalue: float, cap: float) -> float:
    ratio = max(observed, 1e-9) / max(expected, 1e-9)
    significance = min(-math.log10(max(pvalue, 1e-300)), cap)
    return max(math.log2(ratio), 0.0) * significance


@dataclass(slots=True)
class EpisodeTracker:
    """Day-by-day episode state, driven by a detector's scan over a series."""

    kind: str
    cooldown_days: int
    severity_cap: float
    min_alarm_days: int = 1
    confirm_days: int = 7
    episodes: list[Episode] = field(default_factory=list)
    _open: Episode | None = None
    _last_alarm: int = -1
    _quiet: int = 0

    def step(
        self,
        index: int,
        day: date,
        alarm: bool,
        observed: float,
        expected: float,
        pvalue: float,
        start: date | None = None,
    ) -> tuple[bool, range]:
        """Record day ``index``; returns (day is inside an open episode, days to release).

        ``start`` (an alarm from a multi-day run) is the first day of an episode this alarm
        opens; by default the episode starts on ``day``.

        Released days are the cool-down days of an episode that just closed: they were quiet,
        so the baseline may use them again.
        """
        if alarm:
            excess = observed - expected
            if (
                self._open is not None
                and self._open.alarm_days < self.min_alarm_days
                and index - self._last_alarm > self.confirm_days
            ):
                self._open = None  # an unconfirmed lone alarm day; this one starts afresh
            if self._open is None:
                self._open = Episode(
                    kind=self.kind,
                    start=start or day,
                    peak=day,
                    end=day,
                    observed=observed,
                    expected=expected,
                    severity=severity_of(observed, expected, pvalue, self.severity_cap),
                    pvalue=pvalue,
                )
                self.episodes.append(self._open)
            else:
                episode = self._open
                episode.end = day
                episode.alarm_days += 1
                if excess > episode.observed - episode.expected:
                    episode.peak = day
                    episode.observed = observed
                    episode.expected = expected
                    episode.pvalue = pvalue
                    episode.severity = severity_of(observed, expected, pvalue, self.severity_cap)
            self._last_alarm = index
            self._quiet = 0
            return True, range(0)
        if self._open is None:
            return False, range(0)
        self._quiet += 1
        if self._quiet >= self.cooldown_days:
            self._open = None
            return False, range(self._last_alarm + 1, index + 1)
        return True, range(0)

    def finish(self) -> list[Episode]:
        """The confirmed episodes: those with at least ``min_alarm_days`` alarm days."""
        if self._open is not None:
            self._open.is_open = True
        return [e for e in self.episodes if e.alarm_days >= self.min_alarm_days]


# -- triage lifecycle -------------------------------------------------------------------------

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"acknowledged"}),
    "acknowledged": frozenset({"resolved"}),
    "resolved": frozenset({"acknowledged"}),  # reopen: a resolved episode that grew again
}


def operator_name() -> str:
    """Who a triage from this machine is recorded as when no one is signed in (the CLI, the UI
    with login off): ``CITYRADAR_USER``, else the OS user, else "" (unknown)."""
    return os.environ.get("CITYRADAR_USER") or os.environ.get("USER") or ""


def triage_choices(status: str) -> list[str]:
    """The statuses an alert in ``status`` may be set to, in lifecycle order: its allowed moves,
    then its own status (which adds a note only). The UI offers exactly these; ``transition``
    refuses anything else, for the UI and ``cityradar alerts ack/resolve`` alike."""
    allowed = ALLOWED_TRANSITIONS.get(status, frozenset())
    return [s for s in ALERT_STATUSES if s in allowed] + [status]


class TransitionError(ValueError):
    """A status change the triage lifecycle does not allow."""


def transition(alert: Alert, status: str, note: str = "", by: str = "") -> Alert:
    """A copy of ``alert`` moved to ``status`` with a history entry (and the note, if any).

    Allowed: new -> acknowledged -> resolved, and resolved -> acknowledged (reopen). Asking for
    the status the alert already has only adds the note (history "note"), so an analyst can
    annotate an acknowledged alert with ``ack ID --note``.
    """
    if status not in ALERT_STATUSES:
        raise TransitionError(f"unknown status {status!r} (use one of {', '.join(ALERT_STATUSES)})")
    now = datetime.now(UTC)
    if status == alert.status:
        if not note:
            raise TransitionError(f"alert {alert.id} is already {status}")
        what = "note"
    elif status in ALLOWED_TRANSITIONS[alert.status]:
        what = f"status: {status}"
    else:
        raise TransitionError(f"alert {alert.id}: cannot go from {alert.status} to {status}")
    return replace(
        alert,
        status=status,  # type: ignore[arg-type]
        notes=[*alert.notes, note] if note else list(alert.notes),
        history=[*alert.history, AlertUpdate(at=now, what=what, note=note, by=by)],
        updated_at=now,
    )
