"""The transactional outbox: a report row written in the same transaction as the state change.

A case reaching SETTLED, NOT_SETTLED, WITHDRAWN or DECLINED queues an outcome report;
ACCEPTED and IN_MEDIATION queue an interim report when the source asks for it
(`interim_statuses`); RECALLED queues nothing. The body is rendered now and stored, so a
later edit of the case cannot change what is sent. Reports of one referral are numbered
1, 2, 3... (`uq_report_sequence`) and delivered in that order.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import referral_service
from referral_service.delivery.render import REPORTED_FINAL_STATES, render_report
from referral_service.errors import ProblemError
from referral_service.ids import new_ulid
from referral_service.models import Case, CaseEvent, Report


def enqueue_report(db: Session, case: Case, event: CaseEvent) -> Report | None:
    """Queue the report `event` calls for (None if it calls for none); the caller commits.

    Raises a problem (and nothing is queued) when the case's source is not configured or
    its report cannot be rendered.
    """
    source = referral_service.sources().get(case.source_id)
    interim = source.interim_statuses if source else ()
    if case.status not in REPORTED_FINAL_STATES and case.status not in interim:
        return None
    if source is None:
        raise ProblemError(
            409,
            "Source not configured",
            f"Source {case.source_id} is not configured, so no report can be sent for "
            "this change; configure the source first.",
            slug="source-not-configured",
        )
    report_id = new_ulid()
    rendered = render_report(source, case, event, report_id)
    referral_id = case.referral.id
    last = db.scalar(select(func.max(Report.sequence)).where(Report.referral_id == referral_id))
    report = Report(
        id=report_id,
        referral_id=referral_id,
        source_id=case.source_id,
        sequence=(last or 0) + 1,
        case_status=case.status,
        content_type=rendered.content_type,
        body=rendered.body,
        next_attempt_at=event.at,
    )
    case.reports.append(report)
    db.flush()
    return report
