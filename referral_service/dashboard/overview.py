"""The overview: one row per source, the worker, due cases and firing alerts."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from referral_service import alerts as alerting
from referral_service import db, settings, sources
from referral_service.dashboard.forms import ActionForm, PauseForm
from referral_service.dashboard.status import due_cases, sync_status
from referral_service.localtime import local_today
from referral_service.models import Alert, utcnow

bp = Blueprint("overview", __name__)

REFRESH_SECONDS = 30


@bp.get("")
def index():
    """Where each source stands: what came in, what went out, what is stuck."""
    now = utcnow()
    due_soon_days = settings().deadlines["due_soon_days"]
    status = sync_status(db.session(), sources(), due_soon_days=due_soon_days, now=now)
    firing = db.session().scalars(
        select(Alert).where(Alert.cleared_at.is_(None)).order_by(Alert.started_at)
    )
    return render_template(
        "dashboard/overview.html",
        status=status,
        due=due_cases(db.session(), now, due_soon_days),
        alerts=list(firing),
        today=local_today(now),
        stale_after=settings().alerts["heartbeat_stale_seconds"],
        undelivered_limit=settings().alerts["oldest_undelivered_seconds"],
        refresh=REFRESH_SECONDS,
        action_form=ActionForm(),
        pause_form=PauseForm(),
    )


@bp.get("/alerts")
def alerts():
    """Firing and recent alerts, and where notifications go."""
    recent = db.session().scalars(select(Alert).order_by(Alert.id.desc()).limit(100))
    return render_template(
        "dashboard/alerts.html",
        alerts=list(recent),
        channels=alerting.channel_states(settings()),
    )
