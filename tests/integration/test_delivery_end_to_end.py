"""End to end: a case concluded through the staff API is reported back to its source,
signed and valid against the published schema, by the next scheduler tick."""

import json

import jsonschema
import pytest
from lxml import etree

from referral_service import create_app, db, scheduler
from referral_service.config import PROJECT_ROOT
from tests.builders import build_case, build_user
from tests.conftest import make_settings
from tests.delivery_support import Receiver, point_sources, wait_for

INTERVAL = 2.0  # seconds between deliver_reports runs
SEND_GRACE = 1.0  # one local POST and its recording

SETTLED = {
    "settlement_amount": "52000.00",
    "agreement_number": "ZH-XY-2026-000088",
    "judicial_confirmation_requested": True,
    "note": "双方达成分期还款协议。",
}
NOT_SETTLED = {"reason_code": "NO_AGREEMENT", "reason": "双方分歧较大。"}


def _valid_xml(body: bytes, schema: str) -> bool:
    xsd = etree.XMLSchema(etree.parse(str(PROJECT_ROOT / "schemas" / schema)))
    return xsd.validate(etree.fromstring(body))


def _valid_json(body: bytes, schema: str) -> bool:
    with (PROJECT_ROOT / "schemas" / schema).open(encoding="utf-8") as fh:
        jsonschema.validate(json.loads(body), json.load(fh))
    return True


@pytest.fixture
def running(database_url):
    """An app whose scheduler runs in-process, with sources aimed at a real receiver."""
    settings = make_settings(database_url, delivery={"interval_seconds": INTERVAL})
    app = create_app(settings)
    with Receiver(settings) as receiver:
        point_sources(settings, receiver)
        jobs = scheduler.start_background(app)
        yield app, receiver
        scheduler.stop(app, jobs)
    app.extensions["db"].engine.dispose()


@pytest.mark.parametrize(
    ("source_id", "path", "outcome", "valid", "schema"),
    [
        (
            "gz-intermediate-court",
            ["ACCEPTED", "IN_MEDIATION", "SETTLED"],
            SETTLED,
            _valid_xml,
            "court-outcome-1.xsd",
        ),
        (
            "gz-arbitration",
            ["ACCEPTED", "IN_MEDIATION", "NOT_SETTLED"],
            NOT_SETTLED,
            _valid_json,
            "arbitration-outcome-1.json",
        ),
    ],
    ids=["court", "arbitration"],
)
def test_concluded_case_is_reported_within_one_interval(
    running, source_id, path, outcome, valid, schema
):
    app, receiver = running
    with app.app_context():
        session = db.session()
        case_id = build_case(session, source_id=source_id).id
        _user, token = build_user(session, "operator")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for to in path:
        data = outcome if to == path[-1] else {}
        response = client.post(
            f"/api/v1/cases/{case_id}/transitions", json={"to": to, **data}, headers=headers
        )
        assert response.status_code == 200, response.json
    report_ids = [report["id"] for report in response.json["reports"]]
    outcome_id = report_ids[-1]

    assert wait_for(lambda: outcome_id in receiver.ids(), timeout=INTERVAL + SEND_GRACE)
    arrivals = {a.webhook_id: a for a in receiver.arrivals}
    assert [a.webhook_id for a in receiver.arrivals] == report_ids  # in sequence order
    arrival = arrivals[outcome_id]
    assert arrival.verified
    assert arrival.source_id == source_id
    assert valid(arrival.body, schema)

    def delivered() -> bool:
        case = client.get(f"/api/v1/cases/{case_id}", headers=headers).json
        return case["reports"][-1]["status"] == "DELIVERED"

    assert wait_for(delivered, timeout=SEND_GRACE)
