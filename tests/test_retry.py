"""The one retry policy (cityradar.retry, tenacity): backoff with jitter, attempts, deadline."""

from __future__ import annotations

import time

import pytest

from cityradar.retry import RetryPolicy


class Flaky:
    """Fails (returns "busy" or raises) ``failures`` times, then answers "ok"."""

    def __init__(self, failures: int, exc: type[Exception] | None = None) -> None:
        self.failures, self.exc, self.calls = failures, exc, 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            if self.exc is not None:
                raise self.exc("transient")
            return "busy"
        return "ok"


def test_transient_results_are_retried_with_exponential_jittered_waits() -> None:
    waits: list[float] = []
    attempt = Flaky(3)
    result = RetryPolicy(retries=3, backoff_s=0.1).call(
        attempt, retry_result=lambda r: r == "busy", sleep=waits.append)
    assert result == "ok" and attempt.calls == 4
    bases = [0.1, 0.2, 0.4]  # backoff_s * 2**(n-1), plus up to backoff_s of jitter
    assert len(waits) == 3 and all(b <= w <= b + 0.1 for b, w in zip(bases, waits, strict=True))


def test_attempts_are_bounded_and_the_last_outcome_is_returned_or_raised() -> None:
    waits: list[float] = []
    busy = Flaky(9)
    assert RetryPolicy(retries=2, backoff_s=0.01).call(
        busy, retry_result=lambda r: r == "busy", sleep=waits.append) == "busy"
    assert busy.calls == 3 and len(waits) == 2
    failing = Flaky(9, ConnectionError)
    with pytest.raises(ConnectionError):
        RetryPolicy(retries=2, backoff_s=0.01).call(
            failing, retry_exception=lambda e: isinstance(e, ConnectionError), sleep=waits.append)
    assert failing.calls == 3
    refused = Flaky(9, ValueError)  # not a transient error: raised at once
    with pytest.raises(ValueError):
        RetryPolicy(retries=2).call(refused, retry_exception=lambda e: False, sleep=waits.append)
    assert refused.calls == 1


def test_no_retry_starts_whose_wait_would_end_past_the_deadline() -> None:
    waits: list[float] = []
    limit = time.monotonic() + 0.5
    attempt = Flaky(9)
    result = RetryPolicy(retries=5, backoff_s=0.2).call(
        attempt, retry_result=lambda r: r == "busy", sleep=waits.append,
        deadline=lambda: limit - sum(waits))  # recorded waits count as time gone by
    # the first wait (0.2-0.4 s) fits the 0.5 s budget; the second (0.4-0.6 s more) does not
    assert result == "busy" and attempt.calls == 2 and len(waits) == 1

    waits.clear()
    tight = Flaky(9)
    assert RetryPolicy(retries=5, backoff_s=0.05, deadline_s=0.01).call(
        tight, retry_result=lambda r: r == "busy", sleep=waits.append) == "busy"
    assert tight.calls == 1 and waits == []  # deadline_s counts from the first attempt


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    waits: list[float] = []
    RetryPolicy(retries=2, backoff_s=0.01, max_wait_s=5).call(
        Flaky(2), retry_result=lambda r: r == "busy", retry_after=lambda r: 30.0,
        sleep=waits.append)
    assert waits == [5, 5]
