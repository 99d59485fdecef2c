"""The scheduled jobs. Each runs inside an app context (see `referral_service.scheduler`).

- `deliver_reports`: top up the dispatcher's delivery slots (returns at once).
- `check_deadlines`: keep `Case.deadline_state` current (Asia/Shanghai dates).
- `heartbeat`: record that this worker process is alive; `/readyz` reads it.
- `prune`: the retention policy for raw inbound bodies and old delivery attempts.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, case, delete, exists, or_, select, update

from referral_service import db, settings
from referral_service.cases.lifecycle import FINAL_STATES
from referral_service.delivery.dispatch import Dispatcher
from referral_service.localtime import local_today
from referral_service.models import (
    Case,
    DeliveryAttempt,
    InboundMessage,
    Referral,
    Report,
    WorkerHeartbeat,
    utcnow,
)

log = logging.getLogger(__name__)

_dispatcher_lock = threading.Lock()


def worker_id() -> str:
    """This process's identity in leases, attempts and heartbeats: `hostname:pid`."""
    return f"{socket.gethostname()}:{os.getpid()}"


def dispatcher() -> Dispatcher:
    """The current app's dispatcher, created on first use in this process."""
    app = current_app._get_current_object()
    with _dispatcher_lock:
        if "delivery" not in app.extensions:
            app.extensions["delivery"] = Dispatcher(app, worker_id())
    return app.extensions["delivery"]


def deliver_reports() -> None:
    """Start delivering due reports for every source with a free slot; returns at once."""
    dispatcher().run_once()


def check_deadlines() -> int:
    """Set `deadline_state` of every case: overdue, due_soon (within `due_soon_days`) or
    none; final cases are always none. Returns how many cases changed."""
    today = local_today()
    soon = today + timedelta(days=settings().deadlines["due_soon_days"])
    wanted = case(
        (Case.status.in_(FINAL_STATES), "none"),
        (Case.deadline < today, "overdue"),
        (Case.deadline <= soon, "due_soon"),
        else_="none",
    )
    session = db.session()
    changed = session.execute(
        update(Case)
        .where(Case.deadline_state != wanted)
        .values(deadline_state=wanted)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    if changed:
        log.info("deadline state changed for %d case(s)", changed)
    return changed


def heartbeat() -> None:
    """Record that this worker process is alive now."""
    session = db.session()
    now = utcnow()
    statement = db.upsert_insert(session, WorkerHeartbeat).values(
        worker_id=worker_id(),
        last_seen=now,
        started_at=now,
        hostname=socket.gethostname(),
        pid=os.getpid(),
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[WorkerHeartbeat.worker_id], set_={"last_seen": now}
        )
    )
    session.commit()


def prune() -> dict[str, int]:
    """Apply retention: drop raw bodies of old inbound messages whose case is final (or
    that have no case) and old attempts of DELIVERED reports. Undelivered reports and
    open cases are never touched. Returns the counts."""
    now = utcnow()
    retention = settings().retention
    session = db.session()
    open_case = exists().where(
        Referral.case_id == Case.id,
        Case.status.not_in(FINAL_STATES),
        or_(
            Referral.inbound_message_id == InboundMessage.id,
            and_(
                Referral.source_id == InboundMessage.source_id,
                Referral.external_id == InboundMessage.referral_external_id,
            ),
        ),
    )
    bodies = session.execute(
        update(InboundMessage)
        .where(
            InboundMessage.body.is_not(None),
            InboundMessage.received_at < now - timedelta(days=retention["raw_body_days"]),
            ~open_case,
        )
        .values(body=None, body_pruned_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    delivered = select(Report.id).where(Report.status == "DELIVERED")
    attempts = session.execute(
        delete(DeliveryAttempt)
        .where(
            DeliveryAttempt.started_at < now - timedelta(days=retention["attempt_days"]),
            DeliveryAttempt.report_id.in_(delivered),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    log.info("pruned %d raw bodies and %d delivery attempts", bodies, attempts)
    return {"raw_bodies": bodies, "attempts": attempts}
