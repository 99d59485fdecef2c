"""End to end: a contract example pushed through intake, concluded by staff, its report stored."""

import pytest
from lxml import etree
from sqlalchemy import select

from referral_service import create_app, db
from referral_service.config import PROJECT_ROOT
from referral_service.delivery.render import BUILT_IN_FORMATS, schema_errors
from referral_service.models import Report
from referral_service.sources.registry import load_source
from tests.builders import build_user
from tests.conftest import TEST_ENV, make_settings
from tests.integration.test_cases_lifecycle import OUTCOMES
from tests.signing import ARBITRATION, COURT, example, push

SOURCE_EXAMPLES = PROJECT_ROOT / "config" / "sources" / "examples"


def conclude(client, headers, case_id, final):
    for to in ["ACCEPTED", "IN_MEDIATION", final]:
        data = OUTCOMES[final] if to == final else {}
        response = client.post(
            f"/api/v1/cases/{case_id}/transitions", json={"to": to, **data}, headers=headers
        )
        assert response.status_code == 200, response.json
    return response.json


def final_report(app, case_id, final) -> Report:
    with app.app_context():
        query = select(Report).where(Report.case_id == case_id, Report.case_status == final)
        return db.session().scalars(query).one()


@pytest.mark.parametrize(
    ("source_id", "body", "final"),
    [
        (COURT, "court-referral.xml", "SETTLED"),
        (ARBITRATION, "arbitration-referral.json", "NOT_SETTLED"),
    ],
)
def test_contract_example_through_intake_to_a_valid_outcome_report(
    app, client, auth, source_id, body, final
):
    pushed = push(client, source_id, example(body))
    assert pushed.status_code == 201, pushed.json
    case = conclude(client, auth("operator"), pushed.json["case_id"], final)
    assert case["status"] == final
    report = final_report(app, case["id"], final)
    source = app.extensions["sources"].get(source_id)
    assert schema_errors(report.body, BUILT_IN_FORMATS[source.report_format].schema) == []
    assert pushed.json["referral_id"] in report.body
    assert case["case_number"] in report.body


def test_recalled_referral_reports_nothing(app, client, auth):
    pushed = push(client, COURT, example("court-referral.xml"))
    assert push(client, COURT, example("court-recall.xml")).status_code == 200
    case = client.get(f"/api/v1/cases/{pushed.json['case_id']}", headers=auth("viewer")).json
    assert case["status"] == "RECALLED"
    assert case["reports"] == []
    assert case["allowed_transitions"] == []


def test_tianhe_batch_to_its_own_outcome_xml(database_url):
    app = create_app(make_settings(database_url))
    app.extensions["sources"].add(load_source(SOURCE_EXAMPLES / "gz-tianhe-court.toml", TEST_ENV))
    client = app.test_client()
    with app.app_context():
        _user, token = build_user(db.session(), "operator")
    batch = (SOURCE_EXAMPLES / "gz-tianhe-court-referrals.xml").read_bytes()
    pushed = push(client, "gz-tianhe-court", batch, content_type="application/xml")
    assert pushed.status_code == 200, pushed.json
    case_id = pushed.json["results"][0]["case_id"]
    conclude(client, {"Authorization": f"Bearer {token}"}, case_id, "WITHDRAWN")
    report = final_report(app, case_id, "WITHDRAWN")
    root = etree.fromstring(report.body.encode())
    assert root.tag == "{urn:tianhe-court:outcome:1}调解结果报告"
    assert root.findtext("{*}原因代码") == "APPLICANT_WITHDREW"
    assert report.content_type == "application/xml"
    app.extensions["db"].engine.dispose()
