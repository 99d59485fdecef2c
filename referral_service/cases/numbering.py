"""Internal case numbers `ZH-YYYY-NNNNNN`: sequential per year of receipt (Asia/Shanghai).

The counter row is bumped with one atomic upsert inside the case's own transaction:
the row stays locked until that transaction ends, so concurrent cases get consecutive
numbers, and a rolled-back case gives its number back (no gaps, no duplicates).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from referral_service.db import upsert_insert
from referral_service.localtime import LOCAL_TZ
from referral_service.models import CaseNumberCounter, utcnow


def next_case_number(db: Session, received_at: datetime | None = None) -> str:
    """The next number for a case received at `received_at` (default: now)."""
    year = (received_at or utcnow()).astimezone(LOCAL_TZ).year
    insert = upsert_insert(db, CaseNumberCounter)
    statement = (
        insert.values(year=year, last_value=1)
        .on_conflict_do_update(
            index_elements=[CaseNumberCounter.year],
            set_={"last_value": CaseNumberCounter.last_value + 1},
        )
        .returning(CaseNumberCounter.last_value)
    )
    value = db.execute(statement).scalar_one()
    return f"ZH-{year}-{value:06d}"
