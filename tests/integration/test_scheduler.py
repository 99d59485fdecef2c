"""The scheduler: job definitions, the in-process mode, `worker` and `serve` as processes."""

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from referral_service import create_app, db, scheduler
from referral_service.models import Report, WorkerHeartbeat
from tests.builders import build_case, build_report
from tests.conftest import TEST_ENV, make_settings
from tests.delivery_support import Receiver, point_sources, wait_for

BIN = Path(sys.executable).parent


def test_every_job_has_a_stable_id_and_safe_defaults(settings):
    built = scheduler.build_scheduler(create_app(settings))
    built.start(paused=True)  # job defaults apply once the scheduler starts
    jobs = {job.id: job for job in built.get_jobs()}
    built.shutdown()
    assert set(jobs) == {job.id for job in scheduler.JOBS}
    assert {"deliver_reports", "check_deadlines", "heartbeat", "prune"} <= set(jobs)
    expected = {
        "deliver_reports": settings.delivery["interval_seconds"],
        "check_deadlines": settings.deadlines["check_interval_seconds"],
        "heartbeat": scheduler.HEARTBEAT_SECONDS,
        "prune": 86400,
    }
    for job_id, seconds in expected.items():
        job = jobs[job_id]
        assert job.trigger.interval.total_seconds() == seconds
        assert job.coalesce is True
        assert job.max_instances == 1
        assert 1 <= job.misfire_grace_time <= max(1, seconds)


def test_creating_the_app_starts_no_scheduler(settings):
    create_app(settings)  # what `referral_service.wsgi` does in each web worker
    assert not [t for t in threading.enumerate() if t.name.startswith("APScheduler")]


def test_in_process_scheduler_delivers_within_one_interval(database_url):
    settings = make_settings(database_url, delivery={"interval_seconds": 0.2})
    app = create_app(settings)
    with Receiver(settings) as receiver:
        point_sources(settings, receiver)
        running = scheduler.start_background(app)
        try:
            with app.app_context():
                session = db.session()
                report_id = build_report(session, build_case(session)).id
            assert wait_for(lambda: report_id in receiver.ids(), timeout=5)
        finally:
            scheduler.stop(app, running)
    with app.app_context():
        assert db.session().get(Report, report_id).status == "DELIVERED"
        assert db.session().scalar(select(WorkerHeartbeat.worker_id)) is not None
    app.extensions["db"].engine.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(database_url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, **TEST_ENV, "DATABASE_URL": database_url, **extra}


def _stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=30)


@pytest.mark.slow
def test_worker_command_delivers_beats_and_stops_on_sigterm(app, database_url):
    settings = app.extensions["settings"]
    with Receiver(settings) as receiver:
        env = _env(
            database_url,
            REFERRAL_DELIVERY_INTERVAL_SECONDS="0.2",
            REFERRAL_SOURCE_GZ_INTERMEDIATE_COURT_CALLBACK_URL=receiver.url(
                "gz-intermediate-court"
            ),
        )
        with app.app_context():
            session = db.session()
            report_id = build_report(session, build_case(session)).id
        worker = subprocess.Popen(
            [BIN / "referral-service", "worker"], env=env, stderr=subprocess.PIPE, text=True
        )
        try:
            assert wait_for(lambda: report_id in receiver.ids(), timeout=20)
        finally:
            code = _stop(worker)
        log = worker.stderr.read()
    assert code == 0, log
    assert "stopped" in log
    assert all(arrival.verified for arrival in receiver.arrivals)
    with app.app_context():
        session = db.session()
        beat = session.scalar(select(WorkerHeartbeat))
        assert beat.pid == worker.pid
        assert session.get(Report, report_id).status == "DELIVERED"


@pytest.mark.slow
def test_serve_embeds_the_scheduler_in_its_gunicorn_worker(app, database_url):
    port = _free_port()
    server = subprocess.Popen(
        [BIN / "referral-service", "serve", "--port", str(port)],
        env=_env(database_url),
        stderr=subprocess.DEVNULL,
    )
    try:
        ready = _poll_ready(f"http://127.0.0.1:{port}/readyz")
    finally:
        _stop(server)
    assert ready, "serve never became ready (no heartbeat from its embedded scheduler)"
    with app.app_context():
        beats = db.session().scalars(select(WorkerHeartbeat)).all()
    assert len(beats) == 1
    assert beats[0].pid != server.pid  # the gunicorn worker, not the master


def _poll_ready(url: str, timeout: float = 30) -> bool:
    def ready() -> bool:
        try:
            return requests.get(url, timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    return wait_for(ready, timeout)
