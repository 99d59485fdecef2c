"""Deadline changes, with their history kept as `deadline_changed` events.

A deadline moves when a later revision from the source says so (intake) or when staff
record the court's approval of an extension (`POST /api/v1/cases/{id}/deadline`). Each
change is an event with `old`, `new` and an optional `note`, so the history is the
case's timeline.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from referral_service.cases.lifecycle import FINAL_STATES
from referral_service.errors import ProblemError
from referral_service.models import Case, CaseEvent, utcnow


def record_deadline_change(
    case: Case, new: date, *, actor: str, note: str | None = None
) -> CaseEvent | None:
    """Set the case's deadline to `new` with a `deadline_changed` event; None if unchanged."""
    if case.deadline == new:
        return None
    data = {"old": case.deadline.isoformat(), "new": new.isoformat()}
    if note:
        data["note"] = note
    event = CaseEvent(at=utcnow(), kind="deadline_changed", actor=actor, data=data)
    case.deadline = new
    case.events.append(event)
    return event


def extend_deadline(
    db: Session, case: Case, new: date, *, actor: str, note: str | None = None
) -> CaseEvent:
    """Staff record the court's approval of a later deadline; the caller commits.

    409 when the case is concluded; 422 when `new` is not later than the current deadline.
    """
    if case.status in FINAL_STATES:
        raise ProblemError(
            409,
            "Case concluded",
            f"The case is {case.status}; its deadline no longer moves.",
            slug="case-concluded",
        )
    if new <= case.deadline:
        raise ProblemError(
            422,
            "Not an extension",
            f"The new deadline must be later than the current one ({case.deadline}).",
            slug="invalid-deadline",
            errors=[{"path": "/deadline", "message": "Must be later than the current deadline."}],
        )
    event = record_deadline_change(case, new, actor=actor, note=note)
    db.flush()
    return event
