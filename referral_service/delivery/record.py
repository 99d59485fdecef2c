"""Record an attempt and its consequences in one transaction.

The attempt row, the report's new state (delivered, scheduled again, or FAILED) and the
source's delivery state (last delivery, last error, consecutive failures, breaker) are
committed together. The report is only changed while this worker still holds its lease.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from referral_service.delivery import policy
from referral_service.delivery.claim import BREAKER
from referral_service.delivery.policy import Verdict
from referral_service.delivery.send import Outgoing, SendResult
from referral_service.models import DeliveryAttempt, Report, SourceState, utcnow
from referral_service.sources.registry import Source

log = logging.getLogger(__name__)

GONE = "gone"
RESULT_OF = {Verdict.DELIVERED: "delivered", Verdict.RETRY: "retry"}  # anything else: failed


def record(
    db: Session, source: Source, report: Outgoing, result: SendResult, worker_id: str
) -> Verdict:
    """Store the attempt, settle the report and the source's state; commit; return the verdict."""
    now = utcnow()
    attempts_made = report.attempt_count + 1
    answer = policy.verdict(result.http_status, result.transient)
    exhausted = answer is Verdict.RETRY and attempts_made >= source.delivery.max_attempts
    outcome = Verdict.FAILED if exhausted else answer  # of this report; `answer` is the source's
    db.execute(
        insert(DeliveryAttempt).values(
            report_id=report.id,
            started_at=result.started_at,
            duration_ms=result.duration_ms,
            http_status=result.http_status,
            error=result.error,
            response_excerpt=result.excerpt,
            result=RESULT_OF.get(outcome, "failed"),
            worker=worker_id,
        )
    )
    values = _report_values(source, attempts_made, result, answer, now)
    changed = db.execute(
        update(Report)
        .where(Report.id == report.id, Report.locked_by == worker_id, Report.status == "PENDING")
        .values(attempt_count=attempts_made, locked_until=None, locked_by=None, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        log.warning("report %s: lease lost before recording; attempt kept", report.id)
    _update_source_state(db, source, result, answer, now)
    db.commit()
    return outcome


def _report_values(
    source: Source, attempts_made: int, result: SendResult, answer: Verdict, now: datetime
) -> dict:
    if answer is Verdict.DELIVERED:
        return {"status": "DELIVERED", "delivered_at": now, "last_error": None}
    if answer is Verdict.RETRY and attempts_made < source.delivery.max_attempts:
        retry_after = policy.parse_retry_after(result.retry_after, now)
        return {
            "next_attempt_at": policy.next_attempt_at(
                source.delivery, attempts_made, now, retry_after
            ),
            "last_error": result.error,
        }
    reason = result.error or "failed"
    if answer is Verdict.RETRY:
        reason = f"gave up after {attempts_made} attempts; last: {reason}"
    elif answer is Verdict.GONE:
        reason = f"{reason}: the receiver says this callback is gone; source paused"
    return {"status": "FAILED", "failed_at": now, "last_error": reason}


def _update_source_state(
    db: Session, source: Source, result: SendResult, answer: Verdict, now: datetime
) -> None:
    state = update(SourceState).where(SourceState.source_id == source.id)
    if answer is Verdict.DELIVERED:
        db.execute(state.values(consecutive_failures=0, last_delivered_at=now))
        resumed = db.execute(
            state.where(SourceState.paused_by == BREAKER).values(
                paused=False, paused_by=None, paused_reason=None, paused_at=None, next_probe_at=None
            )
        ).rowcount
        if resumed:
            log.info("source %s: probe delivered, breaker closed", source.id)
        return
    error = {"last_error": result.error, "last_error_at": now}
    if answer is Verdict.GONE:
        db.execute(
            state.values(
                paused=True, paused_by=GONE, paused_at=now, paused_reason=result.error, **error
            )
        )
        log.warning("source %s: callback answered 410 Gone; delivery paused", source.id)
        return
    if answer is Verdict.FAILED:
        db.execute(state.values(**error))  # the receiver is up; it refused this one report
        return
    failures = db.execute(
        state.values(consecutive_failures=SourceState.consecutive_failures + 1, **error).returning(
            SourceState.consecutive_failures
        )
    ).scalar_one()
    if failures >= source.delivery.breaker_threshold:
        _open_breaker(db, source, failures, now)


def _open_breaker(db: Session, source: Source, failures: int, now: datetime) -> None:
    opened = db.execute(
        update(SourceState)
        .where(SourceState.source_id == source.id, SourceState.paused.is_(False))
        .values(
            paused=True,
            paused_by=BREAKER,
            paused_at=now,
            paused_reason=f"{failures} failed attempts in a row",
            next_probe_at=now + timedelta(seconds=source.delivery.probe_interval_seconds),
        )
    ).rowcount
    if opened:
        log.warning("source %s: %d failures in a row, breaker open", source.id, failures)
