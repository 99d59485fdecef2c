"""Sync status: the figures behind the overview page, `GET /api/v1/sync-status`, the
metrics and the alerts, read with a handful of aggregate queries (never one per source).

Days are Asia/Shanghai days. "Accepted" inbound outcomes are those that reached a case;
every other outcome is "refused". "Undelivered" reports are PENDING or FAILED: the
court has not got them yet.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from referral_service.cases.lifecycle import FINAL_STATES
from referral_service.localtime import local_midnight, local_today
from referral_service.models import (
    Case,
    DeliveryAttempt,
    InboundMessage,
    Report,
    SourceState,
    WorkerHeartbeat,
    utcnow,
)
from referral_service.sources import SourceRegistry

ACCEPTED_OUTCOMES = frozenset({"created", "duplicate", "updated", "recalled", "multi"})
REPORT_STATUSES = ("PENDING", "DELIVERED", "FAILED")
UNDELIVERED = ("PENDING", "FAILED")


def local_day_start(now: datetime, days_back: int = 0) -> datetime:
    """Midnight in Asia/Shanghai, `days_back` days before `now`'s local day."""
    return local_midnight(local_today(now) - timedelta(days=days_back))


def is_refused(outcome: str) -> bool:
    """True when an inbound outcome did not reach a case (invalid, conflict, malformed...)."""
    return outcome not in ACCEPTED_OUTCOMES


@dataclass
class InboundCounts:
    """Inbound messages of one source in one window, by outcome."""

    by_outcome: dict[str, int] = field(default_factory=dict)

    @property
    def received(self) -> int:
        return sum(self.by_outcome.values())

    @property
    def accepted(self) -> int:
        return sum(n for outcome, n in self.by_outcome.items() if not is_refused(outcome))

    @property
    def refused(self) -> int:
        return self.received - self.accepted


@dataclass
class SourceStatus:
    """Everything the overview shows for one source."""

    id: str
    name: str
    enabled: bool = True
    today: InboundCounts = field(default_factory=InboundCounts)
    last_7_days: InboundCounts = field(default_factory=InboundCounts)
    last_received_at: datetime | None = None
    reports: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REPORT_STATUSES, 0))
    oldest_undelivered_at: datetime | None = None
    oldest_pending_seconds: int | None = None
    last_delivered_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    paused: bool = False
    paused_reason: str | None = None
    paused_by: str | None = None
    paused_at: datetime | None = None


@dataclass
class SyncStatus:
    """The state of every source, the worker and the deadlines at `generated_at`."""

    generated_at: datetime
    sources: list[SourceStatus]
    last_heartbeat_at: datetime | None
    heartbeat_worker: str | None
    cases_due_soon: int
    cases_overdue: int

    @property
    def heartbeat_age_seconds(self) -> int | None:
        if self.last_heartbeat_at is None:
            return None
        return max(0, int((self.generated_at - self.last_heartbeat_at).total_seconds()))

    def source(self, source_id: str) -> SourceStatus | None:
        """The status of one source, or None."""
        return next((s for s in self.sources if s.id == source_id), None)


def _inbound(db: Session, rows: dict[str, SourceStatus], now: datetime) -> None:
    today_start, week_start = local_day_start(now), local_day_start(now, 6)
    in_today = func.sum(case((InboundMessage.received_at >= today_start, 1), else_=0))
    query = (
        select(InboundMessage.source_id, InboundMessage.outcome, func.count(), in_today)
        .where(InboundMessage.received_at >= week_start)
        .group_by(InboundMessage.source_id, InboundMessage.outcome)
    )
    for source_id, outcome, week, today in db.execute(query):
        if source_id in rows:
            rows[source_id].last_7_days.by_outcome[outcome] = week
            if today:
                rows[source_id].today.by_outcome[outcome] = int(today)
    last = select(InboundMessage.source_id, func.max(InboundMessage.received_at)).group_by(
        InboundMessage.source_id
    )
    for source_id, received_at in db.execute(last):
        if source_id in rows:
            rows[source_id].last_received_at = received_at


def _reports(db: Session, rows: dict[str, SourceStatus], now: datetime) -> None:
    query = select(
        Report.source_id,
        Report.status,
        func.count(),
        func.min(Report.created_at),
        func.max(Report.delivered_at),
    ).group_by(Report.source_id, Report.status)
    for source_id, status, count, oldest, delivered in db.execute(query):
        row = rows.get(source_id)
        if row is None:
            continue
        row.reports[status] = count
        if status in UNDELIVERED and (
            row.oldest_undelivered_at is None or oldest < row.oldest_undelivered_at
        ):
            row.oldest_undelivered_at = oldest
        if status == "DELIVERED":
            row.last_delivered_at = delivered
    for row in rows.values():
        if row.oldest_undelivered_at is not None:
            age = (now - row.oldest_undelivered_at).total_seconds()
            row.oldest_pending_seconds = max(0, int(age))


def _ranked_attempts(*columns: Any) -> Select:
    """Attempts with their report's `source_id`, `columns` and `rank`: 1 for each source's
    latest attempt, 2 for the one before, and so on."""
    return select(
        Report.source_id,
        *columns,
        func.row_number()
        .over(partition_by=Report.source_id, order_by=DeliveryAttempt.id.desc())
        .label("rank"),
    ).join(Report, Report.id == DeliveryAttempt.report_id)


def _last_errors(db: Session, rows: dict[str, SourceStatus]) -> None:
    ranked = (
        _ranked_attempts(
            DeliveryAttempt.started_at, DeliveryAttempt.error, DeliveryAttempt.http_status
        )
        .where(DeliveryAttempt.result != "delivered")
        .subquery()
    )
    query = select(ranked.c.source_id, ranked.c.started_at, ranked.c.error, ranked.c.http_status)
    for source_id, started_at, error, http_status in db.execute(query.where(ranked.c.rank == 1)):
        if source_id in rows:
            rows[source_id].last_error = error or f"HTTP {http_status}"
            rows[source_id].last_error_at = started_at


def _paused(db: Session, rows: dict[str, SourceStatus]) -> None:
    for state in db.scalars(select(SourceState).where(SourceState.paused.is_(True))):
        row = rows.get(state.source_id)
        if row is not None:
            row.paused, row.paused_reason = True, state.paused_reason
            row.paused_by, row.paused_at = state.paused_by, state.paused_at


def _open_cases(due_before: date):
    return select(Case).where(Case.status.not_in(FINAL_STATES), Case.deadline <= due_before)


def due_cases(db: Session, now: datetime, due_soon_days: int, limit: int = 20) -> list[Case]:
    """Open cases overdue or due within `due_soon_days`, earliest deadline first."""
    horizon = local_today(now) + timedelta(days=due_soon_days)
    query = _open_cases(horizon).order_by(Case.deadline, Case.id).limit(limit)
    return list(db.scalars(query))


def _deadline_counts(db: Session, now: datetime, due_soon_days: int) -> tuple[int, int]:
    today = local_today(now)
    horizon = today + timedelta(days=due_soon_days)
    overdue = func.sum(case((Case.deadline < today, 1), else_=0))
    query = select(func.count(), overdue).where(
        Case.status.not_in(FINAL_STATES), Case.deadline <= horizon
    )
    total, late = db.execute(query).one()
    return int(total or 0) - int(late or 0), int(late or 0)


def sync_status(
    db: Session, sources: SourceRegistry, *, due_soon_days: int = 3, now: datetime | None = None
) -> SyncStatus:
    """Read the sync status of every configured source, the worker and the deadlines."""
    now = now or utcnow()
    rows = {s.id: SourceStatus(id=s.id, name=s.name, enabled=s.enabled) for s in sources.all()}
    _inbound(db, rows, now)
    _reports(db, rows, now)
    _last_errors(db, rows)
    _paused(db, rows)
    heartbeat = db.scalars(
        select(WorkerHeartbeat).order_by(WorkerHeartbeat.last_seen.desc()).limit(1)
    ).first()
    due_soon, overdue = _deadline_counts(db, now, due_soon_days)
    return SyncStatus(
        generated_at=now,
        sources=list(rows.values()),
        last_heartbeat_at=heartbeat.last_seen if heartbeat else None,
        heartbeat_worker=heartbeat.worker_id if heartbeat else None,
        cases_due_soon=due_soon,
        cases_overdue=overdue,
    )


def attempts_by_result(db: Session) -> dict[tuple[str, str], int]:
    """Delivery attempts ever recorded (within retention), by (source, result)."""
    query = (
        select(Report.source_id, DeliveryAttempt.result, func.count())
        .join(Report, Report.id == DeliveryAttempt.report_id)
        .group_by(Report.source_id, DeliveryAttempt.result)
    )
    return {(source_id, result): n for source_id, result, n in db.execute(query)}


def inbound_by_outcome(db: Session) -> dict[tuple[str, str], int]:
    """Inbound messages ever recorded, by (source, outcome)."""
    query = select(InboundMessage.source_id, InboundMessage.outcome, func.count()).group_by(
        InboundMessage.source_id, InboundMessage.outcome
    )
    return {(source_id, outcome): n for source_id, outcome, n in db.execute(query)}


def recent_refused(db: Session, since: datetime) -> dict[str, int]:
    """Refused inbound messages received since `since`, by source."""
    query = (
        select(InboundMessage.source_id, func.count())
        .where(
            InboundMessage.received_at >= since,
            InboundMessage.outcome.not_in(ACCEPTED_OUTCOMES),
        )
        .group_by(InboundMessage.source_id)
    )
    return dict(db.execute(query).all())


def trailing_failures(db: Session, window: int) -> dict[str, int]:
    """Per source: how many of its latest `window` attempts failed in a row (newest first)."""
    ranked = _ranked_attempts(DeliveryAttempt.result).subquery()
    query = (
        select(ranked.c.source_id, ranked.c.result)
        .where(ranked.c.rank <= window)
        .order_by(ranked.c.source_id, ranked.c.rank)
    )
    streaks: dict[str, int] = defaultdict(int)
    ended: set[str] = set()
    for source_id, result in db.execute(query):
        if source_id in ended:
            continue
        if result == "delivered":
            ended.add(source_id)
        else:
            streaks[source_id] += 1
    return dict(streaks)


def as_dict(status: SyncStatus) -> dict[str, Any]:
    """The JSON shape of `GET /api/v1/sync-status`."""
    return {
        "generated_at": status.generated_at,
        "worker": {
            "last_heartbeat_at": status.last_heartbeat_at,
            "heartbeat_age_seconds": status.heartbeat_age_seconds,
            "worker_id": status.heartbeat_worker,
        },
        "cases": {"due_soon": status.cases_due_soon, "overdue": status.cases_overdue},
        "sources": [_source_dict(row) for row in status.sources],
    }


def _source_dict(row: SourceStatus) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "enabled": row.enabled,
        "inbound": {
            "today": dict(row.today.by_outcome),
            "last_7_days": dict(row.last_7_days.by_outcome),
        },
        "received": {"today": row.today.received, "last_7_days": row.last_7_days.received},
        "accepted": {"today": row.today.accepted, "last_7_days": row.last_7_days.accepted},
        "refused": {"today": row.today.refused, "last_7_days": row.last_7_days.refused},
        "last_received_at": row.last_received_at,
        "reports": dict(row.reports),
        "oldest_pending_seconds": row.oldest_pending_seconds,
        "last_delivered_at": row.last_delivered_at,
        "last_error": row.last_error,
        "last_error_at": row.last_error_at,
        "paused": row.paused,
        "paused_reason": row.paused_reason,
    }
