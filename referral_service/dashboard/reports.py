"""Reports (the outbox): delivery status, every attempt, requeue; pause and resume a source."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import Select, select

from referral_service import db, sources
from referral_service.auth.login import staff_required
from referral_service.dashboard.forms import ActionForm, PauseForm, ReportFilter
from referral_service.dashboard.labels import label
from referral_service.dashboard.pages import page_of, source_choices
from referral_service.dashboard.status import REPORT_STATUSES
from referral_service.delivery.operations import pause_source, requeue_report, resume_source
from referral_service.errors import ProblemError
from referral_service.models import Report, SourceState, utcnow

bp = Blueprint("reports", __name__)

REQUEUE_LIMIT = 500


def _filter() -> ReportFilter:
    form = ReportFilter(request.args)
    form.source.choices = source_choices()
    form.status.choices = [("", _("any")), *((s, label(s)) for s in REPORT_STATUSES)]
    form.validate()
    return form


def _query(form: ReportFilter) -> Select:
    query = select(Report)
    if form.value("source"):
        query = query.where(Report.source_id == form.value("source"))
    if form.value("status"):
        query = query.where(Report.status == form.value("status"))
    return query


@bp.get("/reports")
def index():
    """Reports by status and source, newest first."""
    form = _filter()
    query = _query(form).order_by(Report.created_at.desc(), Report.id.desc())
    page = page_of(db.session(), query, form.value("page") or 1)
    return render_template("dashboard/reports.html", form=form, page=page, action_form=ActionForm())


@dataclass
class Hold:
    """Why a pending report is not going out yet."""

    kind: str  # earlier_report, paused, scheduled, sending
    report: Report | None = None
    state: SourceState | None = None
    until: datetime | None = None


def holds(report: Report) -> list[Hold]:
    """Every reason a PENDING report is waiting, the blocking one first."""
    if report.status != "PENDING":
        return []
    found = []
    earlier = db.session().scalars(
        select(Report)
        .where(
            Report.referral_id == report.referral_id,
            Report.sequence < report.sequence,
            Report.status != "DELIVERED",
        )
        .order_by(Report.sequence)
    )
    found += [Hold("earlier_report", report=row) for row in earlier]
    state = db.session().get(SourceState, report.source_id)
    if state is not None and state.paused:
        found.append(Hold("paused", state=state))
    now = utcnow()
    if report.locked_until and report.locked_until > now:
        found.append(Hold("sending", until=report.locked_until))
    elif report.next_attempt_at > now:
        found.append(Hold("scheduled", until=report.next_attempt_at))
    return found


@bp.get("/reports/<report_id>")
def show(report_id: str):
    """One report: its case, every attempt and, when it waits, why."""
    report = db.session().get(Report, report_id) or abort(404)
    return render_template(
        "dashboard/report.html",
        report=report,
        holds=holds(report),
        source=sources().get(report.source_id),
        action_form=ActionForm(),
    )


def _attempt(action: Callable[[], object], done: str) -> None:
    """Run a staff action; flash `done` if it worked, else the problem it raised."""
    try:
        action()
    except ProblemError as problem:
        flash(_("Not done: %(detail)s", detail=label(problem.title)), "error")
    else:
        flash(done, "success")


@bp.post("/reports/<report_id>/requeue")
@staff_required("operator")
def requeue(report_id: str):
    """Put one FAILED report back in the queue."""
    _attempt(
        lambda: requeue_report(db.session(), report_id, g.user.name),
        _("Report re-queued; it will be sent within seconds."),
    )
    return redirect(url_for(".show", report_id=report_id))


@bp.post("/reports/requeue")
@staff_required("operator")
def requeue_matching():
    """Re-queue every FAILED report the current filter shows (at most 500 per click)."""
    form = _filter()
    query = _query(form).where(Report.status == "FAILED").order_by(Report.created_at)
    ids = list(db.session().scalars(query.with_only_columns(Report.id).limit(REQUEUE_LIMIT)))
    for report_id in ids:
        requeue_report(db.session(), report_id, g.user.name)
    flash(_("%(n)s failed report(s) re-queued.", n=len(ids)), "success")
    return redirect(url_for(".index", **request.args))


@bp.post("/sources/<source_id>/pause")
@staff_required("operator")
def pause(source_id: str):
    """Stop delivering to a source until someone resumes it."""
    form = PauseForm()
    reason = (form.reason.data or "").strip() or _("paused from the dashboard")
    _attempt(
        lambda: pause_source(db.session(), source_id, g.user.name, reason),
        _("Delivery to %(source)s paused.", source=source_id),
    )
    return redirect(url_for("dashboard.overview.index"))


@bp.post("/sources/<source_id>/resume")
@staff_required("operator")
def resume(source_id: str):
    """Deliver to a source again."""
    _attempt(
        lambda: resume_source(db.session(), source_id, g.user.name),
        _("Delivery to %(source)s resumed.", source=source_id),
    )
    return redirect(url_for("dashboard.overview.index"))
