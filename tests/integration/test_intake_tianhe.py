"""A third source onboarded by configuration alone: 天河区人民法院's batches through HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from referral_service import create_app, db
from referral_service.config import PROJECT_ROOT
from referral_service.models import Case, InboundMessage
from referral_service.sources.registry import load_source
from tests.conftest import TEST_ENV, make_settings
from tests.signing import push

EXAMPLES = PROJECT_ROOT / "config" / "sources" / "examples"
TIANHE = "gz-tianhe-court"
BATCH = (EXAMPLES / "gz-tianhe-court-referrals.xml").read_bytes()


@pytest.fixture
def tianhe_app(database_url):
    app = create_app(make_settings(database_url))
    app.extensions["sources"].add(load_source(EXAMPLES / f"{TIANHE}.toml", TEST_ENV))
    yield app
    app.extensions["db"].engine.dispose()


def cases(app) -> list[Case]:
    with app.app_context():
        return list(db.session().scalars(select(Case).order_by(Case.id)))


def test_example_batch_opens_one_case_per_record(tianhe_app):
    response = push(tianhe_app.test_client(), TIANHE, BATCH, content_type="application/xml")
    assert response.status_code == 200, response.json
    results = response.json["results"]
    assert [r["status"] for r in results] == ["created", "created"]
    assert [r["referral_id"] for r in results] == ["THFY-2026-0088", "THFY-2026-0089"]
    first, second = cases(tianhe_app)
    assert (first.category, first.referral_type, str(first.claim_amount)) == (
        "LOAN",
        "PRE_LITIGATION",
        "58210.35",
    )
    assert first.deadline.isoformat() == "2026-12-20"  # 2026年12月20日
    assert second.deadline.isoformat() == "2026-12-05"  # in-litigation default: 15 days
    assert second.referrer_name == "广州市天河区人民法院"
    with tianhe_app.app_context():
        message = db.session().scalars(select(InboundMessage)).one()
        assert (message.outcome, message.http_status) == ("multi", 200)


def test_one_bad_record_refuses_none_of_the_others(tianhe_app):
    client = tianhe_app.test_client()
    push(client, TIANHE, BATCH, content_type="application/xml")
    body = (
        BATCH.decode()
        .replace("THFY-2026-0089", "THFY-2026-0090")
        .replace("2026-11-20 14:40:00", "2026/11/20")
        .replace("58,210.35元", "60,000.00元")
    )
    response = push(client, TIANHE, body.encode(), content_type="application/xml")
    assert response.status_code == 200
    first, second = response.json["results"]
    assert first["status"] == "conflict"  # same revision, different amount
    assert second["status"] == "invalid"
    [error] = second["errors"]
    assert error["path"] == "/t:批量移送/t:案件[2]/t:移送时间"
    assert error["field"] == "/referred_at"
    again = push(client, TIANHE, BATCH, content_type="application/xml")
    assert [r["status"] for r in again.json["results"]] == ["duplicate", "duplicate"]
    assert len(cases(tianhe_app)) == 2
