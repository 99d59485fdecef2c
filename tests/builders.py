"""Builders for rows, so a test states only what it cares about."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from referral_service.auth.accounts import create_token, create_user
from referral_service.models import Case, Party, Referral, Report

_counter = itertools.count(1)


def build_user(db: Session, role: str = "viewer", name: str | None = None) -> tuple[Any, str]:
    """A committed user with one API token; returns (user, token)."""
    user = create_user(db, name or f"{role}-{next(_counter)}", role)
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
