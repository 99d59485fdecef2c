"""Moving cases through the API: every final state, its data rules, its one stored report."""

import pytest
from sqlalchemy import func, select

from referral_service import db
from referral_service.cases.lifecycle import transition
from referral_service.delivery.render import BUILT_IN_FORMATS, schema_errors
from referral_service.models import Case, CaseEvent, Report
from referral_service.sources.registry import load_source
from tests.builders import build_case
from tests.conftest import TEST_ENV

PROBLEM = "application/problem+json"

OUTCOMES = {
    "SETTLED": {
        "settlement_amount": "52000.00",
        "agreement_number": "ZH-XY-2026-000088",
        "judicial_confirmation_requested": True,
        "note": "双方达成分期还款协议。",
    },
    "NOT_SETTLED": {"reason_code": "NO_AGREEMENT", "reason": "双方分歧较大。"},
    "WITHDRAWN": {"reason_code": "APPLICANT_WITHDREW", "reason": "申请人撤回。"},
    "DECLINED": {"reason_code": "DUPLICATE", "reason": "重复委派。"},
}
PATHS = {
    "SETTLED": ["ACCEPTED", "IN_MEDIATION", "SETTLED"],
    "NOT_SETTLED": ["ACCEPTED", "IN_MEDIATION", "NOT_SETTLED"],
    "WITHDRAWN": ["ACCEPTED", "IN_MEDIATION", "WITHDRAWN"],
    "DECLINED": ["DECLINED"],
}


def new_case(app, **values) -> int:
    with app.app_context():
        return build_case(db.session(), **values).id


def move(client, headers, case_id, to, **data):
    return client.post(
        f"/api/v1/cases/{case_id}/transitions", json={"to": to, **data}, headers=headers
    )


def stored(app, case_id):
    """(case, reports, events) as committed."""
    with app.app_context():
        session = db.session()
        case = session.get(Case, case_id)
        reports = session.scalars(
            select(Report).where(Report.case_id == case_id).order_by(Report.sequence)
        ).all()
        events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)).all()
        return case, list(reports), list(events)


@pytest.mark.parametrize("final", sorted(OUTCOMES))
@pytest.mark.parametrize("source_id", ["gz-intermediate-court", "gz-arbitration"])
def test_received_to_each_final_state_stores_one_valid_report(app, client, auth, final, source_id):
    case_id = new_case(app, source_id=source_id)
    headers = auth("operator")
    for to in PATHS[final]:
        response = move(client, headers, case_id, to, **(OUTCOMES[final] if to == final else {}))
        assert response.status_code == 200, response.json
        assert response.json["status"] == to
    assert response.json["allowed_transitions"] == []

    case, reports, _events = stored(app, case_id)
    assert case.status == final and case.concluded_at is not None
    outcome_reports = [r for r in reports if r.case_status == final]
    assert len(outcome_reports) == 1
    report = outcome_reports[0]
    source = app.extensions["sources"].get(source_id)
    assert schema_errors(report.body, BUILT_IN_FORMATS[source.report_format].schema) == []
    assert report.status == "PENDING" and report.sequence == len(reports)
    assert response.json["reports"][-1]["id"] == report.id


def test_outcome_data_is_stored_on_the_case(app, client, auth):
    case_id = new_case(app, status="IN_MEDIATION")
    response = move(client, auth("operator"), case_id, "SETTLED", **OUTCOMES["SETTLED"])
    assert response.status_code == 200
    body = response.json
    assert body["settlement_amount"] == "52000.00"
    assert body["agreement_number"] == "ZH-XY-2026-000088"
    assert body["judicial_confirmation_requested"] is True
    assert body["note"] == "双方达成分期还款协议。"
    event = body["events"][-1]
    assert (event["kind"], event["from_status"], event["to_status"]) == (
        "transition",
        "IN_MEDIATION",
        "SETTLED",
    )
    assert event["data"]["settlement_amount"] == "52000.00"
    case, _reports, _events = stored(app, case_id)
    assert str(case.settlement_amount) == "52000.00"


def test_interim_reports_only_where_the_source_asks(app, client, auth):
    headers = auth("operator")
    court = new_case(app)  # gz-intermediate-court: interim_statuses = ["ACCEPTED"]
    arbitration = new_case(app, source_id="gz-arbitration")  # no interim reports
    for case_id in (court, arbitration):
        assert move(client, headers, case_id, "ACCEPTED").status_code == 200
        assert move(client, headers, case_id, "IN_MEDIATION").status_code == 200
    assert [r.case_status for r in stored(app, court)[1]] == ["ACCEPTED"]
    assert stored(app, arbitration)[1] == []
    move(client, headers, court, "SETTLED", **OUTCOMES["SETTLED"])
    reports = stored(app, court)[1]
    assert [(r.sequence, r.case_status) for r in reports] == [(1, "ACCEPTED"), (2, "SETTLED")]


def test_recall_creates_no_report(app):
    case_id = new_case(app, status="IN_MEDIATION")
    with app.app_context():
        session = db.session()
        case = session.get(Case, case_id)
        transition(session, case, "RECALLED", actor="source", data={"reason": "原告撤回起诉"})
        session.commit()
    case, reports, _events = stored(app, case_id)
    assert case.status == "RECALLED" and case.reason == "原告撤回起诉"
    assert reports == []


@pytest.mark.parametrize(
    ("start", "to"),
    [
        ("RECEIVED", "SETTLED"),
        ("RECEIVED", "IN_MEDIATION"),
        ("ACCEPTED", "DECLINED"),
        ("SETTLED", "NOT_SETTLED"),
        ("DECLINED", "ACCEPTED"),
        ("IN_MEDIATION", "RECALLED"),  # only the source recalls
    ],
)
def test_forbidden_transitions_are_409_problems(app, client, auth, start, to):
    case_id = new_case(app, status=start)
    response = move(client, auth("operator"), case_id, to, **OUTCOMES.get(to, {}))
    assert response.status_code == 409
    assert response.mimetype == PROBLEM
    assert response.json["current_status"] == start
    case, reports, events = stored(app, case_id)
    assert (case.status, reports, events) == (start, [], [])


@pytest.mark.parametrize(
    ("to", "data", "paths"),
    [
        (
            "SETTLED",
            {},
            ["/agreement_number", "/judicial_confirmation_requested", "/settlement_amount"],
        ),
        ("SETTLED", {**OUTCOMES["SETTLED"], "settlement_amount": "-1.00"}, ["/settlement_amount"]),
        ("SETTLED", {**OUTCOMES["SETTLED"], "settlement_amount": "1.005"}, ["/settlement_amount"]),
        ("SETTLED", {**OUTCOMES["SETTLED"], "settlement_amount": "abc"}, ["/settlement_amount"]),
        ("SETTLED", {**OUTCOMES["SETTLED"], "settlement_amount": 52000}, ["/settlement_amount"]),
        (
            "SETTLED",
            {**OUTCOMES["SETTLED"], "judicial_confirmation_requested": "yes"},
            ["/judicial_confirmation_requested"],
        ),
        ("NOT_SETTLED", {"reason": "x"}, ["/reason_code"]),
        ("NOT_SETTLED", {"reason_code": "DUPLICATE", "reason": "x"}, ["/reason_code"]),
        ("NOT_SETTLED", {"reason_code": "OTHER", "reason": ""}, ["/reason"]),
        (
            "NOT_SETTLED",
            {"reason_code": "OTHER", "reason": "x", "settlement_amount": "1.00"},
            ["/settlement_amount"],
        ),
        ("WITHDRAWN", {"reason_code": "NO_AGREEMENT", "reason": "x"}, ["/reason_code"]),
        ("NO_SUCH_STATE", {}, ["/to"]),
        ("WITHDRAWN", {"reason_code": "OTHER", "reason": "x", "extra": 1}, ["/extra"]),
    ],
)
def test_missing_or_invalid_data_is_422_with_paths(app, client, auth, to, data, paths):
    case_id = new_case(app, status="IN_MEDIATION")
    response = move(client, auth("operator"), case_id, to, **data)
    assert response.status_code == 422, response.json
    assert response.mimetype == PROBLEM
    assert sorted({error["path"] for error in response.json["errors"]}) == paths
    case, reports, events = stored(app, case_id)
    assert (case.status, reports, events) == ("IN_MEDIATION", [], [])


def test_declined_reason_codes(app, client, auth):
    case_id = new_case(app)
    bad = move(
        client, auth("operator"), case_id, "DECLINED", reason_code="NO_AGREEMENT", reason="x"
    )
    assert bad.status_code == 422
    good = move(
        client, auth("operator"), case_id, "DECLINED", reason_code="OUT_OF_SCOPE", reason="x"
    )
    assert good.status_code == 200
    assert good.json["reason_code"] == "OUT_OF_SCOPE"


def _custom_source(app, tmp_path, template: str, schema: str | None = None):
    (tmp_path / "t.xml.j2").write_text(template, encoding="utf-8")
    report = '[report]\ntemplate = "t.xml.j2"\n'
    if schema:
        (tmp_path / "s.xsd").write_text(schema, encoding="utf-8")
        report += 'schema = "s.xsd"\n'
    (tmp_path / "gz-test-court.toml").write_text(
        'id = "gz-test-court"\nname = "测试法院"\nkind = "court"\nformat = "court-referral/1"\n'
        f'mapping = "court-referral-1"\nreport_format = "test-outcome/1"\n{report}',
        encoding="utf-8",
    )
    env = {**TEST_ENV, "REFERRAL_SOURCE_GZ_TEST_COURT_SECRET": "whsec_dGVzdA=="}
    app.extensions["sources"].add(load_source(tmp_path / "gz-test-court.toml", env))


def test_a_template_that_breaks_refuses_the_transition(app, client, auth, tmp_path):
    _custom_source(app, tmp_path, "<r>{{ status.no_such }}</r>")
    case_id = new_case(app, source_id="gz-test-court", status="IN_MEDIATION")
    response = move(client, auth("operator"), case_id, "SETTLED", **OUTCOMES["SETTLED"])
    assert response.status_code == 500
    assert response.mimetype == PROBLEM
    assert "report template of source gz-test-court" in response.json["detail"]
    case, reports, events = stored(app, case_id)
    assert (case.status, reports, events) == ("IN_MEDIATION", [], [])


def test_a_rendering_that_fails_its_schema_refuses_the_transition(app, client, auth, tmp_path):
    schema = (
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        '<xs:element name="r"><xs:simpleType><xs:restriction base="xs:string">'
        '<xs:maxLength value="3"/></xs:restriction></xs:simpleType></xs:element></xs:schema>'
    )
    _custom_source(app, tmp_path, "<r>{{ reason }}</r>", schema)
    case_id = new_case(app, source_id="gz-test-court", status="IN_MEDIATION")
    response = move(
        client, auth("operator"), case_id, "NOT_SETTLED", reason_code="OTHER", reason="太长的原因"
    )
    assert response.status_code == 422
    assert response.json["type"].endswith("report-invalid")
    assert response.json["errors"]
    case, reports, events = stored(app, case_id)
    assert (case.status, reports, events) == ("IN_MEDIATION", [], [])


def test_one_report_per_final_state_in_the_database(app, client, auth):
    headers = auth("operator")
    ids = [new_case(app, status="IN_MEDIATION") for _ in range(3)]
    for case_id in ids:
        move(client, headers, case_id, "NOT_SETTLED", **OUTCOMES["NOT_SETTLED"])
        move(client, headers, case_id, "SETTLED", **OUTCOMES["SETTLED"])  # 409, no second report
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Report)) == 3
