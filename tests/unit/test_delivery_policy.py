"""The retry policy on its own: what each answer means and when the next try is due."""

from datetime import UTC, datetime, timedelta

import pytest

from referral_service.delivery import policy
from referral_service.delivery.policy import Verdict
from referral_service.sources.registry import DEFAULT_BACKOFF, DeliveryPolicy

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
POLICY = DeliveryPolicy(
    max_attempts=8,
    backoff_seconds=list(DEFAULT_BACKOFF),
    concurrency=2,
    breaker_threshold=5,
    probe_interval_seconds=300,
)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, Verdict.DELIVERED),
        (201, Verdict.DELIVERED),
        (204, Verdict.DELIVERED),
        (408, Verdict.RETRY),
        (429, Verdict.RETRY),
        (500, Verdict.RETRY),
        (502, Verdict.RETRY),
        (503, Verdict.RETRY),
        (504, Verdict.RETRY),
        (301, Verdict.FAILED),
        (400, Verdict.FAILED),
        (401, Verdict.FAILED),
        (403, Verdict.FAILED),
        (404, Verdict.FAILED),
        (422, Verdict.FAILED),
        (410, Verdict.GONE),
    ],
)
def test_verdict_by_status(status, expected):
    assert policy.verdict(status) is expected


def test_no_answer_is_retried_only_when_transient():
    assert policy.verdict(None, transient_error=True) is Verdict.RETRY
    assert policy.verdict(None, transient_error=False) is Verdict.FAILED


def test_retry_after_in_seconds_and_as_http_date():
    assert policy.parse_retry_after("120", NOW) == 120
    assert policy.parse_retry_after("Tue, 01 Dec 2026 08:10:00 GMT", NOW) == 600
    assert policy.parse_retry_after("Tue, 01 Dec 2026 07:00:00 GMT", NOW) == 0
    assert policy.parse_retry_after("soon", NOW) is None
    assert policy.parse_retry_after(None, NOW) is None


@pytest.mark.parametrize("attempts_made", range(1, 8))
def test_backoff_follows_the_schedule_within_jitter(attempts_made):
    step = DEFAULT_BACKOFF[attempts_made - 1]
    waits = [policy.backoff_seconds(POLICY, attempts_made) for _ in range(200)]
    assert all(step * 0.9 <= wait <= step * 1.1 for wait in waits)
    assert len({round(wait, 6) for wait in waits}) > 1  # jittered, not fixed


def test_last_step_repeats_past_the_end_of_the_schedule():
    assert 36000 * 0.9 <= policy.backoff_seconds(POLICY, 20) <= 36000 * 1.1


def test_retry_after_wins_when_later_and_is_capped_at_the_longest_step():
    later = policy.next_attempt_at(POLICY, 1, NOW, retry_after=120)
    assert later == NOW + timedelta(seconds=120)
    earlier = policy.next_attempt_at(POLICY, 2, NOW, retry_after=10)
    assert NOW + timedelta(seconds=270) <= earlier <= NOW + timedelta(seconds=330)
    capped = policy.next_attempt_at(POLICY, 1, NOW, retry_after=10**9)
    assert capped == NOW + timedelta(seconds=36000)
