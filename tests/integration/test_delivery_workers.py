"""Several `referral-service worker` processes on one PostgreSQL database.

Real OS processes against a real receiver: they share the queue without ever sending a
report twice, and a worker killed between sending and recording loses nothing.
"""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from referral_service import db
from referral_service.models import DeliveryAttempt, Report
from tests.builders import build_case, build_report
from tests.conftest import TEST_ENV
from tests.delivery_support import Receiver, bulk_reports, wait_for

COURT = "gz-intermediate-court"
ARBITRATION = "gz-arbitration"
WORKER = [str(Path(sys.executable).parent / "referral-service"), "worker"]

# SQLite runs one worker, so these run on PostgreSQL alone.
pytestmark = [pytest.mark.postgresql_only, pytest.mark.slow]


@pytest.fixture
def receiver(settings):
    with Receiver(settings) as receiver:
        yield receiver


def _start_worker(database_url: str, receiver: Receiver, **settings: str) -> subprocess.Popen:
    env = {
        **os.environ,
        **TEST_ENV,
        "DATABASE_URL": database_url,
        "REFERRAL_DELIVERY_INTERVAL_SECONDS": "0.2",
        "REFERRAL_SOURCE_GZ_INTERMEDIATE_COURT_CALLBACK_URL": receiver.url(COURT),
        "REFERRAL_SOURCE_GZ_ARBITRATION_CALLBACK_URL": receiver.url(ARBITRATION),
        **settings,
    }
    return subprocess.Popen(WORKER, env=env, stderr=subprocess.DEVNULL)


def _worker_id(process: subprocess.Popen) -> str:
    return f"{socket.gethostname()}:{process.pid}"


def _count_delivered(app) -> int:
    with app.app_context():
        return db.session().scalar(
            select(func.count()).select_from(Report).where(Report.status == "DELIVERED")
        )


def test_three_workers_deliver_2000_reports_each_exactly_once(app, database_url, receiver):
    with app.app_context():
        report_ids = bulk_reports(db.session(), 2000, [COURT, ARBITRATION])
    workers = [
        _start_worker(
            database_url,
            receiver,
            REFERRAL_SOURCE_GZ_INTERMEDIATE_COURT_DELIVERY_CONCURRENCY="4",
            REFERRAL_SOURCE_GZ_ARBITRATION_DELIVERY_CONCURRENCY="4",
        )
        for _ in range(3)
    ]
    try:
        assert wait_for(lambda: _count_delivered(app) == 2000, timeout=180)
    finally:
        codes = [worker.send_signal(signal.SIGTERM) or worker.wait(30) for worker in workers]
    assert codes == [0, 0, 0]
    assert receiver.ids() == dict.fromkeys(report_ids, 1)  # no report sent twice
    assert all(arrival.verified for arrival in receiver.arrivals)
    with app.app_context():
        attempts = db.session().execute(select(DeliveryAttempt.report_id, DeliveryAttempt.worker))
        by_report = dict(attempts.all())
    assert len(by_report) == 2000
    assert set(by_report.values()) == {_worker_id(worker) for worker in workers}


def test_a_worker_killed_between_sending_and_recording_loses_nothing(app, database_url, receiver):
    with app.app_context():
        session = db.session()
        report_id = build_report(session, build_case(session)).id
    release = receiver.hold(COURT)  # the receiver keeps the request open...
    doomed = _start_worker(database_url, receiver, REFERRAL_DELIVERY_LEASE_SECONDS="3")
    try:
        assert wait_for(lambda: report_id in receiver.ids(), timeout=30)
        doomed.send_signal(signal.SIGKILL)  # ...while the worker waits for the answer
        doomed.wait(10)
    finally:
        release.set()
    with app.app_context():
        report = db.session().get(Report, report_id)
        assert report.status == "PENDING"
        assert report.locked_by == _worker_id(doomed)
        assert report.attempts == []  # the send was never recorded

    del receiver.gates[COURT]
    survivor = _start_worker(database_url, receiver, REFERRAL_DELIVERY_LEASE_SECONDS="3")
    try:
        assert wait_for(lambda: receiver.ids()[report_id] == 2, timeout=30)
        assert wait_for(lambda: _count_delivered(app) == 1, timeout=10)
    finally:
        survivor.send_signal(signal.SIGTERM)
        survivor.wait(30)
    first, second = (a for a in receiver.arrivals if a.webhook_id == report_id)
    assert first.verified and second.verified
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == report_id
    with app.app_context():
        attempts = db.session().get(Report, report_id).attempts
        assert [(a.result, a.worker) for a in attempts] == [("delivered", _worker_id(survivor))]
