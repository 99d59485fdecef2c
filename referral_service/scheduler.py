"""The scheduler: every periodic job of the service, defined here in code.

`referral-service worker` runs them in a BlockingScheduler (the production worker);
`referral-service serve` embeds a BackgroundScheduler in its single gunicorn worker.
Web workers of a production gunicorn (`referral_service.wsgi:app`) never run it.

Adding a job is one line in `JOBS`: a stable id, a function (run inside an app context)
and its interval in seconds, read from the settings. Runs of one job never overlap
(`max_instances=1`), missed runs collapse into one (`coalesce=True`), and a run that
is late by more than its own interval is skipped.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from referral_service import alerts
from referral_service.config import Settings
from referral_service.delivery import jobs

log = logging.getLogger(__name__)
# APScheduler logs every run at INFO ("Running job ..."): noise every few seconds.
# Failures are still logged, at ERROR, with their traceback.
logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)

HEARTBEAT_SECONDS = 10
DAY = 86400


@dataclass(frozen=True)
class Job:
    """One periodic job: stable id, function, interval in seconds from the settings."""

    id: str
    func: Callable[[], Any]
    interval: Callable[[Settings], float]


JOBS: list[Job] = [
    Job("heartbeat", jobs.heartbeat, lambda s: HEARTBEAT_SECONDS),
    Job("deliver_reports", jobs.deliver_reports, lambda s: s.delivery["interval_seconds"]),
    Job("check_deadlines", jobs.check_deadlines, lambda s: s.deadlines["check_interval_seconds"]),
    Job("prune", jobs.prune, lambda s: DAY),
    Job("evaluate_alerts", alerts.run, lambda s: s.alerts["interval_seconds"]),
]

S = TypeVar("S", bound=BaseScheduler)


def _in_app_context(app: Flask, func: Callable[[], Any]) -> None:
    with app.app_context():
        func()


def build_scheduler(app: Flask, scheduler_class: type[S] = BackgroundScheduler) -> S:
    """A scheduler (not started) with every job of `JOBS`, each first run due now."""
    settings: Settings = app.extensions["settings"]
    scheduler = scheduler_class(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1})
    now = datetime.now(UTC)
    for job in JOBS:
        seconds = job.interval(settings)
        scheduler.add_job(
            _in_app_context,
            "interval",
            args=[app, job.func],
            id=job.id,
            name=job.id,
            seconds=seconds,
            misfire_grace_time=max(1, round(seconds)),
            next_run_time=now,
        )
    return scheduler


def stop(app: Flask, scheduler: BaseScheduler) -> None:
    """Stop scheduling, then let in-flight deliveries finish and be recorded."""
    if scheduler.running:
        scheduler.shutdown(wait=True)
    dispatcher = app.extensions.get("delivery")
    if dispatcher is not None:
        dispatcher.shutdown()


def start_background(app: Flask) -> BackgroundScheduler:
    """Start the scheduler in threads of this process (the embedded `serve` mode)."""
    scheduler = build_scheduler(app, BackgroundScheduler)
    scheduler.start()
    log.info("scheduler started in-process (worker %s)", jobs.worker_id())
    return scheduler


def run_worker(app: Flask) -> None:
    """Run the jobs in the foreground until SIGTERM or SIGINT, then stop cleanly."""
    scheduler = build_scheduler(app, BlockingScheduler)

    def _stop(signum: int, _frame: Any) -> None:
        log.info("signal %s: stopping the worker", signal.Signals(signum).name)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("worker %s started", jobs.worker_id())
    scheduler.start()
    stop(app, scheduler)
    log.info("worker %s stopped", jobs.worker_id())
