"""Cases: search by our number, the court's case number or a party name; a case's timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from sqlalchemy import or_, select

from referral_service import db, sources
from referral_service.cases.lifecycle import STATES
from referral_service.dashboard.forms import CaseSearch
from referral_service.dashboard.labels import label
from referral_service.dashboard.pages import page_of
from referral_service.models import Case, InboundMessage, Party

bp = Blueprint("cases", __name__, url_prefix="/cases")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@bp.get("")
def index():
    """Cases matching a number or party name, newest first."""
    form = CaseSearch(request.args)
    form.status.choices = [("", _("any")), *((s, label(s)) for s in STATES)]
    form.validate()
    query = select(Case)
    q = (form.value("q") or "").strip()
    if q:
        pattern = f"%{_escape_like(q)}%"
        party = select(Party.case_id).where(Party.name.like(pattern, escape="\\"))
        query = query.where(
            or_(
                Case.case_number.like(pattern, escape="\\"),
                Case.court_case_number.like(pattern, escape="\\"),
                Case.referral_external_id == q,
                Case.id.in_(party),
            )
        )
    if form.value("status"):
        query = query.where(Case.status == form.value("status"))
    page = page_of(
        db.session(),
        query.order_by(Case.created_at.desc(), Case.id.desc()),
        form.value("page") or 1,
    )
    return render_template("dashboard/cases.html", form=form, page=page, q=q)


@dataclass
class Entry:
    """One line of a case's timeline."""

    at: datetime
    kind: str  # event, report, inbound
    item: Any


def timeline(case: Case) -> list[Entry]:
    """Events, reports and the inbound messages of the case's referral, oldest first."""
    messages = db.session().scalars(
        select(InboundMessage).where(
            InboundMessage.source_id == case.source_id,
            InboundMessage.referral_external_id == case.referral_external_id,
        )
    )
    entries = [Entry(e.at, "event", e) for e in case.events]
    entries += [Entry(r.created_at, "report", r) for r in case.reports]
    entries += [Entry(m.received_at, "inbound", m) for m in messages]
    return sorted(entries, key=lambda entry: entry.at)


@bp.get("/<int:case_id>")
def show(case_id: int):
    """One case: status, deadline, parties (masked unless admin) and its timeline."""
    case = db.session().get(Case, case_id) or abort(404)
    return render_template(
        "dashboard/case.html",
        case=case,
        source=sources().get(case.source_id),
        timeline=timeline(case),
    )
