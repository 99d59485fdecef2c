"""Finding cases: the staff list with its filters, search and pages; one case by id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from referral_service.delivery.claim import held_back
from referral_service.errors import ProblemError
from referral_service.models import Case, Party


@dataclass(frozen=True)
class CasePage:
    """One page of a case list."""

    items: list[Case]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return -(-self.total // self.per_page)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filtered(
    status: str | None, source: str | None, q: str | None, due_before: date | None
) -> Select:
    query = select(Case)
    if status:
        query = query.where(Case.status == status)
    if source:
        query = query.where(Case.source_id == source)
    if due_before:
        query = query.where(Case.deadline < due_before)
    if q:
        pattern = _like(q.strip())
        party_match = (
            select(Party.id)
            .where(Party.case_id == Case.id, Party.name.ilike(pattern, escape="\\"))
            .exists()
        )
        query = query.where(
            or_(
                Case.case_number.ilike(pattern, escape="\\"),
                Case.court_case_number.ilike(pattern, escape="\\"),
                party_match,
            )
        )
    return query


def search_cases(
    db: Session,
    *,
    status: str | None = None,
    source: str | None = None,
    q: str | None = None,
    due_before: date | None = None,
    page: int = 1,
    per_page: int = 20,
) -> CasePage:
    """Cases matching every given filter, newest first; `q` matches our case number, the
    court's case number or a party's name (any part, case-insensitive)."""
    query = _filtered(status, source, q, due_before)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = db.scalars(
        query.order_by(Case.created_at.desc(), Case.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return CasePage(list(items), total, page, per_page)


def get_case(db: Session, case_id: int) -> Case:
    """The case with this id, parties, events and reports loaded; 404 problem if none.

    Each report gets `waiting_for`: why a PENDING report is held back, or None.
    """
    case = db.get(
        Case,
        case_id,
        options=[selectinload(Case.parties), selectinload(Case.events), selectinload(Case.reports)],
    )
    if case is None:
        raise ProblemError(404, "Not Found", f"No case {case_id}.", slug="case-not-found")
    holds = held_back(db, [report.id for report in case.reports])
    for report in case.reports:
        report.waiting_for = str(holds[report.id]) if report.id in holds else None
    return case
