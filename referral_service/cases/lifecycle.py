"""The case life cycle: one table of allowed transitions.

RECEIVED -> ACCEPTED -> IN_MEDIATION -> SETTLED | NOT_SETTLED | WITHDRAWN
RECEIVED -> DECLINED
any state that is not final -> RECALLED (the source recalled the referral)

`transition()` is the only way a case changes state: it checks the table (409), validates
the data the target state needs (`outcomes`, 422), stores it on the case, records the event
and queues the report the source expects (`delivery.outbox`), all in the caller's
transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from referral_service.cases import outcomes
from referral_service.delivery.outbox import enqueue_report
from referral_service.errors import ProblemError
from referral_service.models import Case, CaseEvent, utcnow

FINAL_STATES = frozenset({"SETTLED", "NOT_SETTLED", "WITHDRAWN", "DECLINED", "RECALLED"})

TRANSITIONS: dict[str, frozenset[str]] = {
    "RECEIVED": frozenset({"ACCEPTED", "DECLINED", "RECALLED"}),
    "ACCEPTED": frozenset({"IN_MEDIATION", "RECALLED"}),
    "IN_MEDIATION": frozenset({"SETTLED", "NOT_SETTLED", "WITHDRAWN", "RECALLED"}),
}

STATES = ("RECEIVED", "ACCEPTED", "IN_MEDIATION", *sorted(FINAL_STATES))

# Only the referring source recalls a referral (through intake); staff never do.
SOURCE_ONLY_STATES = frozenset({"RECALLED"})


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


def staff_transitions(status: str) -> list[str]:
    """The states staff may move a case in `status` to, sorted (no recall)."""
    return sorted(TRANSITIONS.get(status, frozenset()) - SOURCE_ONLY_STATES)


def staff_transition(
    db: Session, case: Case, to: str, *, actor: str, data: dict[str, Any] | None = None
) -> CaseEvent:
    """A move recorded by staff: as `transition()`, but a recall is the source's alone (409)."""
    if to in SOURCE_ONLY_STATES:
        raise ProblemError(
            409,
            "Transition not allowed",
            f"Only the referring source moves a case to {to}.",
            slug="transition-not-allowed",
            current_status=case.status,
            allowed=staff_transitions(case.status),
        )
    return transition(db, case, to, actor=actor, data=data)


def transition(
    db: Session, case: Case, to: str, *, actor: str, data: dict[str, Any] | None = None
) -> CaseEvent:
    """Move `case` to `to` with the data that state needs; record the event; queue its report.

    Raises TransitionNotAllowed (409) when the table forbids the move, OutcomeInvalid (422)
    when `data` does not meet the target state's rules, and a problem from rendering when
    the report cannot be produced. The caller commits: the state change, its event and its
    outbox report land in one transaction, or none of them does.
    """
    if to not in TRANSITIONS.get(case.status, ()):
        raise TransitionNotAllowed(case, to)
    values = outcomes.load_outcome(to, data or {})
    now = utcnow()
    event = CaseEvent(
        at=now,
        kind="transition",
        from_status=case.status,
        to_status=to,
        actor=actor,
        data=outcomes.as_event_data(values),
    )
    case.status = to
    outcomes.apply_outcome(case, values)
    if to in FINAL_STATES:
        case.concluded_at = now
    case.events.append(event)
    db.flush()
    enqueue_report(db, case, event)
    return event
