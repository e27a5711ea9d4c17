"""The one retry policy for outbound calls (feed fetches, GDELT file downloads, webhooks).

Built on tenacity: exponential backoff with jitter (the wait before retry *n* is
``backoff_s * 2**(n-1)`` plus a random share of up to ``backoff_s``, capped at ``max_wait_s``),
at most ``retries`` further attempts after the first, a server's Retry-After honoured (up to
``max_wait_s``) when the caller reads one, and an optional overall deadline: no retry is
started whose wait would end after it (the caller's last outcome is then returned or raised).

It lives in ``cityradar/`` beside the records because two stages use it (``ingest`` and
``alerts``); neither should import the other for it. Waits go through ``sleep`` so tests pass a
recorder (or tiny ``backoff_s``) and never wait for real.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

log = logging.getLogger(__name__)

T = TypeVar("T")

# HTTP statuses worth another try: rate limiting and the server-side transient errors.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


def transient_status(status: int | None) -> bool:
    """An HTTP status that another attempt may well turn into a success."""
    return status is not None and status in TRANSIENT_STATUSES


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int = 2  # further attempts after the first
    backoff_s: float = 1.0  # base of the exponential wait, and the width of its jitter
    max_wait_s: float = 60.0  # no single wait (Retry-After included) is longer
    deadline_s: float | None = None  # from the first attempt; None: attempts alone bound it

    def call(
        self,
        attempt: Callable[[], T],
        *,
        retry_result: Callable[[T], bool] | None = None,
        retry_exception: Callable[[BaseException], bool] | None = None,
        retry_after: Callable[[T], float | None] | None = None,
        deadline: Callable[[], float | None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        what: str = "call",
        reason: Callable[[T], str] | None = None,
    ) -> T:
        """``attempt()`` until it succeeds, the attempts are spent or the deadline is near.

        A result is retried when ``retry_result(result)`` is true, an exception when
        ``retry_exception(exc)`` is (other exceptions propagate at once). When retrying ends
        the last result is returned, or the last exception raised. ``retry_after(result)`` is a
        server-requested wait in seconds (or None); ``deadline()`` is the ``time.monotonic()``
        after which no retry may start (default: ``deadline_s`` after the first attempt began).
        Each retry is logged with ``what`` and the failure (``reason(result)`` for a result).
        """
        started: list[float] = []

        def first_attempt_clock() -> T:
            if not started:
                started.append(time.monotonic())
            return attempt()

        def deadline_at() -> float | None:
            if deadline is not None:
                return deadline()
            if self.deadline_s is None or not started:
                return None
            return started[0] + self.deadline_s

        backoff = tenacity.wait_exponential_jitter(
            multiplier=self.backoff_s, jitter=self.backoff_s, max=self.max_wait_s)

        def wait(state: tenacity.RetryCallState) -> float:
            delay = backoff(state)
            outcome = state.outcome
            if retry_after is not None and outcome is not None and not outcome.failed:
                asked = retry_after(outcome.result())
                if asked is not None:
                    delay = max(delay, min(asked, self.max_wait_s))
            return delay

        def stop(state: tenacity.RetryCallState) -> bool:
            if state.attempt_number > self.retries:
                return True
            limit = deadline_at()
            if limit is not None and time.monotonic() + state.upcoming_sleep >= limit:
                log.info("%s: no retry within the deadline", what)
                return True
            return False

        def should_retry(state: tenacity.RetryCallState) -> bool:
            outcome = state.outcome
            if outcome is None:
                return False
            if outcome.failed:
                exc = outcome.exception()
                return retry_exception is not None and exc is not None and retry_exception(exc)
            return retry_result is not None and retry_result(outcome.result())

        def before_sleep(state: tenacity.RetryCallState) -> None:
            outcome = state.outcome
            if outcome is None:
                why = ""
            elif outcome.failed:
                exc = outcome.exception()
                why = f"{type(exc).__name__}: {exc}".splitlines()[0]
            else:
                why = reason(outcome.result()) if reason is not None else "retryable result"
            log.info("retrying %s in %.2fs (attempt %d failed: %s)", what, state.upcoming_sleep,
                     state.attempt_number, why)

        retrying = tenacity.Retrying(
            sleep=sleep,
            stop=stop,
            wait=wait,
            retry=should_retry,
            before_sleep=before_sleep,
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        )
        return retrying(first_attempt_clock)
