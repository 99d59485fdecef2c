"""Delivery against a real HTTP receiver that verifies every signature: ordering, the
circuit breaker, isolation between sources, leases, and the operator API."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from referral_service import db
from referral_service.delivery import jobs
from referral_service.delivery.claim import claim_next, held_back
from referral_service.delivery.record import record
from referral_service.delivery.send import SendResult
from referral_service.models import CaseEvent, Report, SourceState
from tests.builders import build_case, build_report, build_source_state
from tests.delivery_support import (
    Receiver,
    deliver_until_idle,
    point_sources,
    stop_delivery,
    wait_for,
)

COURT = "gz-intermediate-court"
ARBITRATION = "gz-arbitration"
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def receiver(settings):
    with Receiver(settings) as receiver:
        point_sources(settings, receiver)
        yield receiver


@pytest.fixture
def deliver(app, receiver):
    yield lambda: deliver_until_idle(app)
    stop_delivery(app)


def _set_policy(app, **policy):
    registry = app.extensions["sources"]
    for source in registry.all():
        registry.add(replace(source, delivery=replace(source.delivery, **policy)))


def _reports(app, count: int = 1, source_id: str = COURT, per_case: int = 1) -> list[str]:
    ids = []
    with app.app_context():
        session = db.session()
        for _ in range(count):
            case = build_case(session, source_id=source_id)
            ids += [build_report(session, case).id for _ in range(per_case)]
    return ids


def _report(app, report_id: str) -> Report:
    with app.app_context():
        return db.session().get(Report, report_id)


def _state(app, source_id: str = COURT) -> SourceState:
    with app.app_context():
        return db.session().get(SourceState, source_id)


def _status(app, report_ids) -> list[str]:
    return [_report(app, report_id).status for report_id in report_ids]


def test_reports_arrive_signed_at_a_real_receiver(app, receiver, deliver):
    court, arbitration = _reports(app, 3, COURT), _reports(app, 3, ARBITRATION)
    deliver()
    assert _status(app, court + arbitration) == ["DELIVERED"] * 6
    assert all(arrival.verified for arrival in receiver.arrivals)
    assert receiver.ids(COURT) == dict.fromkeys(court, 1)
    assert receiver.ids(ARBITRATION) == dict.fromkeys(arbitration, 1)


def test_threads_of_one_worker_never_send_a_report_twice(app, receiver, deliver):
    _set_policy(app, concurrency=4)
    report_ids = _reports(app, 100, COURT) + _reports(app, 100, ARBITRATION)
    deliver()
    assert receiver.ids() == dict.fromkeys(report_ids, 1)
    assert set(_status(app, report_ids)) == {"DELIVERED"}


def test_a_later_report_waits_until_the_earlier_one_is_delivered(app, receiver, deliver):
    first, second = _reports(app, 1, per_case=2)
    receiver.answers[COURT] = lambda arrival: 503 if arrival.webhook_id == first else 200
    with time_machine.travel(NOW, tick=False) as clock:
        deliver()
        assert list(receiver.ids()) == [first]
        assert _status(app, [first, second]) == ["PENDING", "PENDING"]
        receiver.answers[COURT] = 200
        clock.move_to(NOW + timedelta(seconds=6))
        deliver()
    assert [arrival.webhook_id for arrival in receiver.arrivals] == [first, first, second]
    assert _status(app, [first, second]) == ["DELIVERED", "DELIVERED"]


def test_a_failed_report_holds_back_later_ones_and_says_so(app, receiver, deliver, auth):
    first, second = _reports(app, 1, per_case=2)
    receiver.answers[COURT] = 422
    deliver()
    assert list(receiver.ids()) == [first]
    assert _status(app, [first, second]) == ["FAILED", "PENDING"]
    with app.app_context():
        holds = held_back(db.session())
    assert str(holds[second]) == f"waiting for report {first} (FAILED)"
    assert first not in holds

    receiver.answers[COURT] = 200
    response = app.test_client().post(f"/api/v1/reports/{first}/requeue", headers=auth("operator"))
    assert response.status_code == 200
    deliver()
    assert [arrival.webhook_id for arrival in receiver.arrivals] == [first, first, second]
    assert _status(app, [first, second]) == ["DELIVERED", "DELIVERED"]


def test_breaker_opens_probes_and_closes(app, receiver, deliver):
    _set_policy(app, concurrency=1, breaker_threshold=3, probe_interval_seconds=60)
    report_ids = _reports(app, 5)
    receiver.answers[COURT] = 503
    with time_machine.travel(NOW, tick=False) as clock:
        deliver()
        assert len(receiver.arrivals) == 3
        state = _state(app)
        assert state.paused and state.paused_by == "breaker"
        assert state.next_probe_at == NOW + timedelta(seconds=60)

        clock.move_to(NOW + timedelta(seconds=30))  # retries are due, the breaker holds them
        deliver()
        assert len(receiver.arrivals) == 3

        clock.move_to(NOW + timedelta(seconds=61))  # one probe, which fails
        deliver()
        assert len(receiver.arrivals) == 4
        state = _state(app)
        assert state.paused_by == "breaker"
        assert state.consecutive_failures == 4
        assert state.next_probe_at == NOW + timedelta(seconds=121)

        receiver.answers[COURT] = 200
        clock.move_to(NOW + timedelta(seconds=122))  # the probe succeeds and closes it
        deliver()
    state = _state(app)
    assert not state.paused and state.paused_by is None
    assert state.consecutive_failures == 0
    assert state.last_delivered_at == NOW + timedelta(seconds=122)
    assert _status(app, report_ids) == ["DELIVERED"] * 5


def test_the_breaker_never_lifts_a_pause_by_staff(app, receiver, deliver):
    with app.app_context():
        build_source_state(db.session(), COURT, paused=True, paused_by="alice", next_probe_at=NOW)
    report_id = _reports(app)[0]
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        deliver()
    assert receiver.arrivals == []
    assert _report(app, report_id).status == "PENDING"


def test_a_hanging_source_does_not_delay_another(app, receiver, deliver):
    release = receiver.hold(COURT)
    hanging = _reports(app, 2, COURT)
    with app.app_context():
        dispatcher = jobs.dispatcher()
        for _tick in range(2):
            flowing = _reports(app, 1, ARBITRATION)
            dispatcher.run_once()  # one scheduler tick
            delivered = lambda ids=flowing: _status(app, ids) == ["DELIVERED"]  # noqa: E731
            assert wait_for(delivered, 10)
        assert receiver.ids(COURT) == dict.fromkeys(hanging, 1)  # still held open
        assert _status(app, hanging) == ["PENDING", "PENDING"]
        release.set()
        dispatcher.wait(10)
    assert _status(app, hanging) == ["DELIVERED", "DELIVERED"]


def test_sends_to_one_source_are_bounded_by_its_concurrency(app, receiver, deliver):
    _set_policy(app, concurrency=2)
    release = receiver.hold(COURT)
    report_ids = _reports(app, 5, COURT)
    with app.app_context():
        dispatcher = jobs.dispatcher()
        dispatcher.run_once()
        assert wait_for(lambda: len(receiver.arrivals) == 2)
        dispatcher.run_once()  # a tick while both slots are busy starts no third send
        assert not wait_for(lambda: len(receiver.arrivals) > 2, timeout=0.5)
        release.set()
        dispatcher.wait(10)
    assert receiver.ids() == dict.fromkeys(report_ids, 1)


def test_a_crashed_workers_lease_expires_and_the_report_is_sent_again(app, receiver, deliver):
    report_id = _reports(app)[0]
    with time_machine.travel(NOW, tick=False) as clock:
        with app.app_context():
            source = app.extensions["sources"].get(COURT)
            claimed = claim_next(db.session(), source, "crashed-host:1", lease_seconds=120)
        assert claimed.id == report_id  # ...and the worker dies before sending or recording
        clock.move_to(NOW + timedelta(seconds=119))
        deliver()
        assert receiver.arrivals == []
        clock.move_to(NOW + timedelta(seconds=121))
        deliver()
    assert list(receiver.ids()) == [report_id]
    report = _report(app, report_id)
    assert report.status == "DELIVERED"
    assert report.locked_by is None


def test_a_worker_whose_lease_ran_out_cannot_overwrite_the_new_holder(app):
    report_id = _reports(app)[0]
    with time_machine.travel(NOW, tick=False) as clock, app.app_context():
        session = db.session()
        source = app.extensions["sources"].get(COURT)
        slow = claim_next(session, source, "slow-host:1", lease_seconds=120)
        clock.move_to(NOW + timedelta(seconds=121))
        claim_next(session, source, "fresh-host:2", lease_seconds=120)  # now sending it
        late = SendResult(started_at=NOW, duration_ms=121_000, http_status=503, error="HTTP 503")
        record(session, source, slow, late, "slow-host:1")
    report = _report(app, report_id)
    assert (report.locked_by, report.attempt_count) == ("fresh-host:2", 0)


def test_requeue_needs_the_operator_role(app, receiver, deliver, auth):
    report_id = _reports(app)[0]
    receiver.answers[COURT] = 400
    deliver()
    client = app.test_client()
    url = f"/api/v1/reports/{report_id}/requeue"
    assert client.post(url).status_code == 401
    response = client.post(url, headers=auth("viewer"))
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert _report(app, report_id).status == "FAILED"

    response = client.post(url, headers=auth("operator"))
    assert response.status_code == 200
    assert response.json["status"] == "PENDING"
    assert response.json["attempt_count"] == 0
    assert response.json["last_error"] is None
    with app.app_context():
        event = db.session().scalar(select(CaseEvent).where(CaseEvent.kind == "report_requeued"))
    assert event.actor.startswith("operator")
    assert "HTTP 400" in event.data["last_error"]


def test_requeue_of_a_report_that_is_not_failed_is_409(app, receiver, deliver, auth):
    report_id = _reports(app)[0]
    client = app.test_client()
    response = client.post(f"/api/v1/reports/{report_id}/requeue", headers=auth("operator"))
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert response.json["report_status"] == "PENDING"
    deliver()
    response = client.post(f"/api/v1/reports/{report_id}/requeue", headers=auth("operator"))
    assert response.status_code == 409
    missing = client.post("/api/v1/reports/NOPE/requeue", headers=auth("operator"))
    assert missing.status_code == 404


def test_pause_and_resume_a_source_by_hand(app, receiver, deliver, auth):
    client = app.test_client()
    url = f"/api/v1/sources/{COURT}"
    body = {"reason": "court system maintenance"}
    assert client.post(f"{url}/pause", json=body, headers=auth("viewer")).status_code == 403
    response = client.post(f"{url}/pause", json=body, headers=auth("operator"))
    assert response.status_code == 200
    assert response.json["paused"] is True
    assert response.json["paused_by"].startswith("operator")
    assert response.json["paused_reason"] == "court system maintenance"

    court, arbitration = _reports(app, 1, COURT), _reports(app, 1, ARBITRATION)
    deliver()
    assert list(receiver.ids()) == arbitration  # the other source is not affected

    assert client.post(f"{url}/resume", headers=auth("viewer")).status_code == 403
    response = client.post(f"{url}/resume", headers=auth("operator"))
    assert response.status_code == 200
    assert response.json["paused"] is False
    deliver()
    assert _status(app, court) == ["DELIVERED"]


def test_pause_needs_a_reason_and_a_known_source(app, auth):
    client = app.test_client()
    headers = auth("operator")
    response = client.post(f"/api/v1/sources/{COURT}/pause", json={}, headers=headers)
    assert response.status_code == 422
    assert response.json["errors"][0]["path"] == "/reason"
    response = client.post("/api/v1/sources/nope/pause", json={"reason": "x"}, headers=headers)
    assert response.status_code == 404
    assert client.post("/api/v1/sources/nope/resume", headers=headers).status_code == 404


def test_a_source_paused_by_410_resumes_by_hand(app, receiver, deliver, auth):
    receiver.answers[COURT] = 410
    first = _reports(app)[0]
    deliver()
    assert _state(app).paused_by == "gone"
    receiver.answers[COURT] = 200
    second = _reports(app)[0]
    deliver()
    assert list(receiver.ids()) == [first]
    client = app.test_client()
    assert (
        client.post(f"/api/v1/sources/{COURT}/resume", headers=auth("operator")).status_code == 200
    )
    deliver()
    assert _status(app, [first, second]) == ["FAILED", "DELIVERED"]
