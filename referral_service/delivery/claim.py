"""Claim due reports: one short transaction that leases a report to one worker.

A report is due when it is PENDING, its `next_attempt_at` has come, nobody holds a live
lease on it, and every earlier report (lower `sequence`) of its referral is DELIVERED.
The claim is a single `UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING …`: on
PostgreSQL the inner select takes `FOR UPDATE SKIP LOCKED`, so workers never wait for
or take each other's rows (a scalar `=`, not `IN`: PostgreSQL may run an `IN` subquery
once per outer row, and with SKIP LOCKED each run can lock another row); on SQLite
(one worker) the UPDATE takes the write lock and re-checks the lease. A lease that
runs out (a crashed worker) makes the report due again.

A source paused by staff (or by a 410 Gone) is not claimed from; a source paused by the
circuit breaker lets one report through every `probe_interval_seconds` as a probe.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from referral_service.db import upsert_insert
from referral_service.delivery.send import Outgoing
from referral_service.models import Report, SourceState, UTCDateTime, utcnow
from referral_service.sources.registry import Source

BREAKER = "breaker"


@dataclass(frozen=True)
class Hold:
    """A PENDING report kept back by an earlier report of the same referral."""

    report_id: str
    waiting_for: str
    waiting_for_status: str

    def __str__(self) -> str:
        return f"waiting for report {self.waiting_for} ({self.waiting_for_status})"


def _due():
    """Due for a source: the claim's condition, with `for_source` and `now` bound later."""
    earlier = aliased(Report)
    now = bindparam("now", type_=UTCDateTime())
    return and_(
        Report.source_id == bindparam("for_source"),
        Report.status == "PENDING",
        Report.next_attempt_at <= now,
        or_(Report.locked_until.is_(None), Report.locked_until <= now),
        ~exists().where(
            earlier.referral_id == Report.referral_id,
            earlier.sequence < Report.sequence,
            earlier.status != "DELIVERED",
        ),
    )


# Built once: constructing it costs more than running it.
_CANDIDATE = (
    select(Report.id)
    .where(_due())
    .order_by(Report.next_attempt_at, Report.created_at)
    .limit(1)
    .with_for_update(skip_locked=True)
    .scalar_subquery()
)
_CLAIM = (
    update(Report)
    .where(Report.id == _CANDIDATE, _due())
    .values(locked_until=bindparam("until", type_=UTCDateTime()), locked_by=bindparam("worker"))
    .returning(Report.id, Report.source_id, Report.content_type, Report.body, Report.attempt_count)
    .execution_options(synchronize_session=False)
)


def ensure_source_state(db: Session, source_id: str) -> None:
    """Create the source's state row if it does not exist yet (safe under concurrency)."""
    db.execute(upsert_insert(db, SourceState).values(source_id=source_id).on_conflict_do_nothing())


def _take_probe(db: Session, source: Source, now: datetime) -> bool:
    """Move the breaker's next probe forward; True if this worker won the probe."""
    result = db.execute(
        update(SourceState)
        .where(
            SourceState.source_id == source.id,
            SourceState.paused.is_(True),
            SourceState.paused_by == BREAKER,
            or_(SourceState.next_probe_at.is_(None), SourceState.next_probe_at <= now),
        )
        .values(next_probe_at=now + timedelta(seconds=source.delivery.probe_interval_seconds))
    )
    return result.rowcount == 1


def claim_next(
    db: Session, source: Source, worker_id: str, lease_seconds: float
) -> Outgoing | None:
    """Lease the next due report of `source` to `worker_id` and commit; None if none is due.

    While the breaker holds the source, at most one report per probe interval is handed out.
    """
    now = utcnow()
    state = db.execute(
        select(SourceState.paused, SourceState.paused_by).where(SourceState.source_id == source.id)
    ).first()
    if state is None:
        ensure_source_state(db, source.id)  # the row `record` keeps up to date
    elif state.paused and (state.paused_by != BREAKER or not _take_probe(db, source, now)):
        db.rollback()
        return None
    lease = {"until": now + timedelta(seconds=lease_seconds), "worker": worker_id}
    row = db.execute(_CLAIM, {"for_source": source.id, "now": now, **lease}).first()
    if row is None:
        db.rollback()  # also gives back a probe slot nobody used
        return None
    db.commit()
    return Outgoing(*row)


def held_back(db: Session, report_ids: Iterable[str] | None = None) -> dict[str, Hold]:
    """For each PENDING report waiting on an earlier undelivered one, the earliest blocker.

    A FAILED blocker holds its referral's later reports until staff re-queue it.
    """
    later, earlier = aliased(Report), aliased(Report)
    query = (
        select(later.id, earlier.id, earlier.status)
        .join(
            earlier,
            and_(earlier.referral_id == later.referral_id, earlier.sequence < later.sequence),
        )
        .where(later.status == "PENDING", earlier.status != "DELIVERED")
        .order_by(later.id, earlier.sequence.desc())
    )
    if report_ids is not None:
        query = query.where(later.id.in_(list(report_ids)))
    holds: dict[str, Hold] = {}
    for report_id, blocker_id, blocker_status in db.execute(query):
        holds[report_id] = Hold(report_id, blocker_id, blocker_status)  # lowest sequence wins
    return holds
