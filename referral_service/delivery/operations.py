"""What staff can do about delivery: re-queue a FAILED report, pause and resume a source.

The API and the dashboard both call these. Each commits, and logs who did what. A hand
pause is never lifted by the circuit breaker; only `resume_source` lifts it.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from referral_service import sources
from referral_service.delivery.claim import ensure_source_state
from referral_service.errors import ProblemError
from referral_service.models import CaseEvent, Report, SourceState, utcnow

log = logging.getLogger(__name__)


def requeue_report(db: Session, report_id: str, actor: str) -> Report:
    """Put a FAILED report back in the queue, due now, with a fresh set of attempts.

    Its earlier attempts stay on record. 404 if unknown, 409 if it is not FAILED.
    """
    report = db.scalar(
        select(Report)
        .where(Report.id == report_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if report is None:
        raise ProblemError(404, "Not Found", f"No report {report_id}.", slug="report-not-found")
    if report.status != "FAILED":
        raise ProblemError(
            409,
            "Report not failed",
            f"Only a FAILED report can be re-queued; this one is {report.status}.",
            slug="report-not-failed",
            report_status=report.status,
        )
    report.status = "PENDING"
    report.attempt_count = 0
    report.next_attempt_at = utcnow()
    report.failed_at = None
    report.locked_until = report.locked_by = None
    db.add(
        CaseEvent(
            case_id=report.case_id,
            kind="report_requeued",
            actor=actor,
            data={"report_id": report.id, "last_error": report.last_error},
        )
    )
    report.last_error = None
    db.commit()
    log.info("report %s re-queued by %s", report.id, actor)
    return report


def pause_source(db: Session, source_id: str, actor: str, reason: str) -> SourceState:
    """Stop delivering to a source until staff resume it (the breaker will not)."""
    state = _state(db, source_id)
    state.paused, state.paused_by, state.paused_reason = True, actor, reason
    state.paused_at = utcnow()
    state.next_probe_at = None
    db.commit()
    log.info("delivery to %s paused by %s: %s", source_id, actor, reason)
    return state


def resume_source(db: Session, source_id: str, actor: str) -> SourceState:
    """Deliver to a source again, whoever paused it; the failure count starts afresh."""
    state = _state(db, source_id)
    state.paused, state.paused_by, state.paused_reason = False, None, None
    state.paused_at = state.next_probe_at = None
    state.consecutive_failures = 0
    db.commit()
    log.info("delivery to %s resumed by %s", source_id, actor)
    return state


def _state(db: Session, source_id: str) -> SourceState:
    if sources().get(source_id) is None:
        raise ProblemError(404, "Not Found", f"No source {source_id}.", slug="source-not-found")
    ensure_source_state(db, source_id)
    return db.scalars(
        select(SourceState)
        .where(SourceState.source_id == source_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
