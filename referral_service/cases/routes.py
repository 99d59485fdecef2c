"""The staff case API: list, read, move through the life cycle, extend the deadline.

Viewers read; operators also move cases and extend deadlines; admins also see personal
data unmasked. Optimistic concurrency: a case's `ETag` is its version; a write with a
stale `If-Match` is refused with 412, and two writes racing without one are caught by
the version column (409), so two staff members cannot both conclude a case.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask_smorest import Blueprint
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from referral_service import db
from referral_service.auth import current_user, require_role
from referral_service.cases import deadlines, lifecycle, queries
from referral_service.cases.schemas import (
    CasePageSchema,
    CaseQuerySchema,
    CaseSchema,
    DeadlineSchema,
    IfMatchSchema,
    TransitionSchema,
)
from referral_service.errors import ProblemError
from referral_service.models import Case
from referral_service.openapi import BEARER, problem_responses

blp = Blueprint(
    "cases",
    __name__,
    url_prefix="/api/v1/cases",
    description="Internal mediation cases: list, read, move through the life cycle.",
)

ETAG_HEADER = {"ETag": {"description": "The case's version.", "schema": {"type": "string"}}}


def etag(case: Case) -> str:
    """The case's ETag: its version, quoted."""
    return f'"{case.version}"'


def _check_if_match(case: Case, if_match: str | None) -> None:
    if if_match is None:
        return
    tags = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if "*" in tags or etag(case) in tags:
        return
    raise ProblemError(
        412,
        "Precondition Failed",
        f"The case changed since you read it (now {etag(case)}); reload it and try again.",
        slug="case-changed",
        current_etag=etag(case),
    )


@contextmanager
def _single_writer(session: Session) -> Iterator[None]:
    """Commit the change, or answer 409 when another writer changed the case meanwhile."""
    try:
        yield
        session.commit()
    except (StaleDataError, IntegrityError) as exc:
        session.rollback()
        raise ProblemError(
            409,
            "Conflict",
            "Someone else changed this case at the same time; reload it and try again.",
            slug="concurrent-change",
        ) from exc


@blp.route("", methods=["GET"])
@require_role("viewer")
@blp.arguments(CaseQuerySchema, location="query", as_kwargs=True)
@blp.response(200, CasePageSchema)
@blp.doc(security=BEARER)
@problem_responses(blp, 401, 403)
def list_cases(**filters: Any):
    """List cases, newest first, filtered and paginated."""
    return queries.search_cases(db.session(), **filters)


@blp.route("/<int:case_id>", methods=["GET"])
@require_role("viewer")
@blp.response(200, CaseSchema, headers=ETAG_HEADER)
@blp.doc(security=BEARER)
@problem_responses(blp, 401, 403, 404)
def get_case(case_id: int):
    """One case: parties (masked unless admin), timeline, reports, allowed moves."""
    case = queries.get_case(db.session(), case_id)
    return case, 200, {"ETag": etag(case)}


@blp.route("/<int:case_id>/transitions", methods=["POST"])
@require_role("operator")
@blp.arguments(IfMatchSchema, location="headers", as_kwargs=True)
@blp.arguments(TransitionSchema)
@blp.response(200, CaseSchema, headers=ETAG_HEADER)
@blp.doc(security=BEARER)
@problem_responses(blp, 401, 403, 404, 409, 412)
def post_transition(body: dict[str, Any], case_id: int, if_match: str | None = None):
    """Move the case; a final state needs its outcome data and queues its report."""
    session = db.session()
    case = queries.get_case(session, case_id)
    _check_if_match(case, if_match)
    to = body.pop("to")
    with _single_writer(session):
        lifecycle.staff_transition(session, case, to, actor=current_user().name, data=body)
    return case, 200, {"ETag": etag(case)}


@blp.route("/<int:case_id>/deadline", methods=["POST"])
@require_role("operator")
@blp.arguments(IfMatchSchema, location="headers", as_kwargs=True)
@blp.arguments(DeadlineSchema)
@blp.response(200, CaseSchema, headers=ETAG_HEADER)
@blp.doc(security=BEARER)
@problem_responses(blp, 401, 403, 404, 409, 412)
def post_deadline(body: dict[str, Any], case_id: int, if_match: str | None = None):
    """Record a deadline extension the court approved; the old deadline stays in the timeline."""
    session = db.session()
    case = queries.get_case(session, case_id)
    _check_if_match(case, if_match)
    with _single_writer(session):
        deadlines.extend_deadline(
            session, case, body["deadline"], actor=current_user().name, note=body.get("note")
        )
    return case, 200, {"ETag": etag(case)}
