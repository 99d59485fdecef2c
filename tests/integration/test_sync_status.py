"""The sync-status figures (one query module for the overview, the API, metrics and alerts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from referral_service import db
from referral_service.dashboard.status import local_day_start, sync_status
from referral_service.models import utcnow
from tests.builders import (
    build_attempt,
    build_case,
    build_heartbeat,
    build_inbound,
    build_report,
    build_source_state,
)

# 10:00 in Shanghai on 2026-11-26
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def _status(app, now=NOW):
    with app.app_context():
        return sync_status(db.session(), app.extensions["sources"], due_soon_days=3, now=now)


def test_inbound_counts_follow_shanghai_days(app):
    today = local_day_start(NOW)
    with app.app_context():
        s = db.session()
        build_inbound(s, outcome="created", received_at=today + timedelta(minutes=1))
        build_inbound(s, outcome="created", received_at=NOW)
        build_inbound(s, outcome="invalid", received_at=NOW - timedelta(minutes=5))
        build_inbound(s, outcome="created", received_at=today - timedelta(seconds=1))
        build_inbound(s, outcome="malformed", received_at=today - timedelta(days=6))
        build_inbound(s, outcome="created", received_at=today - timedelta(days=6, seconds=1))
        build_inbound(s, source_id="gz-arbitration", outcome="conflict", received_at=NOW)

    court = _status(app).source("gz-intermediate-court")

    assert court.today.by_outcome == {"created": 2, "invalid": 1}
    assert (court.today.received, court.today.accepted, court.today.refused) == (3, 2, 1)
    assert court.last_7_days.by_outcome == {"created": 3, "invalid": 1, "malformed": 1}
    assert (court.last_7_days.accepted, court.last_7_days.refused) == (3, 2)
    assert court.last_received_at == NOW
    assert _status(app).source("gz-arbitration").today.refused == 1


def test_report_figures_per_source(app):
    with app.app_context():
        s = db.session()
        case = build_case(s)
        build_report(
            s,
            case,
            status="DELIVERED",
            created_at=NOW - timedelta(days=1),
            delivered_at=NOW - timedelta(hours=20),
        )
        failed = build_report(s, case, status="FAILED", created_at=NOW - timedelta(hours=3))
        build_attempt(s, failed, result="retry", http_status=503, error="HTTP 503")
        build_attempt(s, failed, result="failed", http_status=400, error="HTTP 400: rejected")
        build_report(s, case, status="PENDING", created_at=NOW - timedelta(hours=1))
        build_report(s, build_case(s, source_id="gz-arbitration"), created_at=NOW)

    court = _status(app).source("gz-intermediate-court")

    assert court.reports == {"PENDING": 1, "DELIVERED": 1, "FAILED": 1}
    assert court.oldest_pending_seconds == 3 * 3600  # FAILED counts as undelivered
    assert court.last_delivered_at == NOW - timedelta(hours=20)
    assert court.last_error == "HTTP 400: rejected"
    assert _status(app).source("gz-arbitration").reports["PENDING"] == 1
    assert _status(app).source("gz-arbitration").last_error is None


def test_pause_heartbeat_and_deadlines(app):
    with app.app_context():
        s = db.session()
        build_source_state(s, "gz-arbitration", paused=True, paused_by="alice", paused_reason="x")
        build_heartbeat(s, last_seen=NOW - timedelta(seconds=40))
        build_case(s, deadline=NOW.date() - timedelta(days=1))
        build_case(s, deadline=NOW.date() + timedelta(days=2))
        build_case(s, deadline=NOW.date() + timedelta(days=10))
        build_case(s, deadline=NOW.date() - timedelta(days=5), status="SETTLED")

    status = _status(app)

    assert status.source("gz-arbitration").paused
    assert not status.source("gz-intermediate-court").paused
    assert status.heartbeat_age_seconds == 40
    assert (status.cases_overdue, status.cases_due_soon) == (1, 1)


def test_sync_status_api_gives_the_same_figures(app, client, auth):
    with app.app_context():
        s = db.session()
        build_inbound(s, outcome="invalid")
        case = build_case(s)
        build_report(s, case, status="FAILED", created_at=utcnow() - timedelta(minutes=10))
        build_source_state(s, "gz-intermediate-court", paused=True, paused_by="bob")
        build_heartbeat(s)

    response = client.get("/api/v1/sync-status", headers=auth("viewer"))

    assert response.status_code == 200
    body = response.get_json()
    court = next(s for s in body["sources"] if s["id"] == "gz-intermediate-court")
    assert court["inbound"]["today"] == {"invalid": 1}
    assert court["refused"] == {"today": 1, "last_7_days": 1}
    assert court["reports"] == {"PENDING": 0, "DELIVERED": 0, "FAILED": 1}
    assert 600 <= court["oldest_pending_seconds"] < 660
    assert court["paused"] is True
    assert court["last_received_at"] is not None
    assert body["worker"]["heartbeat_age_seconds"] < 60
    assert {s["id"] for s in body["sources"]} == {"gz-intermediate-court", "gz-arbitration"}


def test_sync_status_needs_a_token(client):
    response = client.get("/api/v1/sync-status")

    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
