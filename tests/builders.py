"""Builders for rows, so a test states only what it cares about."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from referral_service.auth.accounts import create_token, create_user
from referral_service.models import (
    Case,
    DeliveryAttempt,
    InboundMessage,
    Party,
    Referral,
    Report,
    SourceState,
    WorkerHeartbeat,
    utcnow,
)

_counter = itertools.count(1)


def build_user(
    db: Session, role: str = "viewer", name: str | None = None, password: str | None = None
) -> tuple[Any, str]:
    """A committed user with one API token (and a dashboard password if given)."""
    user = create_user(db, name or f"{role}-{next(_counter)}", role, password)
    token = create_token(db, user.name)
    db.commit()
    return user, token


def build_case(db: Session, *, source_id: str = "gz-intermediate-court", **overrides: Any) -> Case:
    """A committed case with its referral and two parties; fields may be overridden."""
    n = next(_counter)
    external_id = overrides.pop("referral_external_id", f"TEST-{n:06d}")
    values: dict[str, Any] = {
        "case_number": f"ZH-2026-{900000 + n:06d}",
        "status": "RECEIVED",
        "source_id": source_id,
        "referral_external_id": external_id,
        "court_case_number": f"(2026)粤01民诉前调{n}号",
        "referral_type": "PRE_LITIGATION",
        "referrer_name": "广州市中级人民法院",
        "referrer_code": "440100",
        "category": "CREDIT_CARD",
        "cause_of_action": "信用卡纠纷",
        "referred_at": datetime(2026, 11, 20, 1, 30, tzinfo=UTC),
        "deadline": date(2026, 12, 20),
        "claim_amount": Decimal("58210.35"),
        "currency": "CNY",
    }
    values.update(overrides)
    case = Case(**values)
    case.parties = [
        Party(
            position=0,
            role="PLAINTIFF",
            side="CLAIMANT",
            type="PERSON",
            name="刘某某",
            id_scheme="RESIDENT_ID",
            id_number="440106198503151233",
            phone="13800138000",
        ),
        Party(
            position=1,
            role="DEFENDANT",
            side="RESPONDENT",
            type="ORGANIZATION",
            name="某某银行股份有限公司广州分行",
            id_scheme="USCC",
            id_number="91440101MA59ABC124",
        ),
    ]
    db.add(case)
    db.flush()
    db.add(
        Referral(
            source_id=source_id,
            external_id=external_id,
            revision=1,
            content_hash=f"hash-{n}",
            canonical={},
            case_id=case.id,
        )
    )
    db.commit()
    return case


def build_report(db: Session, case: Case, **overrides: Any) -> Report:
    """A committed PENDING report for `case` with the next sequence number."""
    referral = case.referral
    values: dict[str, Any] = {
        "case_id": case.id,
        "referral_id": referral.id,
        "source_id": case.source_id,
        "sequence": len(case.reports) + 1,
        "case_status": case.status,
        "content_type": "application/xml",
        "body": "<OutcomeReport/>",
    }
    values.update(overrides)
    report = Report(**values)
    db.add(report)
    db.commit()
    db.refresh(case)
    return report


def build_inbound(
    db: Session,
    *,
    source_id: str = "gz-intermediate-court",
    outcome: str = "created",
    **overrides: Any,
) -> InboundMessage:
    """A committed inbound message; refused outcomes get a 422 problem unless given one."""
    refused = outcome not in ("created", "duplicate", "updated", "recalled", "multi")
    body = overrides.pop("body", b"<Referral/>")
    values: dict[str, Any] = {
        "source_id": source_id,
        "content_type": "application/xml",
        "headers": {"webhook-id": f"msg_{next(_counter)}"},
        "body": body,
        "body_size": len(body),
        "outcome": outcome,
        "http_status": 422 if refused else 201,
        "problem": {
            "type": "urn:referral-service:problem:invalid-referral",
            "title": "Invalid referral",
            "status": 422,
            "detail": "The referral has invalid fields; see errors.",
            "errors": [{"path": "/Parties/Party[1]/Name", "message": "Missing data."}],
        }
        if refused
        else None,
    }
    values.update(overrides)
    message = InboundMessage(**values)
    db.add(message)
    db.commit()
    return message


def build_attempt(db: Session, report: Report, **overrides: Any) -> DeliveryAttempt:
    """A committed delivery attempt of `report` (default: a 503 to be retried)."""
    values: dict[str, Any] = {
        "report_id": report.id,
        "duration_ms": 42,
        "http_status": 503,
        "error": "HTTP 503",
        "response_excerpt": "Service Unavailable",
        "result": "retry",
        "worker": "test-worker",
    }
    values.update(overrides)
    attempt = DeliveryAttempt(**values)
    db.add(attempt)
    report.attempt_count += 1
    db.commit()
    return attempt


def build_source_state(db: Session, source_id: str, **values: Any) -> SourceState:
    """Create or update a source's delivery state (paused, last error...), committed."""
    state = db.get(SourceState, source_id) or SourceState(source_id=source_id)
    for key, value in values.items():
        setattr(state, key, value)
    db.add(state)
    db.commit()
    return state


def build_heartbeat(
    db: Session, worker_id: str = "test-worker", **overrides: Any
) -> WorkerHeartbeat:
    """A committed worker heartbeat (default: seen now)."""
    values: dict[str, Any] = {"worker_id": worker_id, "hostname": "test", "pid": 1}
    values.update(overrides)
    values.setdefault("last_seen", utcnow())
    heartbeat = WorkerHeartbeat(**values)
    db.merge(heartbeat)
    db.commit()
    return heartbeat
