"""Inbound messages: what the sources pushed, what became of it, and replay after a fix."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import Select, select

from referral_service import db, sources
from referral_service.auth import is_admin
from referral_service.auth.login import staff_required
from referral_service.dashboard.forms import ActionForm, InboundFilter
from referral_service.dashboard.labels import label
from referral_service.dashboard.pages import page_of, source_choices
from referral_service.dashboard.parsed import parsed_rows
from referral_service.dashboard.status import ACCEPTED_OUTCOMES
from referral_service.errors import ProblemError
from referral_service.intake.replay import replay_message
from referral_service.localtime import local_midnight
from referral_service.models import Case, InboundMessage

bp = Blueprint("inbound", __name__, url_prefix="/inbound")

REPLAY_LIMIT = 500

OUTCOMES = (
    "created",
    "duplicate",
    "updated",
    "recalled",
    "multi",
    "conflict",
    "malformed",
    "invalid",
    "unsupported_media_type",
    "too_large",
    "unknown_source",
    "unavailable",
    "error",
)


def _filter() -> InboundFilter:
    form = InboundFilter(request.args)
    form.source.choices = source_choices()
    form.outcome.choices = [
        ("", _("any")),
        ("refused", label("refused")),
        *((outcome, label(outcome)) for outcome in OUTCOMES),
    ]
    form.validate()
    return form


def _query(form: InboundFilter) -> Select:
    query = select(InboundMessage)
    if form.value("source"):
        query = query.where(InboundMessage.source_id == form.value("source"))
    outcome = form.value("outcome")
    if outcome == "refused":
        query = query.where(InboundMessage.outcome.not_in(ACCEPTED_OUTCOMES))
    elif outcome:
        query = query.where(InboundMessage.outcome == outcome)
    if form.value("date_from"):
        query = query.where(InboundMessage.received_at >= local_midnight(form.value("date_from")))
    if form.value("date_to"):
        end = local_midnight(form.value("date_to") + timedelta(days=1))
        query = query.where(InboundMessage.received_at < end)
    return query


@bp.get("")
def index():
    """Inbound messages by source, outcome and date, newest first."""
    form = _filter()
    query = _query(form).order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc())
    page = page_of(db.session(), query, form.value("page") or 1)
    return render_template("dashboard/inbound.html", form=form, page=page, action_form=ActionForm())


def _parsed(message: InboundMessage) -> tuple[list[tuple[str, str]], str | None]:
    if message.body is None:
        return [], _("The raw body was removed by the retention policy.")
    try:
        return parsed_rows(message.body, message.content_type, masked=not is_admin()), None
    except ProblemError as problem:
        return [], problem.detail


@bp.get("/<message_id>")
def show(message_id: str):
    """One message: outcome, problem, parsed view (masked), raw body for admins, replays."""
    message = db.session().get(InboundMessage, message_id) or abort(404)
    rows, parse_error = _parsed(message)
    replays = db.session().scalars(
        select(InboundMessage)
        .where(InboundMessage.replay_of_id == message.id)
        .order_by(InboundMessage.received_at)
    )
    return render_template(
        "dashboard/message.html",
        message=message,
        source=sources().get(message.source_id),
        rows=rows,
        parse_error=parse_error,
        original=db.session().get(InboundMessage, message.replay_of_id)
        if message.replay_of_id
        else None,
        replays=list(replays),
        case=_case_of(message),
        action_form=ActionForm(),
    )


def _case_of(message: InboundMessage) -> Case | None:
    """The case of the referral a message carried, if there is one."""
    if not message.referral_external_id:
        return None
    return (
        db.session()
        .scalars(
            select(Case).where(
                Case.source_id == message.source_id,
                Case.referral_external_id == message.referral_external_id,
            )
        )
        .first()
    )


@bp.post("/<message_id>/replay")
@staff_required("operator")
def replay(message_id: str):
    """Run one stored message through intake again; show the new message."""
    try:
        replayed = replay_message(db.session(), message_id, g.user.name)
    except ProblemError as problem:
        flash(_("Not replayed: %(detail)s", detail=label(problem.title)), "error")
        return redirect(url_for(".show", message_id=message_id))
    category = "success" if replayed.http_status < 300 else "warning"
    flash(_("Replayed: %(outcome)s.", outcome=label(replayed.outcome)), category)
    return redirect(url_for(".show", message_id=replayed.id))


@bp.post("/replay")
@staff_required("operator")
def replay_matching():
    """Replay every refused message the filter shows that was not replayed yet (500 a click)."""
    query = (
        _query(_filter())
        .where(
            InboundMessage.outcome.not_in(ACCEPTED_OUTCOMES),
            InboundMessage.replay_count == 0,
            InboundMessage.body_pruned_at.is_(None),
        )
        .order_by(InboundMessage.received_at)
        .with_only_columns(InboundMessage.id)
        .limit(REPLAY_LIMIT)
    )
    outcomes: Counter[str] = Counter()
    for message_id in list(db.session().scalars(query)):
        try:
            outcomes[replay_message(db.session(), message_id, g.user.name).outcome] += 1
        except ProblemError:
            outcomes["skipped"] += 1
    summary = ", ".join(f"{label(outcome)} {n}" for outcome, n in outcomes.most_common())
    flash(_("%(n)s message(s) replayed: %(summary)s", n=outcomes.total(), summary=summary or "-"))
    return redirect(url_for(".index", **request.args))
