"""Alerts: one notification when a condition starts and one when it clears, never one
per retry or per run; no personal data in the texts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select, text

from referral_service import create_app, db
from referral_service.alerts import _LOCK_KEY, evaluate_alerts
from referral_service.models import Alert, Report, utcnow
from tests.builders import (
    build_attempt,
    build_case,
    build_heartbeat,
    build_inbound,
    build_report,
    build_source_state,
)
from tests.conftest import make_settings


class Recorder:
    """A channel that keeps what it was sent; `failing` makes it raise."""

    name = "recorder"

    def __init__(self, failing: bool = False):
        self.sent: list[tuple[str, str]] = []
        self.failing = failing

    def send(self, subject: str, body: str) -> None:
        if self.failing:
            raise ConnectionError("robot unreachable")
        self.sent.append((subject, body))


def _evaluate(app, channel, now=None):
    with app.app_context():
        announced = evaluate_alerts(
            db.session(), app.extensions["settings"], app.extensions["sources"], [channel], now
        )
        return [(a.kind, a.cleared_at is None) for a in announced]


def _failed_report(app):
    with app.app_context():
        s = db.session()
        case = build_case(s, status="SETTLED")
        report = build_report(s, case, status="FAILED", last_error="HTTP 503")
        build_attempt(s, report, result="failed", error="HTTP 503 from 13800138000")
        return report.id


def test_a_failing_source_is_announced_once_and_its_recovery_once(app):
    report_id = _failed_report(app)
    channel = Recorder()

    assert _evaluate(app, channel) == [("delivery_failing", True)]
    assert _evaluate(app, channel) == []  # still failing: nothing new
    with app.app_context():
        report = db.session().get(Report, report_id)
        report.status = "DELIVERED"
        build_attempt(db.session(), report, result="delivered", http_status=200, error=None)
    assert _evaluate(app, channel) == [("delivery_failing", False)]
    assert _evaluate(app, channel) == []

    assert len(channel.sent) == 2
    assert "gz-intermediate-court" in channel.sent[0][1]
    assert "已恢复" in channel.sent[1][0]


def test_retries_fire_only_after_several_failures_in_a_row(app):
    with app.app_context():
        s = db.session()
        report = build_report(s, build_case(s))
        build_attempt(s, report, result="retry")
        build_attempt(s, report, result="retry")
    channel = Recorder()
    assert _evaluate(app, channel) == []

    with app.app_context():
        build_attempt(db.session(), db.session().get(Report, report.id), result="retry")

    assert _evaluate(app, channel) == [("delivery_failing", True)]


def test_alert_texts_carry_no_personal_data(app):
    _failed_report(app)
    channel = Recorder()

    _evaluate(app, channel)

    text_sent = "".join(subject + body for subject, body in channel.sent)
    assert "13800138000" not in text_sent
    assert "138****8000" in text_sent
    assert "刘某某" not in text_sent


@pytest.mark.parametrize(
    ("overrides", "started", "cleared", "detail"),
    [
        (
            {},  # the default
            "[referral-service] 告警：回传失败",
            "[referral-service] 已恢复：回传失败",
            "gz-intermediate-court：1 份报告回传失败（FAILED）",
        ),
        (
            {"alerts": {"language": "en"}},
            "[referral-service] ALERT: deliveries failing",
            "[referral-service] CLEARED: deliveries failing",
            "gz-intermediate-court: 1 report(s) FAILED",
        ),
    ],
)
def test_alert_texts_are_in_the_configured_language(
    database_url, overrides, started, cleared, detail
):
    app = create_app(make_settings(database_url, **overrides))
    try:
        report_id = _failed_report(app)
        channel = Recorder()
        _evaluate(app, channel)
        with app.app_context():
            db.session().get(Report, report_id).status = "DELIVERED"
            db.session().commit()
        _evaluate(app, channel)
        with app.app_context():
            stored = db.session().scalar(select(Alert.detail))
    finally:
        app.extensions["db"].engine.dispose()

    (subject_started, body_started), (subject_cleared, body_cleared) = channel.sent
    assert (subject_started, subject_cleared) == (started, cleared)
    assert body_started.startswith(detail) and body_cleared.startswith(detail)
    assert "+08:00" in body_cleared  # when it started, in the staff's time zone
    assert stored.startswith(detail)  # what the alerts page shows


def test_a_channel_failure_is_retried_at_the_next_run_and_then_sent_once(app):
    _failed_report(app)
    broken = Recorder(failing=True)
    assert _evaluate(app, broken) == []

    working = Recorder()
    assert _evaluate(app, working) == [("delivery_failing", True)]
    assert _evaluate(app, working) == []
    assert len(working.sent) == 1


def test_a_condition_that_ended_before_anyone_heard_of_it_stays_quiet(app):
    report_id = _failed_report(app)
    _evaluate(app, Recorder(failing=True))
    with app.app_context():
        db.session().get(Report, report_id).status = "DELIVERED"
        db.session().commit()
    channel = Recorder()

    assert _evaluate(app, channel) == []
    with app.app_context():
        alert = db.session().scalar(select(Alert))
        assert alert.cleared_at is not None
        assert not alert.notified_start and not alert.notified_clear


def test_each_kind_of_condition(app):
    now = utcnow()
    with app.app_context():
        s = db.session()
        build_source_state(s, "gz-arbitration", paused=True, paused_by="alice")
        build_heartbeat(s, last_seen=now - timedelta(minutes=10))
        build_case(s, deadline=now.date() - timedelta(days=2))
        build_inbound(s, outcome="invalid", received_at=now - timedelta(minutes=5))
        build_inbound(
            s, source_id="gz-arbitration", outcome="invalid", received_at=now - timedelta(hours=2)
        )
        build_report(s, build_case(s), created_at=now - timedelta(hours=2))

    kinds = sorted(kind for kind, _started in _evaluate(app, Recorder(), now))

    assert kinds == [
        "cases_overdue",
        "inbound_refused",  # only the court's: the commission's refusal is outside the window
        "oldest_undelivered",
        "source_paused",
        "worker_stale",
    ]


def test_refused_pushes_clear_once_the_window_has_passed(app):
    now = utcnow()
    with app.app_context():
        build_inbound(db.session(), outcome="malformed", received_at=now)
    channel = Recorder()

    assert _evaluate(app, channel, now) == [("inbound_refused", True)]
    assert _evaluate(app, channel, now + timedelta(minutes=16)) == [("inbound_refused", False)]


def test_the_alerts_page_lists_alerts_and_channels(app, client):
    from tests.staff import sign_in

    _failed_report(app)
    _evaluate(app, Recorder())
    sign_in(app, client, "viewer")

    page = client.get("/dashboard/alerts").get_data(as_text=True)

    assert "回传失败" in page and "告警中" in page
    assert "1 份报告回传失败（FAILED）" in page and "report(s) FAILED" not in page
    assert "群机器人" in page and "未配置" in page
    assert "回传失败" in client.get("/dashboard").get_data(as_text=True)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_one_worker_evaluates_at_a_time_on_postgresql(app, database_url):
    _failed_report(app)
    engine = create_engine(database_url)
    with engine.connect() as other_worker:
        other_worker.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
        assert _evaluate(app, Recorder()) == []
        other_worker.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
    engine.dispose()
    assert _evaluate(app, Recorder()) == [("delivery_failing", True)]
