"""The retry policy: what an answer means, and when to try again.

2xx delivered; 408, 429, 5xx, timeouts and connection errors retried with backoff;
410 Gone fails the report and pauses the source; any other answer fails the report.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum

from referral_service.sources.registry import DeliveryPolicy

JITTER = 0.10  # each wait is the planned step ±10%, so retries of one outage spread out
RETRYABLE_STATUSES = frozenset({408, 429})


class Verdict(StrEnum):
    """What one attempt means for its report."""

    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"
    GONE = "gone"


def verdict(http_status: int | None, transient_error: bool = False) -> Verdict:
    """Classify an attempt by its HTTP status (None when no answer came back)."""
    if http_status is None:
        return Verdict.RETRY if transient_error else Verdict.FAILED
    if 200 <= http_status < 300:
        return Verdict.DELIVERED
    if http_status == 410:
        return Verdict.GONE
    if http_status in RETRYABLE_STATUSES or http_status >= 500:
        return Verdict.RETRY
    return Verdict.FAILED


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def backoff_seconds(policy: DeliveryPolicy, attempts_made: int) -> float:
    """The planned wait after attempt number `attempts_made` (1-based), with jitter.

    The policy's last step repeats if it has fewer steps than attempts.
    """
    steps = policy.backoff_seconds or [0]
    step = steps[min(attempts_made, len(steps)) - 1]
    return step * random.uniform(1 - JITTER, 1 + JITTER)


def next_attempt_at(
    policy: DeliveryPolicy, attempts_made: int, now: datetime, retry_after: float | None
) -> datetime:
    """When to try again: the later of the backoff and `Retry-After`.

    `Retry-After` is capped at the policy's longest step, so a receiver cannot park a
    report for longer than the schedule itself would.
    """
    wait = backoff_seconds(policy, attempts_made)
    if retry_after is not None:
        wait = max(wait, min(retry_after, max(policy.backoff_seconds or [0])))
    return now + timedelta(seconds=wait)
