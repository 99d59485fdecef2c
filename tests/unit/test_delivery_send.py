"""Every status-code rule of delivery, with `responses` standing in for the receiver.

In the style of GOV.UK Notify's callback tests: one parametrised case per answer, each
checking what happens to the report, its attempt record and the source's state.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import requests
import responses
import time_machine
from standardwebhooks import Webhook

from referral_service import db
from referral_service.delivery import jobs
from referral_service.models import DeliveryAttempt, Report, SourceState
from referral_service.sources.registry import DEFAULT_BACKOFF
from tests.builders import build_case, build_report
from tests.delivery_support import deliver_until_idle, stop_delivery

COURT = "gz-intermediate-court"
URL = "http://127.0.0.1:8099/callbacks/gz-intermediate-court"
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def deliver(app):
    yield lambda: deliver_until_idle(app)
    stop_delivery(app)


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _new_report(app, **overrides) -> str:
    with app.app_context():
        session = db.session()
        return build_report(session, build_case(session), **overrides).id


def _load(app, report_id: str) -> tuple[Report, list[DeliveryAttempt], SourceState | None]:
    with app.app_context():
        session = db.session()
        report = session.get(Report, report_id)
        attempts = list(report.attempts)
        return report, attempts, session.get(SourceState, report.source_id)


@pytest.mark.parametrize("status", [200, 201, 204])
def test_2xx_is_delivered(app, mocked, deliver, status):
    mocked.post(URL, status=status)
    report_id = _new_report(app)
    deliver()
    report, attempts, state = _load(app, report_id)
    assert report.status == "DELIVERED"
    assert report.delivered_at is not None
    assert report.locked_by is None
    assert [(a.result, a.http_status) for a in attempts] == [("delivered", status)]
    assert attempts[0].worker == jobs.worker_id()
    assert state.last_delivered_at is not None
    assert state.consecutive_failures == 0


RETRIED = [
    pytest.param({"status": 408}, "HTTP 408", id="408"),
    pytest.param({"status": 429}, "HTTP 429", id="429"),
    pytest.param({"status": 500}, "HTTP 500", id="500"),
    pytest.param({"status": 502}, "HTTP 502", id="502"),
    pytest.param({"status": 503}, "HTTP 503", id="503"),
    pytest.param({"status": 504}, "HTTP 504", id="504"),
    pytest.param({"body": requests.ReadTimeout("read timed out")}, "ReadTimeout", id="timeout"),
    pytest.param(
        {"body": requests.ConnectionError("connection refused")},
        "ConnectionError",
        id="connection-error",
    ),
]


@pytest.mark.parametrize(("answer", "error"), RETRIED)
def test_transient_failures_are_retried_after_the_first_backoff_step(
    app, mocked, deliver, answer, error
):
    mocked.post(URL, **answer)
    report_id = _new_report(app)
    with time_machine.travel(NOW, tick=False):
        deliver()
    report, attempts, state = _load(app, report_id)
    assert report.status == "PENDING"
    assert report.attempt_count == 1
    assert error in report.last_error
    wait = (report.next_attempt_at - NOW).total_seconds()
    assert DEFAULT_BACKOFF[0] * 0.9 <= wait <= DEFAULT_BACKOFF[0] * 1.1
    assert report.locked_until is None
    assert [a.result for a in attempts] == ["retry"]
    assert error in attempts[0].error
    assert state.consecutive_failures == 1
    assert error in state.last_error
    assert not state.paused


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_other_4xx_fail_the_report_without_retry(app, mocked, deliver, status):
    mocked.post(URL, status=status, body='{"error": "bad"}')
    report_id = _new_report(app)
    deliver()
    report, attempts, state = _load(app, report_id)
    assert report.status == "FAILED"
    assert report.failed_at is not None
    assert f"HTTP {status}" in report.last_error
    assert [(a.result, a.http_status) for a in attempts] == [("failed", status)]
    assert attempts[0].response_excerpt == '{"error": "bad"}'
    assert len(mocked.calls) == 1
    assert state.consecutive_failures == 0  # the endpoint is up; it refused this report
    assert not state.paused


def _set_policy(app, **policy) -> None:
    registry = app.extensions["sources"]
    source = registry.get(COURT)
    registry.add(replace(source, delivery=replace(source.delivery, **policy)))


def test_410_gone_fails_the_report_and_pauses_the_source(app, mocked, deliver):
    _set_policy(app, concurrency=1)
    mocked.post(URL, status=410)
    first, second = _new_report(app), _new_report(app)
    deliver()
    report, attempts, state = _load(app, first)
    assert report.status == "FAILED"
    assert "gone" in report.last_error
    assert [a.result for a in attempts] == ["failed"]
    assert state.paused and state.paused_by == "gone"
    assert len(mocked.calls) == 1  # nothing more is sent to a gone endpoint
    assert _load(app, second)[0].attempt_count == 0


def test_a_redirect_is_not_followed_and_fails(app, mocked, deliver):
    mocked.post(URL, status=301, headers={"Location": "http://elsewhere.example/"})
    report_id = _new_report(app)
    deliver()
    report, _attempts, _state = _load(app, report_id)
    assert report.status == "FAILED"
    assert "elsewhere.example" in report.last_error


def test_request_is_signed_with_standard_webhooks_headers(app, mocked, deliver):
    mocked.post(URL, status=200)
    body = '<OutcomeReport xmlns="urn:mediation:court-outcome:1">调解成功</OutcomeReport>'
    report_id = _new_report(app, body=body, content_type="application/xml")
    deliver()
    request = mocked.calls[0].request
    assert request.headers["webhook-id"] == report_id
    assert request.headers["Content-Type"] == "application/xml"
    assert request.headers["User-Agent"].startswith("referral-service/")
    assert request.body == body.encode()
    secret = app.extensions["sources"].get(COURT).secret
    Webhook(secret).verify(request.body, dict(request.headers), json_parse=False)
    assert "Authorization" not in request.headers


def test_every_attempt_has_the_same_id_and_a_fresh_timestamp(app, mocked, deliver):
    mocked.post(URL, status=503)
    report_id = _new_report(app)
    with time_machine.travel(NOW, tick=False) as clock:
        deliver()
        clock.move_to(NOW + timedelta(seconds=10))
        deliver()
    first, second = (call.request.headers for call in mocked.calls)
    assert first["webhook-id"] == second["webhook-id"] == report_id
    assert int(second["webhook-timestamp"]) - int(first["webhook-timestamp"]) == 10


def test_bearer_source_gets_its_token_instead_of_a_signature(app, mocked, deliver):
    registry = app.extensions["sources"]
    registry.add(replace(registry.get(COURT), auth="bearer", secret="court-token-123"))
    mocked.post(URL, status=200)
    _new_report(app)
    deliver()
    headers = mocked.calls[0].request.headers
    assert headers["Authorization"] == "Bearer court-token-123"
    assert "webhook-signature" not in headers
    assert headers["webhook-id"]


def test_response_excerpt_is_cut_to_500_characters(app, mocked, deliver):
    mocked.post(URL, status=500, body="x" * 5000)
    report_id = _new_report(app)
    deliver()
    _report, attempts, _state = _load(app, report_id)
    assert attempts[0].response_excerpt == "x" * 500


@pytest.mark.parametrize(
    "retry_after",
    ["600", "Tue, 01 Dec 2026 08:10:00 GMT"],
    ids=["seconds", "http-date"],
)
def test_retry_after_is_honoured_when_later_than_the_backoff(app, mocked, deliver, retry_after):
    mocked.post(URL, status=429, headers={"Retry-After": retry_after})
    report_id = _new_report(app)
    with time_machine.travel(NOW, tick=False):
        deliver()
    report, _attempts, _state = _load(app, report_id)
    assert report.next_attempt_at == NOW + timedelta(seconds=600)


def test_a_report_is_not_sent_again_before_it_is_due(app, mocked, deliver):
    mocked.post(URL, status=503)
    _new_report(app)
    with time_machine.travel(NOW, tick=False) as clock:
        deliver()
        clock.move_to(NOW + timedelta(seconds=4))
        deliver()
        assert len(mocked.calls) == 1
        clock.move_to(NOW + timedelta(seconds=6))
        deliver()
    assert len(mocked.calls) == 2


def test_backoff_schedule_and_exhaustion_after_max_attempts(app, mocked, deliver):
    mocked.post(URL, status=503)
    report_id = _new_report(app)
    when = NOW
    with time_machine.travel(NOW, tick=False) as clock:
        for attempt, step in enumerate(DEFAULT_BACKOFF, start=1):
            deliver()
            report, _attempts, _state = _load(app, report_id)
            assert report.attempt_count == attempt
            wait = (report.next_attempt_at - when).total_seconds()
            assert step * 0.9 <= wait <= step * 1.1, (attempt, wait)
            when = report.next_attempt_at
            clock.move_to(when)
        deliver()  # the eighth attempt
    report, attempts, _state = _load(app, report_id)
    assert report.status == "FAILED"
    assert report.attempt_count == 8
    assert "gave up after 8 attempts" in report.last_error
    assert [a.result for a in attempts] == ["retry"] * 7 + ["failed"]
    assert len(mocked.calls) == 8
    total = (report.failed_at - NOW).total_seconds()
    assert 0.9 * sum(DEFAULT_BACKOFF) <= total <= 1.1 * sum(DEFAULT_BACKOFF)  # about a day


@responses.activate
def test_a_network_error_never_shows_the_callback_query_string():
    from referral_service.config import load_settings
    from referral_service.delivery.send import Outgoing, Sender
    from tests.conftest import TEST_ENV

    court = load_settings(env=TEST_ENV).sources.get("gz-intermediate-court")
    source = replace(court, callback_url=URL + "?access_token=s3cr3t")
    responses.post(
        source.callback_url,
        body=requests.ConnectionError(f"Max retries exceeded with url: {source.callback_url}"),
    )
    report = Outgoing(
        id="01TEST",
        source_id=source.id,
        content_type="application/xml",
        body="<OutcomeReport/>",
        attempt_count=0,
    )
    result = Sender(1, 1).send(source, report)
    assert "ConnectionError" in result.error
    assert "s3cr3t" not in result.error
