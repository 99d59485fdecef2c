"""The other scheduled jobs: deadline flags, retention, heartbeat and readiness."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from referral_service import db
from referral_service.delivery import jobs
from referral_service.models import Case, DeliveryAttempt, InboundMessage, WorkerHeartbeat
from tests.builders import build_attempt, build_case, build_inbound, build_report

# 2026-12-17 00:00 in Asia/Shanghai is 2026-12-16 16:00 UTC.
SHANGHAI_MIDNIGHT = datetime(2026, 12, 16, 16, 0, tzinfo=UTC)


def _deadline_states(app) -> dict[str, str]:
    with app.app_context():
        jobs.check_deadlines()
        return dict(db.session().execute(select(Case.case_number, Case.deadline_state)).all())


@pytest.fixture
def cases(app) -> dict[str, str]:
    """Case numbers by what they are meant to show."""
    with app.app_context():
        session = db.session()
        made = {
            "dec20": build_case(session, status="IN_MEDIATION", deadline=date(2026, 12, 20)),
            "dec16": build_case(session, status="ACCEPTED", deadline=date(2026, 12, 16)),
            "january": build_case(session, deadline=date(2027, 1, 30)),
            "settled": build_case(
                session, status="SETTLED", deadline=date(2026, 12, 1), deadline_state="overdue"
            ),
        }
        return {key: case.case_number for key, case in made.items()}


def test_deadlines_use_the_date_in_shanghai(app, cases):
    with time_machine.travel(SHANGHAI_MIDNIGHT - timedelta(minutes=1), tick=False):
        states = _deadline_states(app)  # still 16 December in Shanghai
    assert states[cases["dec20"]] == "none"  # 20 Dec is 4 days away
    assert states[cases["dec16"]] == "due_soon"  # due today is not yet overdue
    with time_machine.travel(SHANGHAI_MIDNIGHT, tick=False):
        states = _deadline_states(app)  # 17 December in Shanghai, still the 16th in UTC
    assert states[cases["dec20"]] == "due_soon"
    assert states[cases["dec16"]] == "overdue"
    assert states[cases["january"]] == "none"


def test_final_cases_never_show_a_deadline(app, cases):
    with time_machine.travel(SHANGHAI_MIDNIGHT, tick=False):
        states = _deadline_states(app)
    assert states[cases["settled"]] == "none"


def test_a_case_leaves_due_soon_when_its_deadline_is_extended(app, cases):
    with time_machine.travel(SHANGHAI_MIDNIGHT, tick=False):
        assert _deadline_states(app)[cases["dec20"]] == "due_soon"
        with app.app_context():
            session = db.session()
            case = session.scalar(select(Case).where(Case.case_number == cases["dec20"]))
            case.deadline = date(2027, 2, 1)
            session.commit()
        assert _deadline_states(app)[cases["dec20"]] == "none"


def test_prune_drops_old_raw_bodies_only_of_concluded_or_caseless_messages(app):
    now = datetime(2027, 12, 1, tzinfo=UTC)
    old, recent = now - timedelta(days=400), now - timedelta(days=10)
    with app.app_context():
        session = db.session()
        open_case = build_case(session, status="IN_MEDIATION")
        closed_case = build_case(session, status="SETTLED")

        def message(received_at, case=None):
            external_id = case.referral_external_id if case else None
            return build_inbound(
                session, received_at=received_at, referral_external_id=external_id
            ).id

        pruned = [message(old), message(old, closed_case)]
        kept = [message(old, open_case), message(recent, closed_case), message(recent)]
    with time_machine.travel(now, tick=False), app.app_context():
        counts = jobs.prune()
    assert counts["raw_bodies"] == 2
    with app.app_context():
        session = db.session()
        for message_id in pruned:
            message = session.get(InboundMessage, message_id)
            assert message.body is None
            assert message.body_pruned_at == now
        for message_id in kept:
            message = session.get(InboundMessage, message_id)
            assert message.body == b"<Referral/>"
            assert message.body_pruned_at is None


def test_prune_keeps_an_old_envelope_that_opened_a_case_still_open(app):
    # A batch envelope names no single referral; only the referral row points back to it.
    now = datetime(2027, 12, 1, tzinfo=UTC)
    with app.app_context():
        session = db.session()
        envelope = build_inbound(session, outcome="multi", received_at=now - timedelta(days=400))
        open_case = build_case(session, status="IN_MEDIATION")
        open_case.referral.inbound_message_id = envelope.id
        session.commit()
        envelope_id = envelope.id
    with time_machine.travel(now, tick=False), app.app_context():
        assert jobs.prune()["raw_bodies"] == 0
        assert db.session().get(InboundMessage, envelope_id).body == b"<Referral/>"


def test_prune_drops_old_attempts_of_delivered_reports_only(app):
    now = datetime(2027, 12, 1, tzinfo=UTC)
    old, recent = now - timedelta(days=100), now - timedelta(days=10)
    with app.app_context():
        session = db.session()
        case = build_case(session, status="SETTLED")
        delivered = build_report(session, case, status="DELIVERED")
        failed = build_report(session, case, status="FAILED")
        pending = build_report(session, build_case(session))
        gone = build_attempt(session, delivered, started_at=old).id
        kept = [
            build_attempt(session, delivered, started_at=recent).id,
            build_attempt(session, failed, started_at=old).id,
            build_attempt(session, pending, started_at=old).id,
        ]
    with time_machine.travel(now, tick=False), app.app_context():
        counts = jobs.prune()
    assert counts["attempts"] == 1
    with app.app_context():
        remaining = set(db.session().scalars(select(DeliveryAttempt.id)))
    assert gone not in remaining
    assert set(kept) <= remaining


def test_readyz_without_any_worker_says_missing(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.json["database"] == "ok"
    assert response.json["worker"] == "missing"


def test_heartbeat_makes_readyz_ready_until_it_goes_stale(app, client):
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        with app.app_context():
            jobs.heartbeat()
        response = client.get("/readyz")
        assert response.status_code == 200
        assert response.json["worker"] == "ok"
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["worker"] == "stale"
    assert response.json["heartbeat_age_seconds"] == 61


def test_heartbeat_keeps_one_row_per_worker_process(app):
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    with app.app_context():
        with time_machine.travel(start, tick=False):
            jobs.heartbeat()
        with time_machine.travel(start + timedelta(seconds=10), tick=False):
            jobs.heartbeat()
        rows = db.session().scalars(select(WorkerHeartbeat)).all()
    assert [row.worker_id for row in rows] == [jobs.worker_id()]
    assert rows[0].started_at == start
    assert rows[0].last_seen == start + timedelta(seconds=10)
