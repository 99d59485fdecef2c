"""`/metrics`: figures read from the database at scrape time, and the intake latency."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from referral_service import create_app, db
from referral_service.models import utcnow
from tests.builders import build_attempt, build_case, build_heartbeat, build_inbound, build_report
from tests.conftest import make_settings
from tests.signing import example, push


def _scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _sample(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def test_database_figures(app, client):
    with app.app_context():
        s = db.session()
        build_inbound(s, outcome="created")
        build_inbound(s, outcome="invalid")
        build_inbound(s, outcome="invalid")
        report = build_report(s, build_case(s), created_at=utcnow() - timedelta(minutes=5))
        build_attempt(s, report, result="retry")
        build_heartbeat(s, last_seen=utcnow() - timedelta(seconds=30))

    samples = _scrape(client)

    court = "gz-intermediate-court"
    assert _sample(samples, "referral_database_up") == 1
    assert _sample(samples, "referral_inbound_messages_total", source=court, outcome="invalid") == 2
    assert _sample(samples, "referral_reports", source=court, status="PENDING") == 1
    assert _sample(samples, "referral_reports", source=court, status="FAILED") == 0
    assert _sample(samples, "referral_delivery_attempts_total", source=court, result="retry") == 1
    assert 300 <= _sample(samples, "referral_oldest_undelivered_seconds", source=court) < 360
    assert 30 <= _sample(samples, "referral_worker_heartbeat_age_seconds") < 90


def test_every_process_reports_the_same_database_figures(app, client, settings):
    with app.app_context():
        s = db.session()
        build_report(s, build_case(s), status="FAILED")
    other_process = create_app(make_settings(settings.database_url))

    first = _scrape(client)
    second = _scrape(other_process.test_client())
    other_process.extensions["db"].engine.dispose()

    key = ("referral_reports", (("source", "gz-intermediate-court"), ("status", "FAILED")))
    assert first[key] == second[key] == 1


def test_intake_latency_is_observed_per_source(app, client):
    push(client, "gz-intermediate-court", example("court-referral.xml"))
    client.post("/api/v1/sources/no-such-source/referrals", data=b"<x/>")

    samples = _scrape(client)

    count = "referral_intake_duration_seconds_count"
    assert _sample(samples, count, source="gz-intermediate-court") == 1
    assert _sample(samples, count, source="unknown") == 1
    assert (
        _sample(samples, "referral_intake_duration_seconds_sum", source="gz-intermediate-court") > 0
    )


def test_an_unreachable_database_is_a_figure_not_an_error():
    app = create_app(make_settings("postgresql+psycopg://postgres@127.0.0.1:1/nowhere"))

    samples = _scrape(app.test_client())

    assert _sample(samples, "referral_database_up") == 0
