"""Waiting on remote work: backoff with jitter, a heartbeat, and a deadline.

botocore has no waiter for pipeline executions, and its endpoint waiter polls at a fixed 30 s
with no progress output, so both waits go through this one loop. Callers print state changes
from their `fetch`; this loop only adds the heartbeat and the timeout.

botocore retries each poll (adaptive mode: throttling, 5xx, dropped connections). A wait of hours
outlasts its retries, so a poll that still fails with an error botocore counts as transient is
let go as long as the next polls answer; POLL_FAILURES in a row end the wait.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import TypeVar

from smops import gha
from smops.errors import RemoteFailure, TimedOut

T = TypeVar("T")

# SMOPS_POLL_SECONDS shortens the first poll for emulators and tests (and scales the whole
# schedule with it); real AWS wants the default.
DEFAULT_FIRST_POLL = 6.0
# The longest delay between polls, and the heartbeat's period, in first polls (30 s and 3 min).
CEILING_POLLS, HEARTBEAT_POLLS = 5, 30
# A wait on a cheaper signal reads the state itself at least this often, in first polls (10 min).
SAFETY_NET_POLLS = 100
# The end of a wait is noticed at most this share of the whole wait late.
LATENESS = 0.1
# Polls in a row that may fail (each after botocore's own retries) before a wait gives up.
POLL_FAILURES = 3


class PollingFailed(RemoteFailure):
    """AWS kept failing the polls of a wait; the remote operation itself goes on."""


def first_poll_seconds() -> float:
    return float(os.environ.get("SMOPS_POLL_SECONDS") or DEFAULT_FIRST_POLL)


def next_delay(waited: float, first: float) -> float:
    """Seconds until the next poll: a ninth of the time waited so far (so the next poll is a tenth
    of the whole wait away), kept between the first poll and the ceiling. An end is then noticed
    within 10 % of the wait once it passes a minute, and never more than 30 s late, while a long
    wait polls only every 30 s. Jitter (up to 10 %) only ever shortens the delay, so jobs polling
    one account drift apart without breaking that bound."""
    fair = waited * LATENESS / (1 - LATENESS)
    return min(max(fair, first), first * CEILING_POLLS) * random.uniform(0.9, 1.0)


def safety_net_seconds() -> float:
    """How often a wait that reads a cheaper signal (the steps) also reads the state itself."""
    return first_poll_seconds() * SAFETY_NET_POLLS


def duration(seconds: float) -> str:
    """12s, 4m05s, 1h02m."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def wait_for(
    fetch: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout_seconds: float,
    what: str,
    status: Callable[[T], str],
) -> T:
    """Poll `fetch` until `done` says so; raise TimedOut at the deadline.

    Polls follow `next_delay`; a heartbeat line is logged every HEARTBEAT_POLLS first polls (3 min).
    """
    first = first_poll_seconds()
    heartbeat_every = first * HEARTBEAT_POLLS
    start = time.monotonic()
    deadline = start + timeout_seconds
    last_heartbeat = start
    state, failures = None, 0
    while True:
        try:
            state = fetch()
        except Exception as exc:
            failures += 1
            _tolerate(exc, failures, what)
        else:
            failures = 0
            if done(state):
                return state
        shown = status(state) if state is not None else "unknown"
        now = time.monotonic()
        if now >= deadline:
            raise TimedOut(
                f"{what} is still {shown} after {duration(now - start)}",
                "raise --timeout, or check on it later; it keeps running unless stopped",
            )
        if now - last_heartbeat >= heartbeat_every:
            gha.log(f"… {what} still {shown} ({duration(now - start)} so far)")
            last_heartbeat = now
        time.sleep(min(next_delay(now - start, first), max(deadline - now, 0)))


def _tolerate(exc: Exception, failures: int, what: str) -> None:
    """Let a transient poll failure go, up to POLL_FAILURES in a row; raise anything else."""
    if not transient(exc):
        raise exc
    if failures >= POLL_FAILURES:
        raise PollingFailed(
            f"could not read the state of {what}: {failures} polls in a row failed, the last with: {exc}",
            f"{what} goes on in AWS unless stopped: check on it, or re-run to wait for it again",
        ) from exc
    gha.warning(f"polling {what} failed ({exc}); trying again at the next poll")


def transient(exc: BaseException) -> bool:
    """Whether botocore's standard retry rules count `exc` as worth another try: throttling, a
    5xx answer, a dropped or refused connection. Asked of botocore's own checkers."""
    import botocore.exceptions
    from botocore.retries import standard

    if isinstance(exc, botocore.exceptions.ClientError):
        status = (exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        context = standard.RetryContext(
            attempt_number=1, parsed_response=exc.response, http_response=SimpleNamespace(status_code=status)
        )
    elif isinstance(exc, botocore.exceptions.BotoCoreError):
        context = standard.RetryContext(attempt_number=1, caught_exception=exc)
    else:
        return False
    checkers = [standard.TransientRetryableChecker(), standard.ThrottledRetryableChecker(), standard.ThrottlingStatusCodeChecker()]
    return any(checker.is_retryable(context) for checker in checkers)
