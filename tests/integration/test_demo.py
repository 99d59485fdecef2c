"""`referral-service demo` against a live server: referrals in, refusals, outcomes queued."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from referral_service import create_app, db
from referral_service.config import load_settings
from referral_service.demo import COURT, CallbackReceiver, run_demo
from referral_service.models import Case, InboundMessage, Report
from tests.conftest import TEST_ENV
from tests.signing import CONTRACT_EXAMPLES, EXAMPLES


@pytest.fixture
def demo_settings(database_url):
    settings = load_settings(
        env={**TEST_ENV, "REFERRAL_DEMO": "1"}, overrides={"database": {"url": database_url}}
    )
    for source in settings.sources.all():
        settings.sources.add(replace(source, callback_url="http://127.0.0.1:9/unused"))
    return settings


@pytest.fixture
def live_url(demo_settings):
    app = create_app(demo_settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    app.extensions["db"].engine.dispose()


def test_the_demo_fills_every_part_of_the_dashboard(demo_settings, live_url):
    run_demo(demo_settings, live_url, receiver_port=0, duration=0)

    app = create_app(demo_settings)
    with app.app_context():
        s = db.session()
        outcomes = dict(
            s.execute(
                select(InboundMessage.outcome, func.count()).group_by(InboundMessage.outcome)
            ).all()
        )
        statuses = set(s.scalars(select(Case.status)))
        queued = s.scalar(select(func.count()).select_from(Report))
    app.extensions["db"].engine.dispose()
    assert outcomes["created"] == 12
    assert outcomes["recalled"] == 1
    assert outcomes["invalid"] == 1 and outcomes["malformed"] == 1
    assert {"RECALLED", "SETTLED", "NOT_SETTLED", "DECLINED", "WITHDRAWN", "ACCEPTED"} <= statuses
    assert queued >= 6


def test_the_court_endpoint_refuses_its_first_two_calls(settings):
    receiver = CallbackReceiver(settings, 0)
    try:
        assert [receiver.answer(COURT) for _ in range(3)] == [503, 503, 200]
    finally:
        receiver.stop()


def test_the_demo_refuses_to_run_without_demo_secrets(settings):
    import click

    with pytest.raises(click.ClickException, match="REFERRAL_DEMO=1"):
        run_demo(settings, "http://127.0.0.1:9", 0, 0)


def test_the_copies_of_the_contract_examples_are_unchanged():
    if not CONTRACT_EXAMPLES.is_dir():
        pytest.skip("the contract's examples are not beside this checkout")
    for example in CONTRACT_EXAMPLES.iterdir():
        copy = EXAMPLES / example.name
        assert copy.read_bytes() == example.read_bytes(), example.name
