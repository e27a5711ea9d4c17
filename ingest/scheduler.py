"""`cityradar watch`: ingest (+ tag + detect) on a fixed interval until stopped."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.I)
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(text: str) -> float:
    """'15m' -> 900.0; accepts s/m/h/d suffixes (bare numbers are seconds)."""
    match = _INTERVAL.match(text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"invalid interval {text!r}: expected e.g. 90s, 15m, 1h")
    return float(match.group(1)) * _UNIT_S[match.group(2).lower()]


def run_every(
    cycle: Callable[[int], None],
    interval_s: float,
    max_cycles: int | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Run ``cycle(n)`` every ``interval_s`` seconds (start to start). An exception in one
    cycle is logged and the schedule goes on. Returns the number of cycles run."""
    stop = stop or threading.Event()
    done = 0
    while not stop.is_set() and (max_cycles is None or done < max_cycles):
        started = time.monotonic()
        try:
            cycle(done + 1)
        except Exception:
            log.exception("watch cycle %d failed; continuing", done + 1)
        done += 1
        if max_cycles is not None and done >= max_cycles:
            break
        stop.wait(max(0.0, interval_s - (time.monotonic() - started)))
    return done
