"""Prometheus metrics at `/metrics`.

Figures kept in the database (inbound by outcome, reports by status, attempts by result,
the oldest undelivered report, the worker heartbeat) are read at scrape time by a
collector, so every process answers the same numbers however many there are. Only the
intake latency histogram is per process, observed around each push.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from referral_service import db
from referral_service.config import Settings
from referral_service.dashboard.status import (
    attempts_by_result,
    inbound_by_outcome,
    sync_status,
)

log = logging.getLogger(__name__)

INTAKE_RULE = "/api/v1/sources/<source_id>/referrals"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class DatabaseCollector:
    """Reads the sync status at each scrape."""

    def __init__(self, app: Flask):
        self.app = app

    def describe(self) -> list[Metric]:
        return []  # names vary with the sources; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("referral_database_up", "1 when the database answered the scrape")
        try:
            with self.app.app_context():
                families = list(self._families())
        except SQLAlchemyError as exc:
            log.warning("metrics: database unavailable: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self) -> Iterator[Metric]:
        settings = self.app.extensions["settings"]
        session = db.session()
        status = sync_status(
            session, settings.sources, due_soon_days=settings.deadlines["due_soon_days"]
        )
        inbound = CounterMetricFamily(
            "referral_inbound_messages",
            "Pushes kept, by source and outcome",
            labels=["source", "outcome"],
        )
        for (source, outcome), count in sorted(_inbound_counts(session, settings).items()):
            inbound.add_metric([source, outcome], count)
        yield inbound
        attempts = CounterMetricFamily(
            "referral_delivery_attempts",
            "Delivery attempts on record (within retention), by source and result",
            labels=["source", "result"],
        )
        for (source, result), count in sorted(attempts_by_result(session).items()):
            attempts.add_metric([source, result], count)
        yield attempts
        reports = GaugeMetricFamily(
            "referral_reports", "Reports by source and status", labels=["source", "status"]
        )
        oldest = GaugeMetricFamily(
            "referral_oldest_undelivered_seconds",
            "Age of the oldest PENDING or FAILED report (0 when none)",
            labels=["source"],
        )
        paused = GaugeMetricFamily(
            "referral_source_paused", "1 when delivery to the source is paused", labels=["source"]
        )
        for row in status.sources:
            for report_status, count in row.reports.items():
                reports.add_metric([row.id, report_status], count)
            oldest.add_metric([row.id], row.oldest_pending_seconds or 0)
            paused.add_metric([row.id], int(row.paused))
        yield from (reports, oldest, paused)
        if status.heartbeat_age_seconds is not None:
            yield GaugeMetricFamily(
                "referral_worker_heartbeat_age_seconds",
                "Seconds since the last worker heartbeat",
                value=status.heartbeat_age_seconds,
            )
        cases = GaugeMetricFamily(
            "referral_open_cases_by_deadline", "Open cases overdue or due soon", labels=["state"]
        )
        cases.add_metric(["overdue"], status.cases_overdue)
        cases.add_metric(["due_soon"], status.cases_due_soon)
        yield cases


def _inbound_counts(session: Session, settings: Settings) -> dict[tuple[str, str], int]:
    """Inbound counts by source and outcome; ids of no configured source (anyone may push
    to any URL) share the label "unknown", so the series stay few."""
    known = {source.id for source in settings.sources.all()}
    counts: dict[tuple[str, str], int] = {}
    for (source, outcome), count in inbound_by_outcome(session).items():
        key = (source if source in known else "unknown", outcome)
        counts[key] = counts.get(key, 0) + count
    return counts


def init_app(app: Flask) -> None:
    """Serve `/metrics` and time every intake push."""
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(app))
    latency = Histogram(
        "referral_intake_duration_seconds",
        "Time to answer a push, by source",
        ["source"],
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    known = {source.id for source in app.extensions["sources"].all()}
    app.extensions["metrics"] = registry

    @app.before_request
    def _start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe_intake(response: Response) -> Response:
        rule = request.url_rule
        if rule is not None and rule.rule == INTAKE_RULE and "metrics_started" in g:
            source = (request.view_args or {}).get("source_id")
            label = source if source in known else "unknown"
            latency.labels(label).observe(time.perf_counter() - g.metrics_started)
        return response

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
