"""Waiting on remote work: backoff with jitter, a heartbeat, and a deadline.

botocore has no waiter for pipeline executions, and its endpoint waiter polls at a fixed 30 s
with no progress output, so both waits go through this one loop. Callers print state changes
from their `fetch`; this loop only adds the heartbeat and the timeout.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from typing import TypeVar

from smops import gha
from smops.errors import TimedOut

T = TypeVar("T")

# SMOPS_POLL_SECONDS shortens the first poll for emulators and tests; real AWS wants the default.
DEFAULT_FIRST_POLL = 5.0
GROWTH = 1.5


def first_poll_seconds() -> float:
    return float(os.environ.get("SMOPS_POLL_SECONDS") or DEFAULT_FIRST_POLL)


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

    The delay starts at SMOPS_POLL_SECONDS (5 s), grows by half each poll up to six times that
    (30 s), with ±20 % jitter so many jobs polling one account do not move in step.
    """
    first = first_poll_seconds()
    delay, ceiling, heartbeat_every = first, first * 6, first * 36
    start = time.monotonic()
    deadline = start + timeout_seconds
    last_heartbeat = start
    while True:
        state = fetch()
        if done(state):
            return state
        now = time.monotonic()
        if now >= deadline:
            raise TimedOut(
                f"{what} is still {status(state)} after {duration(now - start)}",
                "raise --timeout, or check on it later; it keeps running unless stopped",
            )
        if now - last_heartbeat >= heartbeat_every:
            gha.log(f"… {what} still {status(state)} ({duration(now - start)} so far)")
            last_heartbeat = now
        time.sleep(min(delay * random.uniform(0.8, 1.2), max(deadline - now, 0)))
        delay = min(delay * GROWTH, ceiling)
