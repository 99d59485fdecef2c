"""The case life cycle: one table of allowed transitions.

RECEIVED -> ACCEPTED -> IN_MEDIATION -> SETTLED | NOT_SETTLED | WITHDRAWN
RECEIVED -> DECLINED
any state that is not final -> RECALLED (the source recalled the referral)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from referral_service.errors import ProblemError
from referral_service.models import Case, CaseEvent, utcnow

FINAL_STATES = frozenset({"SETTLED", "NOT_SETTLED", "WITHDRAWN", "DECLINED", "RECALLED"})

TRANSITIONS: dict[str, frozenset[str]] = {
    "RECEIVED": frozenset({"ACCEPTED", "DECLINED", "RECALLED"}),
    "ACCEPTED": frozenset({"IN_MEDIATION", "RECALLED"}),
    "IN_MEDIATION": frozenset({"SETTLED", "NOT_SETTLED", "WITHDRAWN", "RECALLED"}),
}

STATES = ("RECEIVED", "ACCEPTED", "IN_MEDIATION", *sorted(FINAL_STATES))


class TransitionNotAllowed(ProblemError):
    """409: the life cycle does not allow this move."""

    def __init__(self, case: Case, to: str):
        allowed = sorted(TRANSITIONS.get(case.status, ()))
        super().__init__(
            409,
            "Transition not allowed",
            f"A case in {case.status} cannot move to {to}.",
            slug="transition-not-allowed",
            current_status=case.status,
            allowed=allowed,
        )


def allowed_transitions(status: str) -> list[str]:
    """The states a case in `status` may move to, sorted."""
    return sorted(TRANSITIONS.get(status, ()))


def transition(
    db: Session, case: Case, to: str, *, actor: str, data: dict[str, Any] | None = None
) -> CaseEvent:
    """Move `case` to `to` and record the event; raise TransitionNotAllowed (409).

    The caller commits: the state change, its event (and its outbox report) land in
    one transaction.
    """
    if to not in TRANSITIONS.get(case.status, ()):
        raise TransitionNotAllowed(case, to)
    event = CaseEvent(
        kind="transition", from_status=case.status, to_status=to, actor=actor, data=data or {}
    )
    case.status = to
    if to in FINAL_STATES:
        case.concluded_at = utcnow()
    case.events.append(event)
    db.flush()
    return event
