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

# SMOPS_POLL_SECONDS shortens the first poll for emulators and tests (and scales the whole
# schedule with it); real AWS wants the default.
DEFAULT_FIRST_POLL = 5.0
# The longest delay between polls, and the heartbeat's period, in first polls (30 s and 3 min).
CEILING_POLLS, HEARTBEAT_POLLS = 6, 36
# A poll comes at most this share of the time waited so far after the one before.
LATENESS = 0.1


def first_poll_seconds() -> float:
    return float(os.environ.get("SMOPS_POLL_SECONDS") or DEFAULT_FIRST_POLL)


def heartbeat_seconds() -> float:
    return first_poll_seconds() * HEARTBEAT_POLLS


def next_delay(waited: float, first: float) -> float:
    """Seconds until the next poll: a tenth of the time waited so far, kept between the first
    poll and the ceiling, so the end is noticed within 10 % of the wait and never more than 30 s
    late, while a long wait polls only every 30 s. Jitter (up to 20 %) only ever shortens the
    delay, so jobs polling one account drift apart without breaking that bound."""
    return min(max(LATENESS * waited, first), first * CEILING_POLLS) * random.uniform(0.8, 1.0)


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

    Polls follow `next_delay`; a heartbeat line is logged every `heartbeat_seconds` (3 min).
    """
    first, heartbeat_every = first_poll_seconds(), heartbeat_seconds()
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
        time.sleep(min(next_delay(now - start, first), max(deadline - now, 0)))
